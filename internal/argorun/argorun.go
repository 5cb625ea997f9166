// Package argorun is the wire contract between fixloop's Argo Rollouts metric plugin
// (cmd/rollouts-plugin-fixloop) and `fixloop serve`: an analysis started asynchronously, keyed by the
// AnalysisRun, polled, and cancelled. Types only, so the plugin binary stays small.
//
//	POST   /argo/v1/analyses        Request → 202 Status (running) or 200 Status (already finished)
//	GET    /argo/v1/analyses/{id}   → 200 Status; 404 when fixloop no longer knows the id (restarted)
//	DELETE /argo/v1/analyses/{id}   → 204; cancels a running analysis and forgets it
package argorun

import (
	"errors"
	"regexp"
	"time"
)

// Path is the collection route.
const Path = "/argo/v1/analyses"

// Analysis states.
const (
	StateRunning  = "running"
	StateDone     = "done"
	StateFailed   = "failed" // the analysis itself errored: the plugin reports a measurement Error
	StateCanceled = "canceled"
)

// Request starts an analysis of one canary revision.
type Request struct {
	// ID names this measurement: AnalysisRun UID, metric and measurement index. Starting the same ID twice
	// returns the first analysis (Argo's Run must be idempotent).
	ID          string   `json:"id"`
	Namespace   string   `json:"namespace"`
	Rollout     string   `json:"rollout"`
	CanaryHash  string   `json:"canaryHash,omitempty"` // the AnalysisRun's rollouts-pod-template-hash
	AnalysisRun string   `json:"analysisRun,omitempty"`
	ExtraPrompt string   `json:"extraPrompt,omitempty"`
	Ignore      []string `json:"ignore,omitempty"` // regexes: matching log records are dropped
	Mask        []string `json:"mask,omitempty"`   // regexes: matched text masked (a value changed on purpose)
	RepoURL     string   `json:"repoUrl,omitempty"`
	BaseBranch  string   `json:"baseBranch,omitempty"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// Validate reports what is missing or malformed.
func (r *Request) Validate() error {
	switch {
	case !idPattern.MatchString(r.ID):
		return errors.New("id must be 1-200 characters of [A-Za-z0-9._-]")
	case r.Namespace == "" || r.Rollout == "":
		return errors.New("namespace and rollout are required")
	case len(r.ExtraPrompt) > 8192:
		return errors.New("extraPrompt is longer than 8192 bytes")
	case len(r.Ignore) > 32 || len(r.Mask) > 32:
		return errors.New("at most 32 ignore and 32 mask patterns")
	}
	return nil
}

// ValidID reports whether id may name an analysis.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Status is an analysis as the plugin sees it. Result is what successCondition/failureCondition see.
type Status struct {
	ID         string     `json:"id"`
	State      string     `json:"state"`
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Result     *Result    `json:"result,omitempty"`
}

// Result is the verdict, flat so template conditions read it as result.promote, result.confidence, ...
type Result struct {
	Verdict     string `json:"verdict"` // promote | abort | inconclusive
	Promote     bool   `json:"promote"`
	Confidence  int    `json:"confidence"`
	Analysis    string `json:"analysis"`
	RootCause   string `json:"rootCause,omitempty"`
	Remediation string `json:"remediation,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	IssueURL    string `json:"issueUrl,omitempty"`
	PRLink      string `json:"prLink,omitempty"`
	Report      string `json:"report,omitempty"` // URL of the verdict's page (/reports/{id})
	CanaryHash  string `json:"canaryHash,omitempty"`
	StableHash  string `json:"stableHash,omitempty"`
	StablePods  int    `json:"stablePods"`
	CanaryPods  int    `json:"canaryPods"`
}
