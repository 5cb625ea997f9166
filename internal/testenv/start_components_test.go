package testenv

import (
	"slices"
	"testing"
)

func TestWithGODEBUGKeepsTheCallersSettings(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"A=1"}, []string{"A=1", "GODEBUG=http2server=0"}},
		{[]string{"GODEBUG=madvdontneed=1", "B=2"}, []string{"GODEBUG=madvdontneed=1,http2server=0", "B=2"}},
		{[]string{"GODEBUG="}, []string{"GODEBUG=http2server=0"}},
	} {
		if got := withGODEBUG(c.in, "http2server=0"); !slices.Equal(got, c.want) {
			t.Errorf("withGODEBUG(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
