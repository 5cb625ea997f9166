package tools

import (
	"fmt"
	"io"
	"time"

	"github.com/fixloop/fixloop/internal/logmine"
)

// Summarize budget. Mining costs grow with the number of distinct templates, so a log of unique words
// (every line its own template) was the worst case: 4 MB of it burned 39 s of CPU. Mining stops at
// whichever limit comes first, and the output says so.
const (
	summarizeMaxBytes       = 4 << 20         // log text mined over all pods
	summarizeMaxRecordBytes = 2048            // longer records are cut before mining
	summarizeMaxTemplates   = 2000            // distinct templates; past this the input is noise, not events
	summarizeTimeBudget     = 5 * time.Second // wall time spent mining
	summarizeClockEvery     = 64              // records between clock reads
)

// summarizer mines pod logs into templates within the budget. Not safe for concurrent use (PodLogs
// calls back one pod at a time).
type summarizer struct {
	d        Deps
	miner    *logmine.Miner
	pods     map[int]map[string]bool // template id → pods that logged it
	maxBytes int
	maxTmpl  int
	deadline time.Time
	budget   time.Duration

	bytes, records, mined, skipped int
	stopped                        string // why mining stopped early; "" while within budget
}

func newSummarizer(d Deps, now time.Time) *summarizer {
	return &summarizer{d: d, miner: logmine.NewMiner(logmine.DefaultConfig()), pods: map[int]map[string]bool{},
		maxBytes: summarizeMaxBytes, maxTmpl: summarizeMaxTemplates, budget: summarizeTimeBudget, deadline: now.Add(summarizeTimeBudget)}
}

// minePod feeds one pod's log; it returns the records read (lines for multi-line records).
func (s *summarizer) minePod(pod string, r io.Reader) int {
	rd := logmine.NewReader(r, logmine.ReaderOptions{Source: pod})
	read := 0
	for {
		rec, ok := rd.Next()
		if !ok {
			return read
		}
		read += max(rec.Lines, 1)
		if s.stopped != "" || !s.withinBudget(len(rec.Text)) {
			s.skipped += max(rec.Lines, 1)
			continue
		}
		if len(rec.Text) > summarizeMaxRecordBytes {
			rec.Text = rec.Text[:summarizeMaxRecordBytes]
		}
		// Redact before mining: a template keeps the constant part of a message, secrets included.
		rec.Text = s.d.redact(rec.Text)
		t := s.miner.Add(rec)
		s.mined++
		if s.pods[t.ID] == nil {
			s.pods[t.ID] = map[string]bool{}
		}
		s.pods[t.ID][pod] = true
	}
}

// withinBudget accounts one record of n bytes and records why mining must stop, if it must.
func (s *summarizer) withinBudget(n int) bool {
	s.records++
	s.bytes += min(n, summarizeMaxRecordBytes)
	switch {
	case s.bytes > s.maxBytes:
		s.stopped = fmt.Sprintf("summarize mined the first %d KiB of log text (limit %d KiB)", s.maxBytes>>10, s.maxBytes>>10)
	case len(s.pods) >= s.maxTmpl:
		s.stopped = fmt.Sprintf("summarize stopped at %d distinct templates (the log looks like unique text, not repeated events)", s.maxTmpl)
	case s.records%summarizeClockEvery == 0 && time.Now().After(s.deadline):
		s.stopped = fmt.Sprintf("summarize stopped after its %s time budget", s.budget)
	}
	return s.stopped == ""
}

// truncation describes what the budget left out ("" when everything was mined).
func (s *summarizer) truncation() string {
	if s.stopped == "" {
		return ""
	}
	return fmt.Sprintf("%s: %d records mined, %d not", s.stopped, s.mined, s.skipped)
}
