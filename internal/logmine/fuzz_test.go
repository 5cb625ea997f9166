package logmine

import (
	"strings"
	"testing"
)

func FuzzReader(f *testing.F) {
	for _, s := range []string{goHTTPPanic, goFatalPanic, javaTrace, pythonTrace, pythonChained,
		"2024-05-01T10:00:00.1Z stdout P a\n2024-05-01T10:00:00.2Z stdout F b\n",
		`{"level":"info","msg":"x","log":"{\"msg\":\"nested\"}"}` + "\n", "level=error msg=\"unterminated\n",
		"E0501 10:00:02.5 1 x.go:1] y\n", "[Mon Jan  2 15:04:05 2006] [warn] z\n", "\n\n\t\n"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, onePerLine bool) {
		r := NewReader(strings.NewReader(in), ReaderOptions{OneRecordPerLine: onePerLine})
		physical := strings.Count(in, "\n") + 1
		n, lines := 0, 0
		for {
			rec, ok := r.Next()
			if !ok {
				break
			}
			n++
			lines += rec.Lines
			if rec.Lines < 1 {
				t.Fatalf("record with %d lines: %q", rec.Lines, rec.Text)
			}
			if onePerLine && rec.Lines != 1 {
				t.Fatalf("one-record-per-line produced a %d-line record", rec.Lines)
			}
			if strings.Count(rec.Text, "\n") >= rec.Lines && !strings.Contains(in, "\\n") {
				t.Fatalf("text has more lines than counted: %d %q", rec.Lines, rec.Text)
			}
		}
		if r.Err() != nil {
			t.Fatal(r.Err())
		}
		if lines > physical {
			t.Fatalf("records cover %d lines, input has %d", lines, physical)
		}
	})
}

func FuzzMiner(f *testing.F) {
	f.Add("request 1 took 5ms\nrequest 2 took 7ms\nuser bob logged in\nuser amy logged in", uint8(3))
	f.Add("a \"b c\" d\n\"\n\"\"\n=x=\n-1 -2 +3", uint8(0))
	f.Add("10.0.0.1:80 open through proxy p.example:5070 HTTPS\np2:443 open through proxy p.example:5070 SOCKS5", uint8(7))
	f.Fuzz(func(t *testing.T, in string, seed uint8) {
		m := NewMiner(DefaultConfig())
		lines := strings.Split(in, "\n")
		if seed%2 == 0 { // two-pass use
			for _, l := range lines {
				m.Observe(Record{Text: l})
			}
		}
		ids := make([]int, len(lines))
		seen := map[int]*Template{}
		for i, l := range lines {
			tp := m.Add(Record{Text: l})
			if tp == nil || tp.ID < 1 {
				t.Fatalf("no template for %q", l)
			}
			if prev, ok := seen[tp.ID]; ok && prev != tp {
				t.Fatalf("template ID %d reused by two templates", tp.ID)
			}
			seen[tp.ID] = tp
			ids[i] = tp.ID
		}
		total := 0
		ts := m.Templates()
		for i, tp := range ts {
			total += tp.Count
			if i > 0 && ts[i-1].Count < tp.Count {
				t.Fatal("templates not sorted by count")
			}
			if len(tp.Examples) > 3 || len(tp.Examples) == 0 {
				t.Fatalf("template %d has %d examples", tp.ID, len(tp.Examples))
			}
			if m.Template(tp.ID) != tp {
				t.Fatalf("Template(%d) lookup mismatch", tp.ID)
			}
		}
		if total != len(lines) {
			t.Fatalf("counts sum to %d, want %d", total, len(lines))
		}
		// Every record still matches its (possibly generalised) template: same token count, and each
		// constant template token equals the record's masked token.
		z := newTokenizer()
		for i, l := range lines {
			z.tokenize(headline(l))
			tp := m.Template(ids[i])
			if len(tp.tokens) != len(z.toks) {
				t.Fatalf("record %q has %d tokens, its template %q has %d", l, len(z.toks), tp.Pattern, len(tp.tokens))
			}
			for k, tok := range tp.tokens {
				if tok != Wildcard && tok != z.toks[k] {
					t.Fatalf("record %q does not fit its template %q at %d", l, tp.Pattern, k)
				}
			}
		}
	})
}
