package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/store"
)

// Fix is where the fix of a failure (one fingerprint) stands: fixloop's own fixer or a coding agent
// handed the issue on GitHub. It is kept per fingerprint, apart from the reports, because it changes
// after they are written: every report of the failure, list_findings and Slack show the latest.
type Fix struct {
	Fingerprint string    `json:"fingerprint"`
	Fixer       string    `json:"fixer"`           // opencode, label:jules, assignee:copilot, mention:…
	State       string    `json:"state"`           // a fixstate name (hand-off: handing_off … pr_closed; fixer: working | failed)
	Issue       string    `json:"issue,omitempty"` // issue URL
	PR          string    `json:"pr,omitempty"`    // pull request URL, only once seen through the API
	Flagged     bool      `json:"flagged,omitempty"`
	Namespace   string    `json:"namespace,omitempty"`
	Rollout     string    `json:"rollout,omitempty"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

const fixNamespace = "report-fix"

// SaveFix records f (by its fingerprint).
func SaveFix(ctx context.Context, kv KV, f Fix) error {
	if f.Fingerprint == "" {
		return errors.New("fix state without a fingerprint")
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = time.Now().UTC()
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return kv.PutKV(ctx, fixNamespace, f.Fingerprint, raw)
}

// LoadFix reads the fix state of fingerprint fp; nil without one.
func LoadFix(ctx context.Context, kv KV, fp string) (*Fix, error) {
	if fp == "" {
		return nil, nil
	}
	raw, err := kv.GetKV(ctx, fixNamespace, fp)
	if errors.Is(err, store.ErrNotFound) || err == nil && len(raw) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f Fix
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("fix state of %s unreadable: %w", fp, err)
	}
	return &f, nil
}

// IDFromURL is the report id at the end of a report URL ("" when u is not one).
func IDFromURL(u string) string {
	i := strings.LastIndex(u, "/reports/")
	if i < 0 {
		return ""
	}
	id := u[i+len("/reports/"):]
	if !idPattern.MatchString(id) {
		return ""
	}
	return id
}

// Link adds where the verdict led (the issue, the fix) to the report at reportURL. Empty links keep
// what the report had. A URL that is not a report of this store is an error.
func (rec *Recorder) Link(ctx context.Context, reportURL string, l Links) error {
	if rec == nil || rec.KV == nil {
		return nil
	}
	id := IDFromURL(reportURL)
	if id == "" {
		return fmt.Errorf("%q is not a report URL", reportURL)
	}
	r, err := Load(ctx, rec.KV, id)
	if err != nil {
		return err
	}
	for _, p := range []struct {
		dst *string
		src string
	}{{&r.Links.Rollout, l.Rollout}, {&r.Links.Issue, l.Issue}, {&r.Links.Fix, l.Fix}} {
		if p.src != "" {
			*p.dst = p.src
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return rec.KV.PutKV(ctx, kvNamespace, id, data)
}
