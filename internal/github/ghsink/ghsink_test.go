package ghsink

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatePersistsAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sink.json")
	s1, err := New(Options{StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s1)
	resp, err := http.Post(ts.URL+"/repos/o/r/issues", "application/json", strings.NewReader(`{"title":"t","body":"b","labels":["fixloop:fp-1"]}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", resp, err)
	}
	ts.Close()
	s2, err := New(Options{StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	is := s2.Issues("o/r")
	if len(is) != 1 || is[0].Labels[0].Name != "fixloop:fp-1" {
		t.Fatalf("after restart: %+v", is)
	}
	ts2 := httptest.NewServer(s2)
	defer ts2.Close()
	resp, _ = http.Post(ts2.URL+"/repos/o/r/issues", "application/json", strings.NewReader(`{"title":"t2"}`))
	if resp.StatusCode != 201 || len(s2.Issues("o/r")) != 2 || s2.Issues("o/r")[1].Number != 2 {
		t.Fatalf("numbering after restart: %+v", s2.Issues("o/r"))
	}
	resp, _ = http.Post(ts2.URL+"/repos/o/r/issues", "application/json", strings.NewReader(`{"body":"no title"}`))
	if resp.StatusCode != 422 {
		t.Fatalf("issue without title: %d", resp.StatusCode)
	}
}
