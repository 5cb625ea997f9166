// Package report turns a canary verdict into a page a person can look at: the verdict, root cause
// and remediation first, stable vs canary charts of every metric (SVG drawn server-side with
// gonum.org/v1/plot, no JavaScript), the template diff with redacted examples, and links to the
// rollout, the issue and the fix. Reports are kept in the state store's key-value table under
// their random id; `fixloop serve` shows them at /reports/{id}, `fixloop judge --html` writes one.
package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/store"
)

// Report is what one verdict page shows.
type Report struct {
	ID        string        `json:"id"`
	CreatedAt time.Time     `json:"createdAt"`
	Namespace string        `json:"namespace,omitempty"`
	Rollout   string        `json:"rollout,omitempty"`
	Verdict   judge.Verdict `json:"verdict"`
	Metrics   []Series      `json:"metrics,omitempty"`
	Links     Links         `json:"links"`
	Notes     []string      `json:"notes,omitempty"`
	// Fix is the failure's fix state when the page is drawn (read live by fingerprint, see SaveFix).
	Fix *Fix `json:"fix,omitempty"`
}

// Series is one metric's samples on both sides, in the order they were taken over the window.
type Series struct {
	Name   string    `json:"name"`
	Stable []float64 `json:"stable"`
	Canary []float64 `json:"canary"`
}

// Links point from the report to where the verdict matters. Empty ones are not shown.
type Links struct {
	Rollout string `json:"rollout,omitempty"`
	Issue   string `json:"issue,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

// maxPoints bounds each side of a series: a day of 5 s samples per pod would make a page (and a
// stored record) of megabytes while the chart cannot show more than its width anyway.
const maxPoints = 400

// New builds the report of verdict v judged on in (its metrics become the charts). The id is
// assigned when the report is saved.
func New(v judge.Verdict, in judge.Input) Report {
	r := Report{CreatedAt: time.Now().UTC(), Namespace: in.Namespace, Rollout: in.Rollout, Verdict: v}
	canary := map[string][]float64{}
	for _, m := range in.CanaryMetrics {
		canary[m.Name] = append(canary[m.Name], m.Values...)
	}
	seen := map[string]bool{}
	for _, m := range in.StableMetrics {
		if seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		r.Metrics = append(r.Metrics, Series{Name: m.Name, Stable: thin(m.Values), Canary: thin(canary[m.Name])})
	}
	for _, m := range in.CanaryMetrics { // canary-only metrics are charted too (stable side empty)
		if !seen[m.Name] {
			seen[m.Name] = true
			r.Metrics = append(r.Metrics, Series{Name: m.Name, Canary: thin(canary[m.Name])})
		}
	}
	return r
}

// thin keeps at most maxPoints samples, evenly spaced, so the shape survives.
func thin(v []float64) []float64 {
	if len(v) <= maxPoints {
		return append([]float64(nil), v...)
	}
	out := make([]float64, maxPoints)
	for i := range out {
		out[i] = v[i*len(v)/maxPoints]
	}
	return out
}

// KV is the part of the state store reports live in (store.Store has it).
type KV interface {
	PutKV(ctx context.Context, ns, key string, value []byte) error
	GetKV(ctx context.Context, ns, key string) ([]byte, error)
}

const kvNamespace = "reports"

// ErrNotFound: no report with that id (or an id that cannot be one).
var ErrNotFound = errors.New("report not found")

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Recorder saves reports and names their URLs.
type Recorder struct {
	KV KV
	// BaseURL is the public URL of `fixloop serve` (auth.publicURL); empty: URLs are root-relative.
	BaseURL string
}

// Save stores r under a new random id and returns its URL.
func (rec *Recorder) Save(ctx context.Context, r *Report) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	r.ID = hex.EncodeToString(b[:])
	data, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	if err := rec.KV.PutKV(ctx, kvNamespace, r.ID, data); err != nil {
		return "", fmt.Errorf("saving report: %w", err)
	}
	return rec.URL(r.ID), nil
}

// URL is where report id is served.
func (rec *Recorder) URL(id string) string {
	return strings.TrimSuffix(rec.BaseURL, "/") + "/reports/" + id
}

// Load reads report id.
func Load(ctx context.Context, kv KV, id string) (*Report, error) {
	if !idPattern.MatchString(id) {
		return nil, ErrNotFound
	}
	data, err := kv.GetKV(ctx, kvNamespace, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && data == nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("report %s unreadable: %w", id, err)
	}
	return &r, nil
}
