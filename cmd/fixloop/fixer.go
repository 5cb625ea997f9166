package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/agents/fixer"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/internal/store"
)

func init() {
	// `fixloop serve` mounts the fixer at /agents/fixer when an OpenCode server is configured.
	registerAgent(func(env AgentEnv) (*agents.Agent, error) {
		url := env.Config.Fixer.OpenCodeURL
		if url == "" {
			return nil, nil
		}
		if env.GitHub == nil {
			env.Logger.Warn("fixer agent not mounted: it needs GitHub (FIXLOOP_GITHUB_TOKEN or FIXLOOP_GITHUB_URL) to verify pull requests")
			return nil, nil
		}
		cfg, err := fixerConfigFromEnv(env.Config.StateDir)
		if err != nil {
			return nil, err
		}
		oc, err := opencode.NewClient(url)
		if err != nil {
			return nil, fmt.Errorf("--opencode-url / FIXLOOP_OPENCODE_URL: %w", err)
		}
		cfg.OpenCode, cfg.Store, cfg.GitHub, cfg.Logger, cfg.Redactor = oc, env.Store, env.GitHub, env.Logger, env.Deps.Redactor
		f, err := fixer.New(cfg)
		if err != nil {
			return nil, err
		}
		a := f.Agent()
		return &a, nil
	})
	rootCmd.AddCommand(newFixCmd())
}

// fixerConfigFromEnv reads FIXLOOP_FIXER_WORKDIR, FIXLOOP_FIXER_TIMEOUT, FIXLOOP_FIXER_CONCURRENCY,
// FIXLOOP_FIXER_RETRY_LIMIT and FIXLOOP_OPENCODE_MODEL (provider/model).
func fixerConfigFromEnv(stateDir string) (fixer.Config, error) {
	var c fixer.Config
	c.WorkDir = os.Getenv("FIXLOOP_FIXER_WORKDIR")
	if c.WorkDir == "" {
		c.WorkDir = filepath.Join(stateDir, "work")
	}
	if v := os.Getenv("FIXLOOP_FIXER_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("FIXLOOP_FIXER_TIMEOUT=%q: want a duration like 20m: %w", v, err)
		}
		c.Timeout = d
	}
	for _, kv := range []struct {
		env string
		dst *int
	}{{"FIXLOOP_FIXER_CONCURRENCY", &c.MaxConcurrent}, {"FIXLOOP_FIXER_RETRY_LIMIT", &c.RetryLimit}} {
		if v := os.Getenv(kv.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return c, fmt.Errorf("%s=%q: want a positive integer", kv.env, v)
			}
			*kv.dst = n
		}
	}
	if v := os.Getenv("FIXLOOP_OPENCODE_MODEL"); v != "" {
		p, m, ok := strings.Cut(v, "/")
		if !ok {
			return c, fmt.Errorf("FIXLOOP_OPENCODE_MODEL=%q: want provider/model", v)
		}
		c.ProviderID, c.ModelID = p, m
	}
	return c, nil
}

func newFixCmd() *cobra.Command {
	var (
		req                                            fixer.Request
		planFile, findingsFile, openCodeURL, githubURL string
		stateDir, workDir                              string
		timeout                                        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Hand a fix plan to OpenCode and return the verified pull request (prints the plan when no model is configured)",
		Long: `Runs the fixer agent once, in-process: clones the repository, hands the plan to OpenCode, streams its
progress and verifies the pull request through the GitHub API. Without a model (FIXLOOP_LLM_BASE_URL or
GEMINI_API_KEY) and without --opencode-url it prints the plan it would hand over and how to enable the step.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if planFile != "" {
				b, err := os.ReadFile(planFile)
				if err != nil {
					return usageError("--plan-file: %v", err)
				}
				req.Plan = string(b)
			}
			if findingsFile != "" {
				b, err := os.ReadFile(findingsFile)
				if err != nil {
					return usageError("--findings-file: %v", err)
				}
				req.Findings = &fixer.Findings{}
				if err := json.Unmarshal(b, req.Findings); err != nil {
					return usageError("--findings-file %s is not a findings/verdict JSON object: %v", findingsFile, err)
				}
			}
			prompt, err := fixer.PlanFor(req)
			if err != nil {
				return usageError("%v", err)
			}
			llm, haveLLM := fixer.LLMFromEnv()
			if !haveLLM && openCodeURL == "" {
				fmt.Fprintf(out, "Plan the fixer would hand to OpenCode:\n\n%s\n\n%s\n", prompt, fixer.EnableHelp())
				return nil
			}
			return runFix(cmd.Context(), cmd, req, llm, openCodeURL, githubURL, stateDir, workDir, timeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.RepoURL, "repo-url", "", "git clone URL of the repository (or a local path)")
	f.StringVar(&req.Repo, "repo", "", "owner/name on GitHub (derived from --repo-url when omitted)")
	f.StringVar(&req.BaseBranch, "base", "main", "base branch")
	f.IntVar(&req.Issue, "issue", 0, "issue number to link the pull request to")
	f.StringVar(&req.IssueURL, "issue-url", "", "issue URL (alternative to --issue)")
	f.StringVar(&req.Fingerprint, "fingerprint", "", "failure fingerprint (one session, branch and PR per fingerprint)")
	f.StringVar(&req.Title, "title", "", "short title of the failure")
	f.StringVar(&planFile, "plan-file", "", "markdown plan to hand over")
	f.StringVar(&findingsFile, "findings-file", "", "verdict/findings JSON to build the plan from (fix_plan skill)")
	f.StringVar(&openCodeURL, "opencode-url", os.Getenv("FIXLOOP_OPENCODE_URL"), "running `opencode serve`; empty starts one locally with the configured model")
	f.StringVar(&githubURL, "github-url", os.Getenv("FIXLOOP_GITHUB_URL"), "GitHub API root (GitHub Enterprise or a local sink); token from FIXLOOP_GITHUB_TOKEN")
	f.StringVar(&stateDir, "state-dir", envOr("FIXLOOP_STATE_DIR", ".fixloop"), "state directory (SQLite store)")
	f.StringVar(&workDir, "workdir", os.Getenv("FIXLOOP_FIXER_WORKDIR"), "where clones go (default <state-dir>/work)")
	f.DurationVar(&timeout, "timeout", 20*time.Minute, "abort the OpenCode session after this long")
	return cmd
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func runFix(ctx context.Context, cmd *cobra.Command, req fixer.Request, llm opencode.ProviderConfig, openCodeURL, githubURL, stateDir, workDir string, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	gc := github.ConfigFromEnv()
	if githubURL != "" {
		gc.BaseURL = githubURL
	}
	if gc.Token == "" && gc.BaseURL == "" {
		return usageError("no GitHub configured: set FIXLOOP_GITHUB_TOKEN (github.com) or --github-url (e.g. the local sink from `fixloop github-sink`)")
	}
	gc.Redactor = redact.Default()
	gh, err := github.New(gc)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, stateDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if workDir == "" {
		workDir = filepath.Join(stateDir, "work")
	}
	if openCodeURL == "" {
		fmt.Fprintln(out, "starting opencode serve with the configured model ...")
		srv, err := opencode.StartServer(ctx, opencode.ServerOptions{Provider: llm})
		if err != nil {
			return fmt.Errorf("start OpenCode (run hack/install-opencode.sh first): %w", err)
		}
		defer srv.Stop()
		openCodeURL = srv.URL
		fmt.Fprintln(out, "opencode serve listening on", srv.URL)
	}
	oc, err := opencode.NewClient(openCodeURL)
	if err != nil {
		return err
	}
	cfg, err := fixerConfigFromEnv(stateDir)
	if err != nil {
		return err
	}
	cfg.OpenCode, cfg.Store, cfg.GitHub, cfg.WorkDir, cfg.Timeout = oc, st, gh, workDir, timeout
	fx, err := fixer.New(cfg)
	if err != nil {
		return err
	}
	res, err := fx.Fix(ctx, req, func(s string) { fmt.Fprintln(out, "  •", s) })
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintln(out, string(b))
	if res.Status != fixer.StatusPROpen {
		return fmt.Errorf("fix ended with status %s: %s", res.Status, res.Error)
	}
	return nil
}
