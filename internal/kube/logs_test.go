package kube

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

// A busy pod's log over the byte budget keeps its newest lines (the crash at the end), never its first
// bytes, and says how many older lines were dropped.
func TestReadNewestKeepsTheNewestLines(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "line %05d ok\n", i)
	}
	b.WriteString("panic: runtime error: index out of range\n")
	total := strings.Count(b.String(), "\n")
	for _, budget := range []int64{100, 4096, 70000} {
		data, dropped, err := readNewest(iotest.HalfReader(strings.NewReader(b.String())), budget)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) > budget {
			t.Fatalf("budget %d: kept %d bytes", budget, len(data))
		}
		if !bytes.HasSuffix(data, []byte("panic: runtime error: index out of range\n")) {
			t.Fatalf("budget %d: newest line lost; kept ends with %q", budget, data[max(0, len(data)-60):])
		}
		if !bytes.HasPrefix(data, []byte("line ")) && !bytes.HasPrefix(data, []byte("panic")) {
			t.Fatalf("budget %d: kept data starts mid-line: %q", budget, data[:20])
		}
		if kept := bytes.Count(data, []byte{'\n'}); kept+dropped != total {
			t.Fatalf("budget %d: kept %d + dropped %d lines != %d", budget, kept, dropped, total)
		}
	}
	data, dropped, _ := readNewest(strings.NewReader("a\nb\n"), 1<<20)
	if string(data) != "a\nb\n" || dropped != 0 {
		t.Fatalf("small log changed: %q dropped %d", data, dropped)
	}
}

// One line longer than the budget keeps its tail and counts as dropped once.
func TestReadNewestOverlongLine(t *testing.T) {
	data, dropped, err := readNewest(strings.NewReader(strings.Repeat("x", 500)+"END"), 100)
	if err != nil || len(data) != 100 || !bytes.HasSuffix(data, []byte("END")) || dropped != 1 {
		t.Fatalf("got %d bytes, dropped %d, err %v", len(data), dropped, err)
	}
}
