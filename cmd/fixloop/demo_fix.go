package main

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fixloop/fixloop/agents/fixer"
	"github.com/fixloop/fixloop/internal/github/ghsink"
)

func (d *demo) showIssues() *ghsink.Issue {
	sink, err := ghsink.New(ghsink.Options{StateFile: filepath.Join(d.dir, "github", "state.json")})
	if err != nil {
		d.say("reading the issue sink: %v", err)
		return nil
	}
	issues := sink.Issues(demoRepo)
	if len(issues) == 0 {
		d.say("no issue was opened (unexpected for an aborted canary: see %s)", filepath.Join(d.dir, "logs", "fixloop-serve.log"))
		return nil
	}
	for _, is := range issues {
		d.say("%s#%d [%s] %s", demoRepo, is.Number, is.State, is.Title)
		var labels []string
		for _, l := range is.Labels {
			labels = append(labels, l.Name)
		}
		d.say("labels: %s; comments: %d", strings.Join(labels, ", "), len(sink.Comments(demoRepo, is.Number)))
		for i, line := range strings.Split(is.Body, "\n") {
			if i == 25 {
				d.say("│ ... (full body: bin/fixloop github-sink --print --state %s)", filepath.Join(d.dir, "github", "state.json"))
				break
			}
			d.say("│ %s", line)
		}
	}
	is := issues[len(issues)-1]
	return &is
}

func (d *demo) showFix(ctx context.Context, issue *ghsink.Issue) {
	if issue == nil {
		d.say("no issue, so nothing to hand to the fixer")
		return
	}
	req := fixer.Request{Repo: demoRepo, BaseBranch: "main", IssueNumber: issue.Number, Fingerprint: fingerprintFromLabels(issue), Plan: issue.Body}
	plan, err := fixer.PlanFor(req)
	if err != nil {
		d.say("building the plan: %v", err)
		return
	}
	workDir := filepath.Join(d.dir, "fixer-state", "work")
	var modelEnv []string
	if _, ok := openCodeProvider(d.llm); !ok {
		standIn := d.startStandIn(req.Fingerprint, workDir)
		if standIn == nil { // OpenCode is not installed: show the plan and how to turn the step on
			d.printPlan(plan)
			return
		}
		defer standIn.Close()
		modelEnv = standInEnv(standIn)
		d.say("%s", d.term.bold("No LLM is configured: OpenCode runs on a SCRIPTED STAND-IN model (not a real LLM)"))
		d.say("that replays a prepared fix, so you see the branch, the pull request and fixloop's check that it exists.")
		d.say("With a model configured (FIXLOOP_LLM_BASE_URL or GEMINI_API_KEY) this step is real.")
	}
	planFile := filepath.Join(d.dir, "github", "plan.md")
	if err := os.WriteFile(planFile, []byte(issue.Body), 0o644); err != nil {
		d.say("writing the plan: %v", err)
		return
	}
	d.say("The fixer drives OpenCode on %s (a local stand-in for github.com/%s) ...", d.repo, demoRepo)
	// The sink serves the bare repository over git's smart HTTP, as github.com would: the fixer clones
	// from and pushes to the configured GitHub host only.
	cmd := exec.CommandContext(ctx, d.self, "fix", "--repo", demoRepo, "--issue", fmt.Sprint(issue.Number),
		"--fingerprint", req.Fingerprint, "--plan-file", planFile, "--github-url", d.sinkURL,
		"--state-dir", filepath.Join(d.dir, "fixer-state"), "--fixer-workdir", workDir)
	cmd.Env = append(append(os.Environ(), "FIXLOOP_GITHUB_TOKEN=demo-token"), modelEnv...)
	out := indent{d.out}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		d.say("the fixer did not open a pull request: %v (its progress is above)", err)
	}
	sink, err := ghsink.New(ghsink.Options{StateFile: filepath.Join(d.dir, "github", "state.json")})
	if err == nil {
		for _, p := range sink.Pulls(demoRepo) {
			d.say("pull request #%d [%s] %s (%s → %s)", p.Number, p.State, p.Title, p.Head.Ref, p.Base.Ref)
		}
	}
}

// demoRepoFiles is the demo shop's source; ".tmpl" keeps the Go tools from treating it as part of
// fixloop (and its go.mod from making it a separate module embed cannot reach).
//
//go:embed demorepo/*.tmpl
var demoRepoFiles embed.FS

func writeDemoRepoFiles(dir string) error {
	entries, err := demoRepoFiles.ReadDir("demorepo")
	if err != nil {
		return err
	}
	for _, e := range entries {
		body, err := demoRepoFiles.ReadFile("demorepo/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(e.Name(), ".tmpl")), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// seedDemoRepo creates a bare repository holding a tiny version of the demo app's palette code with
// the bug the bad release ships (an index out of range), so the fixer has a real repository to fix.
func seedDemoRepo(bare string) error {
	if _, err := os.Stat(filepath.Join(bare, "HEAD")); err == nil {
		return nil
	}
	work, err := os.MkdirTemp("", "fixloop-demo-repo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := writeDemoRepoFiles(work); err != nil {
		return err
	}
	git := func(dir string, args ...string) error {
		c := exec.Command("git", args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=fixloop demo", "GIT_AUTHOR_EMAIL=demo@fixloop.invalid",
			"GIT_COMMITTER_NAME=fixloop demo", "GIT_COMMITTER_EMAIL=demo@fixloop.invalid")
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := os.MkdirAll(bare, 0o755); err != nil {
		return err
	}
	steps := [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "shop: colour palette"}}
	for _, st := range steps {
		if err := git(work, st...); err != nil {
			return err
		}
	}
	if err := git(bare, "init", "-q", "--bare", "-b", "main"); err != nil {
		return err
	}
	return git(work, "push", "-q", bare, "main")
}

func fingerprintFromLabels(is *ghsink.Issue) string {
	for _, l := range is.Labels {
		if fp, ok := strings.CutPrefix(l.Name, "fixloop:fp-"); ok {
			return fp
		}
	}
	return fmt.Sprintf("issue-%d", is.Number)
}

// printPlan shows the plan the fixer would hand to OpenCode and how to turn the fix step on.
func (d *demo) printPlan(plan string) {
	d.say("OpenCode is not installed, so this is the plan the fixer would hand to it:")
	for i, line := range strings.Split(plan, "\n") {
		if i == 30 {
			d.say("┊ ...")
			break
		}
		d.say("┊ %s", line)
	}
	fmt.Fprintln(d.out)
	for _, line := range strings.Split(fixer.EnableHelp(), "\n") {
		d.say("%s", line)
	}
}
