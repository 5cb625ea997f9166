package fixer

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/fixloop/fixloop/skills"
)

// Findings is what the plan is built from when the caller sends no plan: the triage verdict
// (judge.Verdict field names) or health-check findings.
type Findings struct {
	Title            string   `json:"title,omitempty"`
	Summary          string   `json:"summary,omitempty"`
	Analysis         string   `json:"analysis,omitempty"`
	RootCause        string   `json:"rootCause,omitempty"`
	RootCauses       []string `json:"rootCauses,omitempty"`
	Remediation      string   `json:"remediation,omitempty"`
	Recommendations  []string `json:"recommendations,omitempty"`
	AffectedServices []string `json:"affectedServices,omitempty"`
	DebuggingSteps   []string `json:"debuggingSteps,omitempty"`
	// Evidence is kept as raw JSON: verdict evidence rows or log examples, whatever shape they have.
	Evidence []json.RawMessage `json:"evidence,omitempty"`
}

// BuildPlan renders the fix_plan skill template from findings.
func BuildPlan(req Request) string {
	f := Findings{}
	if req.Findings != nil {
		f = *req.Findings
	}
	title := firstNonEmpty(f.Title, req.Title, "failure "+short(req.Fingerprint))
	summary := firstNonEmpty(f.Summary, f.Analysis, "(no summary provided)")
	roots := f.RootCauses
	if f.RootCause != "" {
		roots = append([]string{f.RootCause}, roots...)
	}
	recs := f.Recommendations
	if f.Remediation != "" {
		recs = append([]string{f.Remediation}, recs...)
	}
	steps := f.DebuggingSteps
	for _, ev := range f.Evidence {
		steps = append(steps, "Evidence: "+compactJSON(ev))
	}
	issue := "(none)"
	if req.IssueURL != "" {
		issue = req.IssueURL
	} else if req.Issue > 0 {
		issue = "#" + strconv.Itoa(req.Issue)
	}
	tmpl, ok := skills.Get("fix_plan")
	body := defaultPlanTemplate
	if ok && strings.TrimSpace(tmpl.Body) != "" {
		body = tmpl.Body
	}
	return skills.Render(body, map[string]string{
		"title":            title,
		"repository":       firstNonEmpty(req.Repo, req.RepoURL),
		"baseBranch":       req.BaseBranch,
		"summary":          summary,
		"rootCauses":       bullets(roots),
		"affectedServices": bullets(f.AffectedServices),
		"recommendations":  bullets(recs),
		"debuggingSteps":   bullets(steps),
		"issue":            issue,
	})
}

// defaultPlanTemplate is used only if the embedded skill is missing (a build defect caught by tests).
const defaultPlanTemplate = "# Fix plan: {{title}}\n\nRepository: {{repository}} (base `{{baseBranch}}`)\n\n## Summary\n{{summary}}\n\n## Root causes\n{{rootCauses}}\n\n## Recommendations\n{{recommendations}}\n\n## Debugging steps\n{{debuggingSteps}}\n\nIssue: {{issue}}\n"

// deliveryInstructions tells the coding agent how to hand the work back: commit on the fix branch and
// stop. fixloop itself pushes the branch and opens the pull request (OpenCode holds no GitHub token),
// then verifies both through the GitHub API.
func deliveryInstructions(req Request, branch string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n\n## Delivery (required, from fixloop)\n")
	fmt.Fprintf(&b, "You are in a clone of %s, already on the branch `%s` created from `%s`.\n", req.Repo, branch, req.BaseBranch)
	b.WriteString("1. Change only files of this repository, with the smallest change that fixes the root cause.\n")
	fmt.Fprintf(&b, "2. Commit your change on `%s` (`git add` the files, then `git commit -m \"...\"` with a message that explains the fix).\n", branch)
	b.WriteString("3. Do not push and do not open a pull request: fixloop pushes the branch and opens the pull request itself.\n")
	b.WriteString("4. End with a short summary of the root cause and the change.\n")
	fmt.Fprintf(&b, "\n<!-- fixloop fingerprint %s -->\n", req.Fingerprint)
	return b.String()
}

var issueURLNumber = regexp.MustCompile(`/(?:issues|pull)/(\d+)`)

// issueNumber returns req.Issue or the number at the end of req.IssueURL.
func issueNumber(req Request) int {
	if req.Issue > 0 {
		return req.Issue
	}
	if m := issueURLNumber.FindStringSubmatch(req.IssueURL); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var branchUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// BranchFor is the fix branch of a fingerprint: deterministic, so a retry finds the earlier work.
func BranchFor(fingerprint string) string {
	return "fixloop/fix-" + short(fingerprint)
}

func short(fp string) string {
	s := branchUnsafe.ReplaceAllString(strings.TrimPrefix(fp, "fp-"), "-")
	s = strings.Trim(s, "-")
	if len(s) > 16 {
		s = s[:16]
	}
	if s == "" {
		s = "unknown"
	}
	return s
}

func bullets(items []string) string {
	var out []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, "- "+it)
		}
	}
	if len(out) == 0 {
		return "(none provided)"
	}
	return strings.Join(out, "\n")
}

func compactJSON(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// repoSlug names a working directory: owner-name from a repository URL or path.
// CloneDirFor is where the fixer clones repo for a fingerprint under workDir (one clone per failure).
func CloneDirFor(workDir, repo, fingerprint string) string {
	return filepath.Join(workDir, repoSlug(repo)+"-"+short(fingerprint))
}

func repoSlug(repo string) string {
	u := repo
	if p, err := url.Parse(repo); err == nil && p.Path != "" {
		u = p.Path
	}
	u = strings.TrimSuffix(strings.Trim(u, "/"), ".git")
	parts := strings.Split(u, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	s := branchUnsafe.ReplaceAllString(strings.Join(parts, "-"), "-")
	if s == "" {
		s = "repo"
	}
	return s
}
