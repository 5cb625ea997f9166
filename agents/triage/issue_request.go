package triage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/judge"
)

func issueRequest(repo, fp, opID string, in AnalyzeInput, res *AnalyzeResult, now time.Time) github.IssueRequest {
	title := firstLine(res.RootCause)
	if title == "" {
		title = "canary " + res.Verdict
	}
	req := github.IssueRequest{
		Repo: repo, Fingerprint: fp, Title: title, Summary: res.Analysis, RootCause: res.RootCause, Remediation: res.Remediation,
		Verdict: res.Verdict, Confidence: res.Confidence, Namespace: in.Namespace, Rollout: in.Rollout,
		Revision: res.CanaryHash, StableRevision: res.StableHash, OccurredAt: now.UTC(), Report: res.Report,
	}
	if opID != "" {
		sum := sha256.Sum256([]byte(opID))
		req.OccurrenceID = hex.EncodeToString(sum[:8])
	}
	for _, e := range res.Evidence {
		req.Evidence = append(req.Evidence, evidenceRow(e))
		if len(req.Evidence) == 12 {
			break
		}
	}
	req.LogExamples = logExamples(res.Evidence, 3)
	return req
}

// evidenceRow maps a judge finding onto the issue table.
func evidenceRow(e judge.Evidence) github.EvidenceRow {
	signal := e.Template
	if e.Kind == judge.KindMetric {
		signal = e.Metric
	}
	note := e.Detail
	if note == "" {
		note = e.Severity
	}
	return github.EvidenceRow{Kind: e.Kind, Signal: signal, Stable: sideText(e.Stable), Canary: sideText(e.Canary), Note: note}
}

// sideText renders one side of a judge finding: counts with their rate, or metric samples.
func sideText(s *judge.Side) string {
	if s == nil {
		return ""
	}
	var parts []string
	if s.Count != nil {
		c := strconv.Itoa(*s.Count)
		if s.Rate != nil {
			c += fmt.Sprintf(" (%s/1000)", trimFloat(*s.Rate))
		}
		parts = append(parts, c)
	}
	if s.Median != nil {
		parts = append(parts, "median "+trimFloat(*s.Median))
	}
	if s.P95 != nil {
		parts = append(parts, "p95 "+trimFloat(*s.P95))
	}
	if s.Samples != nil {
		parts = append(parts, fmt.Sprintf("n=%d", *s.Samples))
	}
	if s.Level != "" && s.Level != "info" {
		parts = append(parts, s.Level)
	}
	return strings.Join(parts, ", ")
}

// logExamples picks examples from the most severe findings first (a panic trace says more than an
// access-log line), one per finding, up to n.
func logExamples(evidence []judge.Evidence, n int) []string {
	rank := func(e judge.Evidence) int {
		if e.Canary == nil {
			return 2
		}
		switch e.Canary.Level {
		case "panic", "fatal":
			return 0
		case "error":
			return 1
		}
		return 2
	}
	var out []string
	for r := 0; r <= 2 && len(out) < n; r++ {
		for _, e := range evidence {
			if rank(e) == r && len(out) < n && len(e.Examples) > 0 {
				out = append(out, e.Examples[0])
			}
		}
	}
	return out
}

func trimFloat(f float64) string { return fmt.Sprintf("%.4g", f) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
