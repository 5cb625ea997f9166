package main

import (
	"testing"

	"github.com/fixloop/fixloop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
