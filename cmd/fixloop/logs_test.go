package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestLogsMineAssign(t *testing.T) {
	in := "INFO request 1 done in 5ms\nINFO request 2 done in 7ms\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:3 +0x1\nINFO request 3 done in 1ms\n"
	var out bytes.Buffer
	if err := runLogsMine(strings.NewReader(in), &out, true, false); err != nil {
		t.Fatal(err)
	}
	want := "1\trequest <*> done in <*>\n1\trequest <*> done in <*>\n2\tpanic: boom\n1\trequest <*> done in <*>\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := runLogsMine(strings.NewReader(in), &out, true, true); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 7 { // blank line skipped
		t.Errorf("one record per line: %d records\n%s", n, out.String())
	}
}

func TestLogsMineJSON(t *testing.T) {
	in := `{"level":"error","msg":"login failed for bob password=hunter2"}` + "\nINFO ok\nINFO ok\n"
	var out bytes.Buffer
	if err := runLogsMine(strings.NewReader(in), &out, false, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 templates, got %q", out.String())
	}
	var first struct {
		ID       int      `json:"id"`
		Pattern  string   `json:"pattern"`
		Count    int      `json:"count"`
		Examples []string `json:"examples"`
		Severe   bool     `json:"severe"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Pattern != "ok" || first.Count != 2 {
		t.Errorf("most frequent first: %+v", first)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("secret leaked: %s", out.String())
	}
}

func TestLogsMineBinaryInputIsUsageError(t *testing.T) {
	err := runLogsMine(strings.NewReader("ok\x00\x01"), &bytes.Buffer{}, false, false)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "NUL byte") {
		t.Fatalf("want exit-2 usage error naming the NUL byte, got %v", err)
	}
}

// Mining before redaction let a JWT's signature (the part after the last dot) stay in the template while
// the example was redacted: the miner wildcards the varying head and keeps the rest of the token.
func TestLogsMineRedactsBeforeMining(t *testing.T) {
	sigs := []string{"abcdefghijklmnopqrstuv", "zyxwvutsrqponmlkjihgfe"}
	in := "auth header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0." + sigs[0] + "\n" +
		"auth header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI5OTk5In0." + sigs[1] + "\n"
	for _, assign := range []bool{false, true} {
		var out bytes.Buffer
		if err := runLogsMine(strings.NewReader(in), &out, assign, false); err != nil {
			t.Fatal(err)
		}
		for _, s := range append(sigs, "eyJ") {
			if strings.Contains(out.String(), s) {
				t.Errorf("assign=%v: part of the token %q is in the output:\n%s", assign, s, out.String())
			}
		}
		if !strings.Contains(out.String(), "[REDACTED:") {
			t.Errorf("assign=%v: no redaction marker in the template:\n%s", assign, out.String())
		}
	}
}
