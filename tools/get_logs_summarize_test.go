package tools

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uniqueWords is n bytes of lines made of random words: every line its own template (issue 14's
// 4 MB input that burned 39 s of CPU in get_logs summarize:true).
func uniqueWords(n int) []byte {
	rng := rand.New(rand.NewSource(14))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	var b bytes.Buffer
	for b.Len() < n {
		for w := 0; w < 8; w++ {
			for k := 0; k < 3+rng.Intn(8); k++ {
				b.WriteByte(letters[rng.Intn(len(letters))])
			}
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestSummarizeStopsAtItsBudgetOnUniqueText(t *testing.T) {
	data := uniqueWords(4 << 20)
	total := bytes.Count(data, []byte("\n"))
	s := newSummarizer(Deps{}, time.Now())
	c0 := cpuTime()
	read := s.minePod("web-1", bytes.NewReader(data))
	t.Logf("4 MiB of unique words: %s CPU, %d of %d records mined, %d templates; %s", cpuTime()-c0, s.mined, total, len(s.pods), s.truncation())
	if read != total {
		t.Errorf("read %d records, want all %d counted", read, total)
	}
	if s.stopped == "" || s.skipped == 0 || !strings.Contains(s.truncation(), "not") {
		t.Fatalf("no budget stop on unique text: %+v", s.truncation())
	}
	if len(s.pods) > summarizeMaxTemplates {
		t.Errorf("%d templates, cap %d", len(s.pods), summarizeMaxTemplates)
	}
}

func TestSummarizeStopsAtItsTimeAndByteBudgets(t *testing.T) {
	var log strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&log, "GET /api/orders/%d 200 %dms\n", i, i%50)
	}
	late := newSummarizer(Deps{}, time.Now().Add(-time.Hour)) // the deadline has passed
	late.minePod("web-1", strings.NewReader(log.String()))
	if !strings.Contains(late.truncation(), "time budget") || late.mined >= summarizeClockEvery {
		t.Errorf("time budget: %q after %d records", late.truncation(), late.mined)
	}
	small := newSummarizer(Deps{}, time.Now())
	small.maxBytes = 10 << 10
	small.minePod("web-1", strings.NewReader(log.String()))
	if !strings.Contains(small.truncation(), "first 10 KiB") {
		t.Errorf("byte budget: %q", small.truncation())
	}
}

func TestSummarizeWithinBudgetMinesEverythingRedacted(t *testing.T) {
	var log strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&log, "GET /api/orders/%d 200 %dms\n", i, i%50)
		fmt.Fprintf(&log, "ERROR slack post failed with xoxb-123456789012-1234567890123-QvRzTxLmKpWnYsBcDgHjKl request %d\n", i)
	}
	s := newSummarizer(Deps{}, time.Now())
	s.minePod("web-1", strings.NewReader(log.String()))
	s.minePod("web-2", strings.NewReader(log.String()))
	if s.truncation() != "" || s.skipped != 0 {
		t.Fatalf("truncated a small log: %q", s.truncation())
	}
	var cut []string
	tmpls, _ := summarizeTemplates(Deps{}, s.miner, s.pods, 50, 64<<10, &cut)
	if len(tmpls) != 2 {
		t.Fatalf("templates %+v", tmpls)
	}
	for _, tm := range tmpls {
		if tm.Pods != 2 || tm.Count != 600 {
			t.Errorf("template %q: pods %d count %d", tm.Pattern, tm.Pods, tm.Count)
		}
		if strings.Contains(tm.Pattern, "QvRzTxLm") || strings.Contains(strings.Join(tm.Examples, " "), "QvRzTxLm") {
			t.Errorf("a token part survived: %+v", tm)
		}
	}
}
