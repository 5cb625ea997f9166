package ghsink

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v66/github"
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

// A state file written by the first format (ghsink's own structs, testdata/state-v1.json as that code
// wrote it) loads whole, is served through go-github's client, and is rewritten in the current format.
func TestStateFileOfTheFirstFormatLoads(t *testing.T) {
	old, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "sink.json")
	if err := os.WriteFile(file, old, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	checkFirstFormatState(t, s)
	before := s.Issues("acme/shop")

	ts := httptest.NewServer(s)
	defer ts.Close()
	c := gh.NewClient(nil)
	c.BaseURL, _ = url.Parse(ts.URL + "/")
	ctx := context.Background()
	is, _, err := c.Issues.Get(ctx, "acme", "shop", 1)
	if err != nil || is.GetTitle() != "[fixloop] panic: nil map in checkout" || is.GetComments() != 1 || is.GetCreatedAt().IsZero() {
		t.Fatalf("GET issue 1 through go-github: %+v %v", is, err)
	}
	pr, _, err := c.PullRequests.Get(ctx, "acme", "shop", 3)
	if err != nil || pr.GetHead().GetRef() != "fixloop/fp-abc123" || pr.GetBase().GetLabel() != "acme:main" {
		t.Fatalf("GET pull 3 through go-github: %+v %v", pr, err)
	}
	created, _, err := c.Issues.Create(ctx, "acme", "shop", &gh.IssueRequest{Title: gh.String("after the upgrade"), Labels: &[]string{"fixloop"}})
	if err != nil || created.GetNumber() != 4 || created.GetID() != 8 || created.Labels[0].GetID() != 2 {
		t.Fatalf("new issue after loading the old file: %+v %v (want number 4, id 8, the existing label id 2)", created, err)
	}

	var written struct {
		Version int `json:"version"`
	}
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &written); err != nil || written.Version != stateVersion {
		t.Fatalf("state file rewritten with version %d (%v), want %d", written.Version, err, stateVersion)
	}
	s2, err := New(Options{StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	checkFirstFormatState(t, s2)
	if after := s2.Issues("acme/shop"); len(after) != 3 || !reflect.DeepEqual(after[:2], before) {
		t.Fatalf("issues changed across the rewrite:\nbefore %+v\nafter  %+v", before, after)
	}
}

func checkFirstFormatState(t *testing.T, s *Server) {
	t.Helper()
	is := s.Issues("acme/shop")
	if len(is) < 2 {
		t.Fatalf("issues %+v", is)
	}
	first, closed := is[0], is[1]
	if first.Body != "the canary panics" || len(first.Labels) != 2 || first.Labels[1].Name != "fixloop:fp-abc123" ||
		len(first.Assignees) != 1 || first.Assignees[0].Login != "oncall" || first.User.Login != "fixloop-bot" || first.ClosedAt != nil {
		t.Errorf("issue 1: %+v", first)
	}
	if closed.State != "closed" || closed.StateReason != "completed" || closed.ClosedAt == nil || !closed.ClosedAt.Equal(time.Date(2026, 11, 2, 9, 40, 0, 0, time.UTC)) {
		t.Errorf("issue 2: %+v", closed)
	}
	if cs := s.Comments("acme/shop", 1); len(cs) != 1 || cs[0].Body != "Seen again at 09:40" || !strings.HasSuffix(cs[0].HTMLURL, "#issuecomment-4") {
		t.Errorf("comments: %+v", cs)
	}
	if ps := s.Pulls("acme/shop"); len(ps) != 1 || ps[0].Number != 3 || ps[0].Head.Ref != "fixloop/fp-abc123" || ps[0].Body != "Fixes #1" {
		t.Errorf("pulls: %+v", ps)
	}
}

// A state file from a newer fixloop is refused (not overwritten with an older format).
func TestStateFileOfANewerFormatIsRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sink.json")
	if err := os.WriteFile(file, []byte(`{"version": 99, "repos": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{StateFile: file})
	if err == nil || !strings.Contains(err.Error(), "format 99") {
		t.Fatalf("newer state file: %v", err)
	}
	if data, _ := os.ReadFile(file); !strings.Contains(string(data), "99") {
		t.Fatalf("newer state file was rewritten: %s", data)
	}
}
