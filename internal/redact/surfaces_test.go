package redact_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/redact"
)

// A surface is one way text leaves the process. It gets a canary log line carrying a secret and returns
// everything it would send.
type surface struct {
	name   string
	render func(t *testing.T, line string) string
}

// surfaces: the Slack bridge's text joins from surfaces_slack_test.go.
var surfaces = []surface{
	{"judge output", judgeOutput},
	{"LLM request", llmRequest},
	{"issue body", issueBody},
}

// verdictFor judges a canary that logs line 15 times as an error on top of the stable traffic.
func verdictFor(t *testing.T, line string) (judge.Input, *judge.Verdict) {
	t.Helper()
	var stable, canary strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&stable, "INFO GET /api/orders/%d 200 %dms\n", i, 10+i%7)
		fmt.Fprintf(&canary, "INFO GET /api/orders/%d 200 %dms\n", i, 10+i%7)
	}
	for i := 0; i < 15; i++ {
		fmt.Fprintf(&canary, "ERROR request %d failed: %s\n", i, line)
	}
	in := judge.Input{Stable: judge.ParseLogText(stable.String(), "stable"), Canary: judge.ParseLogText(canary.String(), "canary")}
	v, err := judge.Judge(context.Background(), in, judge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return in, v
}

func judgeOutput(t *testing.T, line string) string {
	_, v := verdictFor(t, line)
	b, _ := json.Marshal(v)
	return string(b)
}

func llmRequest(t *testing.T, line string) string {
	in, v := verdictFor(t, line)
	req := judge.BuildPrompt(in, v, judge.Options{})
	return req.System + "\n" + req.Prompt
}

// issueBody files the verdict as triage does, through the real GitHub client, on the local sink.
func issueBody(t *testing.T, line string) string {
	_, v := verdictFor(t, line)
	sink, err := ghsink.New(ghsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sink)
	defer ts.Close()
	gh, err := github.New(github.Config{BaseURL: ts.URL + "/", Redactor: redact.Default(), RetryBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req := github.IssueRequest{Repo: "o/r", Fingerprint: v.Fingerprint, Title: firstLine(v.RootCause), Summary: v.Analysis,
		RootCause: v.RootCause, Remediation: v.Remediation, Verdict: v.Verdict, Confidence: v.Confidence, OccurredAt: time.Now()}
	for _, e := range v.Evidence {
		req.Evidence = append(req.Evidence, github.EvidenceRow{Kind: e.Kind, Signal: e.Template + e.Metric, Note: e.Detail})
		req.LogExamples = append(req.LogExamples, e.Examples...)
	}
	req.LogExamples = append(req.LogExamples, "ERROR request 1 failed: "+line) // triage's raw-record fallback
	if _, err := gh.EnsureIssue(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, is := range sink.Issues("o/r") {
		out = append(out, is.Title, is.Body)
	}
	return strings.Join(out, "\n")
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// TestRedactionCorpusOnEverySurface prints caught/total per surface; every secret must be caught.
func TestRedactionCorpusOnEverySurface(t *testing.T) {
	corpus := redact.LoadCorpus(t)
	for _, s := range surfaces {
		caught := 0
		for _, e := range corpus {
			if out := s.render(t, e.Line); redact.Leaked(e.Secret, out) {
				t.Errorf("%s: %s leaked", s.name, e.Kind)
			} else {
				caught++
			}
		}
		fmt.Printf("redaction corpus, %s: %d/%d caught\n", s.name, caught, len(corpus))
	}
}
