package judge

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/fixloop/fixloop/internal/logmine"
	"github.com/fixloop/fixloop/internal/redact"
)

// ParseLogs reads raw pod log text (plain, JSON lines, multi-line traces in any mix) into
// records. Parse each pod's log separately and append the results, so a trace never joins
// across pods (the output of `kubectl logs --prefix` is split per pod here).
func ParseLogs(r io.Reader, source string) ([]logmine.Record, error) {
	return logmine.ReadAll(r, logmine.ReaderOptions{Source: source})
}

// ParseLogText is ParseLogs over a string (reading a string cannot fail).
func ParseLogText(text, source string) []logmine.Record {
	recs, _ := ParseLogs(strings.NewReader(text), source)
	return recs
}

// MetricsFile is the metrics file format of the CLI:
// {"metrics":[{"name":"error_rate","values":[...],"direction":"increase","critical":true}]}.
type MetricsFile struct {
	Metrics []Metric `json:"metrics"`
}

// ParseMetrics reads a metrics file, validating names and directions.
func ParseMetrics(r io.Reader) ([]Metric, error) {
	var f MetricsFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf(`metrics file is not {"metrics":[{"name":..,"values":[..],"direction":..,"critical":..}]}: %w`, err)
	}
	if f.Metrics == nil {
		return nil, fmt.Errorf(`metrics file has no "metrics" list`)
	}
	seen := map[string]bool{}
	for i, m := range f.Metrics {
		if strings.TrimSpace(m.Name) == "" {
			return nil, fmt.Errorf("metric #%d has no name", i+1)
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("metric %q appears twice", m.Name)
		}
		seen[m.Name] = true
		switch strings.ToLower(m.Direction) {
		case "", "increase", "decrease", "either":
		default:
			return nil, fmt.Errorf("metric %q: direction %q must be increase, decrease or either", m.Name, m.Direction)
		}
	}
	return f.Metrics, nil
}

// UnmarshalJSON accepts null and numeric strings ("NaN", "+Inf", "0.5", as Prometheus writes
// them) among the values: null becomes NaN, which the judge drops; it is never read as 0.
func (m *Metric) UnmarshalJSON(b []byte) error {
	type plain Metric
	var aux struct {
		plain
		Values []json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*m = Metric(aux.plain)
	m.Values = make([]float64, 0, len(aux.Values))
	for _, raw := range aux.Values {
		v, err := parseSample(raw)
		if err != nil {
			return fmt.Errorf("metric %q: %w", m.Name, err)
		}
		m.Values = append(m.Values, v)
	}
	return nil
}

func parseSample(raw json.RawMessage) (float64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "null" {
		return math.NaN(), nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, err
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
		if err != nil {
			return 0, fmt.Errorf("value %s is not a number", s)
		}
		return v, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("value %s is not a number", s)
	}
	return v, nil
}

// Files names the CLI's inputs; "-" reads Stdin (at most one of them may).
type Files struct {
	Stable, Canary               string
	StableMetrics, CanaryMetrics string
	Stdin                        io.Reader
}

// InputError is a problem with the caller's input (bad path, unreadable or invalid file): the CLI
// exits 2 on it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// LoadFiles reads log and metrics files into an Input (ignore patterns and the rest are the
// caller's). Errors are *InputError and name the file.
func LoadFiles(f Files) (Input, error) {
	var in Input
	bad := func(format string, args ...any) (Input, error) {
		return Input{}, &InputError{Err: fmt.Errorf(format, args...)}
	}
	if f.Stable == "" || f.Canary == "" {
		return bad("both --stable and --canary log files are required")
	}
	if (f.StableMetrics == "") != (f.CanaryMetrics == "") {
		return bad("--stable-metrics and --canary-metrics go together: give both or neither")
	}
	dashes := 0
	for _, p := range []string{f.Stable, f.Canary, f.StableMetrics, f.CanaryMetrics} {
		if p == "-" {
			dashes++
		}
	}
	if dashes > 1 {
		return bad("only one input can be read from stdin (-)")
	}
	open := func(path string) (io.ReadCloser, error) {
		if path == "-" {
			if f.Stdin == nil {
				return nil, fmt.Errorf("stdin is not available")
			}
			return io.NopCloser(f.Stdin), nil
		}
		return os.Open(path)
	}
	readLogs := func(flag, path string) ([]logmine.Record, error) {
		r, err := open(path)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--%s: cannot read %s: %w", flag, path, err)}
		}
		defer r.Close()
		recs, err := ParseLogs(logmine.TextOnly(r), flag)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--%s: reading %s: %w", flag, path, err)}
		}
		return recs, nil
	}
	readMetrics := func(flag, path string) ([]Metric, error) {
		r, err := open(path)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--%s: cannot read %s: %w", flag, path, err)}
		}
		defer r.Close()
		ms, err := ParseMetrics(r)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--%s %s: %w", flag, path, err)}
		}
		return ms, nil
	}
	var err error
	if in.Stable, err = readLogs("stable", f.Stable); err != nil {
		return Input{}, err
	}
	if in.Canary, err = readLogs("canary", f.Canary); err != nil {
		return Input{}, err
	}
	if f.StableMetrics != "" {
		if in.StableMetrics, err = readMetrics("stable-metrics", f.StableMetrics); err != nil {
			return Input{}, err
		}
		if in.CanaryMetrics, err = readMetrics("canary-metrics", f.CanaryMetrics); err != nil {
			return Input{}, err
		}
	}
	return in, nil
}

// redactRecords returns copies of recs with secrets redacted from their text. It runs before the miner
// sees the records: a template keeps the constant part of a message, so a token redacted only in the
// examples after mining would leave its prefix or tail in the template, the root cause and the title.
// Records are independent, so large inputs are split over the CPUs (this is most of a judgement's time).
func redactRecords(recs []logmine.Record, r *redact.Redactor) []logmine.Record {
	out := make([]logmine.Record, len(recs))
	const minChunk = 2048
	workers := min(runtime.GOMAXPROCS(0), (len(recs)+minChunk-1)/minChunk)
	if workers <= 1 {
		redactInto(out, recs, r)
		return out
	}
	chunk := (len(recs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(recs); lo += chunk {
		hi := min(lo+chunk, len(recs))
		wg.Go(func() { redactInto(out[lo:hi], recs[lo:hi], r) })
	}
	wg.Wait()
	return out
}

func redactInto(out, recs []logmine.Record, r *redact.Redactor) {
	for i, rec := range recs {
		rec.Text = r.String(rec.Text)
		out[i] = rec
	}
}
