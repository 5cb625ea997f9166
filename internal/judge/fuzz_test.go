package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzJudgeInputs feeds arbitrary log and metrics files through the CLI's loading path and the
// judge: it must never panic, the verdict must be one of the three, promote must mean verdict
// promote, and the verdict must marshal to JSON.
func FuzzJudgeInputs(f *testing.F) {
	for _, name := range []string{"go-panic", "healthy-with-metrics", "json-logs-errors", "too-little-data"} {
		dir := filepath.Join(scenarioRoot, name)
		st, _ := os.ReadFile(filepath.Join(dir, "stable.log"))
		ca, _ := os.ReadFile(filepath.Join(dir, "canary.log"))
		sm, _ := os.ReadFile(filepath.Join(dir, "stable-metrics.json"))
		cm, _ := os.ReadFile(filepath.Join(dir, "canary-metrics.json"))
		f.Add(head(st, 700), head(ca, 700), head(sm, 300), head(cm, 300), "colou?r")
	}
	f.Add([]byte("[pod/a/app] ERROR x\n[pod/b/app] 200 - blue (2.000000s)\n[pod/a/app] \tat y(Y.java:1)\nno prefix\n"), []byte(`{"status":"503","request_time":"0.5"}`+"\n"), []byte{}, []byte{}, `color=\w+`)
	f.Add([]byte("panic: x\ngoroutine 1 [running]:\n"), []byte{}, []byte(`{"metrics":[{"name":"a","values":[1,null,"NaN","+Inf"]}]}`), []byte(`{"metrics":[{"name":"a","values":[]}]}`), "")
	f.Add([]byte(`{"level":"error","msg":"x"}`), []byte("\x00\xff\n\t at x"), []byte(`{"metrics":[{"name":"requests","values":[-1e308,1e308]}]}`), []byte(`{"metrics":[{"name":"requests","values":[0]}]}`), "(")
	f.Fuzz(func(t *testing.T, stable, canary, stableMetrics, canaryMetrics []byte, ignore string) {
		in := Input{
			Stable: ParseLogText(string(stable), "stable"),
			Canary: ParseLogText(string(canary), "canary"),
			Ignore: []string{ignore},
			Mask:   []string{ignore},
		}
		// Metrics that do not parse are a usage error in the CLI; valid ones go in.
		if ms, err := ParseMetrics(bytes.NewReader(stableMetrics)); err == nil {
			in.StableMetrics = ms
		}
		if ms, err := ParseMetrics(bytes.NewReader(canaryMetrics)); err == nil {
			in.CanaryMetrics = ms
		}
		v, err := Judge(context.Background(), in, Options{})
		if err != nil {
			if cerr := CheckPatterns(in.Ignore, in.Mask); cerr == nil {
				t.Fatalf("Judge failed on valid input: %v", err)
			}
			return
		}
		switch v.Verdict {
		case Promote, Abort, Inconclusive:
		default:
			t.Fatalf("verdict %q", v.Verdict)
		}
		if v.Promote != (v.Verdict == Promote) {
			t.Fatalf("promote %v with verdict %s", v.Promote, v.Verdict)
		}
		if v.Confidence < 0 || v.Confidence > 100 {
			t.Fatalf("confidence %d", v.Confidence)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("verdict does not marshal: %v", err)
		}
		for _, e := range v.Evidence {
			if e.Kind == KindNewTemplate && e.severe && v.Verdict != Abort {
				t.Fatalf("severe new template %q but verdict %s", e.Template, v.Verdict)
			}
		}
	})
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
