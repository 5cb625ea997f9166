package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const canaryCases = "../../testdata/canary"

// runJudge runs `fixloop judge args...` and returns stdout and the exit code it would have.
func runJudge(t *testing.T, stdin string, args ...string) (string, int, error) {
	t.Helper()
	cmd := newJudgeCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	code := 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	return out.String(), code, err
}

func TestJudgeCLI(t *testing.T) {
	c := func(name, file string) string { return filepath.Join(canaryCases, name, file) }
	panicCanary, err := os.ReadFile(c("go-panic", "canary.log"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		stdin       string
		args        []string
		wantCode    int
		wantVerdict string
		wantErr     string
	}{
		{"promote", "", []string{"--stable", c("healthy", "stable.log"), "--canary", c("healthy", "canary.log")}, 0, "promote", ""},
		{"abort from stdin", string(panicCanary), []string{"--stable", c("go-panic", "stable.log"), "--canary", "-"}, 0, "abort", ""},
		{"metrics", "", []string{"--stable", c("latency", "stable.log"), "--canary", c("latency", "canary.log"),
			"--stable-metrics", c("latency", "stable-metrics.json"), "--canary-metrics", c("latency", "canary-metrics.json")}, 0, "abort", ""},
		{"mask merges the colour values", "", []string{"--stable", c("colour-change-masked", "stable.log"), "--canary", c("colour-change-masked", "canary.log"),
			"--mask", `color=\w+`, "--extra-prompt", "colour differs on purpose"}, 0, "promote", ""},
		{"ignore drops the named event", "", []string{"--stable", c("legacy-endpoint-ignored", "stable.log"), "--canary", c("legacy-endpoint-ignored", "canary.log"),
			"--ignore", "legacy endpoint /v1/colors"}, 0, "promote", ""},
		{"without the ignore the event counts", "", []string{"--stable", c("legacy-endpoint-ignored", "stable.log"), "--canary", c("legacy-endpoint-ignored", "canary.log")}, 0, "abort", ""},
		{"broad ignore refused", "", []string{"--stable", c("go-panic", "stable.log"), "--canary", c("go-panic", "canary.log"), "--ignore", "."}, 2, "", "matches"},
		{"broad mask refused", "", []string{"--stable", c("go-panic", "stable.log"), "--canary", c("go-panic", "canary.log"), "--mask", `\S+`}, 2, "", "mask pattern"},
		{"binary input refused", "log line\x00\x01\xff binary", []string{"--stable", c("healthy", "stable.log"), "--canary", "-"}, 2, "", "not text"},
		{"inconclusive is still exit 0", "", []string{"--stable", c("too-little-data", "stable.log"), "--canary", c("too-little-data", "canary.log")}, 0, "inconclusive", ""},
		{"minimums are flags", "", []string{"--stable", c("too-little-data", "stable.log"), "--canary", c("too-little-data", "canary.log"), "--min-records", "2"}, 0, "promote", ""},
		{"missing canary", "", []string{"--stable", c("healthy", "stable.log")}, 2, "", "--canary"},
		{"unreadable file", "", []string{"--stable", "/nonexistent/x.log", "--canary", c("healthy", "canary.log")}, 2, "", "/nonexistent/x.log"},
		{"one metrics file", "", []string{"--stable", c("healthy", "stable.log"), "--canary", c("healthy", "canary.log"), "--stable-metrics", c("latency", "stable-metrics.json")}, 2, "", "go together"},
		{"bad regex", "", []string{"--stable", c("healthy", "stable.log"), "--canary", c("healthy", "canary.log"), "--ignore", "("}, 2, "", "ignore pattern"},
		{"unknown llm", "", []string{"--stable", c("healthy", "stable.log"), "--canary", c("healthy", "canary.log"), "--llm", "bogus"}, 2, "", "bogus"},
		{"positional args", "", []string{"a.log"}, 2, "", "positional"},
		{"unknown flag", "", []string{"--nope"}, 2, "", "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !slices.Contains(args, "--llm") {
				args = append(args, "--llm", "none") // deterministic whatever the developer's environment says
			}
			out, code, err := runJudge(t, tc.stdin, args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.wantCode)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want it to mention %q", err, tc.wantErr)
			}
			if tc.wantVerdict == "" {
				return
			}
			var v struct {
				Verdict string `json:"verdict"`
				Promote bool   `json:"promote"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("stdout is not the verdict JSON: %v\n%s", err, out)
			}
			if v.Verdict != tc.wantVerdict || v.Promote != (v.Verdict == "promote") {
				t.Errorf("verdict %+v, want %s", v, tc.wantVerdict)
			}
		})
	}
}

// --llm openai goes through the real OpenAI client to --llm-base-url with the file's key; a model answering
// promote over a panic is overruled and the verdict stays abort.
func TestJudgeCLIWithOpenAICompatibleLLM(t *testing.T) {
	var calls int
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{\"verdict\":\"promote\",\"promote\":true,\"confidence\":99,\"analysis\":\"fine\",\"rootCause\":\"none\",\"remediation\":\"promote\"}"}}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "fixloop.yaml")
	if err := os.WriteFile(file, []byte("llm:\n  apiKey: k\n  model: m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code, err := runJudge(t, "", "--stable", filepath.Join(canaryCases, "go-panic", "stable.log"), "--canary", filepath.Join(canaryCases, "go-panic", "canary.log"),
		"--llm", "openai", "--llm-base-url", srv.URL+"/v1", "--config", file)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	var v struct {
		Verdict string `json:"verdict"`
		LLM     struct {
			Outcome string `json:"outcome"`
		} `json:"llm"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer k" {
		t.Errorf("Authorization = %q, want the key from the config file", auth)
	}
	if calls != 1 || v.Verdict != "abort" || v.LLM.Outcome != "overruled" {
		t.Errorf("calls %d verdict %s outcome %s", calls, v.Verdict, v.LLM.Outcome)
	}
}
