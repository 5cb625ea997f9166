package logmine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMaskToken(t *testing.T) {
	cases := map[string]string{
		"42":                                     "<*>",
		"-64":                                    "<*>",
		"0x7f961cf08cf0":                         "<*>",
		"10.0.0.1":                               "<*>",
		"10.0.0.1:8080":                          "<*>",
		"[fe80::1ff:fe23:4567:890a]:443":         "[<*>]:<*>",
		"fe80::1ff:fe23:4567:890a":               "<*>",
		"b9000564-fe1a-409b-b8cc-1e88b294cd1d":   "<*>",
		"blk_-6952295868487656571":               "blk_<*>",
		"blk_38865049064139660":                  "blk_<*>",
		"appattempt_1445144423722_0020_000001":   "appattempt_<*>",
		"12ms":                                   "<*>",
		"1.5s":                                   "<*>",
		"2024-05-01T10:00:00Z":                   "<*>",
		"status=500":                             "status=<*>",
		"path=/var/lib/app/data":                 "path=<*>",
		"/var/log/nginx/access.log":              "<*>",
		"(/var/lib/nova/instances/_base/a4b8)":   "(<*>)",
		"https://api.example.com/v1/x?y=1":       "<*>",
		"jane.doe@example.com":                   "<*>",
		"C:\\Windows\\System32\\drivers":         "<*>",
		"hello":                                  "hello",
		"HTTP/1.1":                               "HTTP/<*>",
		"network-vif-plugged:e3871ffd-5cd5-4287": "network-vif-plugged:<*>",
	}
	z := newTokenizer()
	for in, want := range cases {
		z.tokenize(in)
		got := strings.Join(z.toks, " ")
		if got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenizeQuoted(t *testing.T) {
	z := newTokenizer()
	for in, want := range map[string]string{
		`acquire lock=233570404, tag="View Lock", name=com.android.systemui`: `acquire lock=<*>, tag="<*>", name=com.android.systemui`,
		`10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200`:           `<*> "GET <*>" status: <*>`,
		`setting hostname to "authorMacBook-Pro.local"`:                      `setting hostname to "authorMacBook-Pro.local"`,
	} {
		z.tokenize(in)
		if got := strings.Join(z.toks, " "); got != want {
			t.Errorf("tokenize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMinerTemplates(t *testing.T) {
	m := NewMiner(DefaultConfig())
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	lines := []string{
		"request 1f3a9c02 took 12ms status=200",
		"request 77aa0b31 took 9ms status=200",
		"user alice logged in from 10.0.0.1",
		"request 0b0b0b0c took 1.5s status=500",
		"user bob logged in from 10.0.0.2",
		"user carol logged in from 192.168.1.20",
		"cache miss for key orders",
		"user dave logged in from 10.0.0.3",
	}
	// Two passes: column statistics first, so the first user names already count as parameters.
	for _, l := range lines {
		m.Observe(Record{Text: l})
	}
	ids := make([]int, len(lines))
	for i, l := range lines {
		lvl := LevelInfo
		if strings.Contains(l, "500") {
			lvl = LevelError
		}
		ids[i] = m.Add(Record{Text: l, Level: lvl, Time: t0.Add(time.Duration(i) * time.Second)}).ID
	}
	if ids[0] != ids[1] || ids[0] != ids[3] {
		t.Errorf("request lines split: %v", ids)
	}
	if ids[2] != ids[4] || ids[2] != ids[5] || ids[2] != ids[7] {
		t.Errorf("login lines split: %v", ids)
	}
	if ids[0] == ids[2] || ids[6] == ids[0] || ids[6] == ids[2] {
		t.Errorf("distinct events merged: %v", ids)
	}
	ts := m.Templates()
	if len(ts) != 3 {
		t.Fatalf("got %d templates, want 3", len(ts))
	}
	req := m.Template(ids[0])
	if req.Pattern != "request <*> took <*> status=<*>" || req.Count != 3 {
		t.Errorf("request template %q count %d", req.Pattern, req.Count)
	}
	if !req.First.Equal(t0) || !req.Last.Equal(t0.Add(3*time.Second)) {
		t.Errorf("first/last %v %v", req.First, req.Last)
	}
	if req.Level != LevelError || !req.Severe {
		t.Errorf("request template level %q severe %v", req.Level, req.Severe)
	}
	if len(req.Examples) != 3 || req.Examples[0] != lines[0] {
		t.Errorf("examples %q", req.Examples)
	}
	login := m.Template(ids[2])
	if login.Pattern != "user <*> logged in from <*>" || login.Severe {
		t.Errorf("login template %q severe %v", login.Pattern, login.Severe)
	}
	// IDs are stable while the pattern generalises.
	if got := m.Add(Record{Text: "user erin logged in from 10.9.9.9"}); got.ID != ids[2] {
		t.Errorf("stable id: got %d want %d", got.ID, ids[2])
	}
}

func TestMinerMultilineHeadline(t *testing.T) {
	m := NewMiner(DefaultConfig())
	a := m.Add(Record{Text: "http: panic serving 10.0.0.1:1234: boom\ngoroutine 5 [running]:\nmain.h()\n\t/app/main.go:3 +0x1", Lines: 4})
	b := m.Add(Record{Text: "http: panic serving 10.0.0.7:999: boom\ngoroutine 9 [running]:\nmain.h()\n\t/app/main.go:3 +0x1", Lines: 4})
	c := m.Add(Record{Text: "Traceback (most recent call last):\n  File \"a.py\", line 1\nValueError: bad 1", Lines: 3})
	d := m.Add(Record{Text: "Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'", Lines: 3})
	if a.ID != b.ID || !a.Severe {
		t.Errorf("panics: %d %d severe=%v pattern %q", a.ID, b.ID, a.Severe, a.Pattern)
	}
	if c.ID == d.ID {
		t.Errorf("different Python exceptions merged into %q", c.Pattern)
	}
	if !strings.HasPrefix(c.Pattern, "ValueError") {
		t.Errorf("python headline %q", c.Pattern)
	}
}

func TestMinerLowCardinalityWordsStayApart(t *testing.T) {
	m := NewMiner(DefaultConfig())
	ids := map[string]int{}
	for i := 0; i < 20; i++ {
		for _, st := range []string{"Started", "Paused", "Resumed"} {
			line := fmt.Sprintf("[instance: %s] VM %s (Lifecycle Event)", uuidFor(i), st)
			id := m.Add(Record{Text: line}).ID
			if prev, ok := ids[st]; ok && prev != id {
				t.Fatalf("%s split over templates %d and %d", st, prev, id)
			}
			ids[st] = id
		}
	}
	if ids["Started"] == ids["Paused"] || ids["Paused"] == ids["Resumed"] {
		t.Fatalf("distinct lifecycle events merged: %v", ids)
	}
	if p := m.Template(ids["Paused"]).Pattern; p != "[instance: <*>] VM Paused (Lifecycle Event)" {
		t.Errorf("pattern %q", p)
	}
}

func uuidFor(i int) string { return fmt.Sprintf("%08x-fe1a-409b-b8cc-1e88b294cd%02x", i*7919, i) }
