package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/agents/fixer"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/opencode"
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
		cfg := fixerConfig(env.Config)
		oc, err := opencode.NewClient(url)
		if err != nil {
			return nil, fmt.Errorf("--opencode-url / FIXLOOP_OPENCODE_URL: %w", err)
		}
		cfg.OpenCode, cfg.Store, cfg.GitHub, cfg.Logger, cfg.Redactor = oc, env.Store, env.GitHub, env.Logger, env.Deps.Redactor
		cfg.Notifier = slackNotifier(env.Config, env.Deps.Redactor, env.Logger)
		f, err := fixer.New(cfg)
		if err != nil {
			return nil, err
		}
		a := f.Agent()
		return &a, nil
	})
	rootCmd.AddCommand(newFixCmd())
}

func newFixCmd() *cobra.Command {
	var (
		req                    fixer.Request
		planFile, findingsFile string
	)
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Hand a fix plan to OpenCode and return the verified pull request (prints the plan when no model is configured)",
		Long: `Runs the fixer agent once, in-process: clones the repository, hands the plan to OpenCode, streams its
progress and verifies the pull request through the GitHub API. Without a model (--llm-base-url /
FIXLOOP_LLM_BASE_URL, or GEMINI_API_KEY) and without --opencode-url it prints the plan it would hand over
and how to enable the step.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), nil)
			if err != nil {
				return usageError("%v", err)
			}
			if err := readFixInputs(&req, planFile, findingsFile); err != nil {
				return err
			}
			prompt, err := fixer.PlanFor(req)
			if err != nil {
				return usageError("%v", err)
			}
			model, haveModel := openCodeProvider(cfg.LLM)
			if !haveModel && cfg.Fixer.OpenCodeURL == "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Plan the fixer would hand to OpenCode:\n\n%s\n\n%s\n", prompt, fixer.EnableHelp())
				return nil
			}
			return runFix(cmd.Context(), cmd, cfg, req, model)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.RepoURL, "repo-url", "", "https URL of the repository on the configured GitHub host (fixloop clones from that host)")
	f.StringVar(&req.Repo, "repo", "", "owner/name on GitHub (derived from --repo-url when omitted)")
	f.StringVar(&req.BaseBranch, "base", "main", "base branch")
	f.IntVar(&req.Issue, "issue", 0, "issue number to link the pull request to")
	f.StringVar(&req.IssueURL, "issue-url", "", "issue URL (alternative to --issue)")
	f.StringVar(&req.Fingerprint, "fingerprint", "", "failure fingerprint (one session, branch and PR per fingerprint)")
	f.StringVar(&req.Title, "title", "", "short title of the failure")
	f.StringVar(&planFile, "plan-file", "", "markdown plan to hand over")
	f.StringVar(&findingsFile, "findings-file", "", "verdict/findings JSON to build the plan from (fix_plan skill)")
	config.AddFlags(f, "state-dir", "log-", "llm-", "github-", "opencode-", "fixer-")
	f.SetNormalizeFunc(fixFlagAliases)
	return cmd
}

// fixFlagAliases keeps the flag names fix had before its settings moved to the settings table.
func fixFlagAliases(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "github-url":
		name = "github-base-url"
	case "workdir":
		name = "fixer-workdir"
	case "timeout":
		name = "fixer-timeout"
	}
	return pflag.NormalizedName(name)
}

func readFixInputs(req *fixer.Request, planFile, findingsFile string) error {
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
	return nil
}

func runFix(ctx context.Context, cmd *cobra.Command, cfg *config.Config, req fixer.Request, model opencode.ProviderConfig) error {
	out := cmd.OutOrStdout()
	logger := cfg.Logger(cmd.ErrOrStderr())
	gh, err := githubClient(cfg, nil, logger)
	if err != nil {
		return err
	}
	if gh == nil {
		return usageError("no GitHub configured: set FIXLOOP_GITHUB_TOKEN (github.com) or --github-base-url (e.g. the local sink from `fixloop github-sink`)")
	}
	st, err := openStateStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	openCodeURL := cfg.Fixer.OpenCodeURL
	if openCodeURL == "" {
		fmt.Fprintln(out, "starting opencode serve with the configured model ...")
		srv, err := opencode.StartServer(ctx, opencode.ServerOptions{Provider: model})
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
	fc := fixerConfig(cfg)
	fc.OpenCode, fc.Store, fc.GitHub, fc.Logger = oc, st, gh, logger
	// The CLI caller is the operator: the repository named on the command line is the allow-list (the
	// URL rules still apply: https on the configured GitHub host only).
	fc.Repos = []string{"*/*"}
	fx, err := fixer.New(fc)
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
