package freeport

import (
	"net"
	"testing"
)

func TestAddrCanBeListenedOn(t *testing.T) {
	addr, err := Addr()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the returned %s: %v", addr, err)
	}
	l.Close()
	p, err := Get()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("Get = %d, %v", p, err)
	}
}
