package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/fixloop/fixloop/agents/fixer"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/llm/providers"
	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/redact"
)

// The backends every subcommand shares are built here, once, from the validated configuration, and
// passed down (tools.Deps, agent configs): nothing below cmd reads settings itself.

// llmConfig is the judge's model settings from the one LLM configuration.
func llmConfig(l config.LLM) llm.Config {
	return llm.Config{Provider: l.Provider, Model: l.Model, BaseURL: l.BaseURL, APIKey: l.APIKey, MaxPromptTokens: l.MaxPromptTokens}
}

// llmProvider builds the judge's model; nil when the provider is none.
func llmProvider(cfg *config.Config) (llm.Provider, error) {
	p, err := providers.New(llmConfig(cfg.LLM))
	if err != nil {
		return nil, fmt.Errorf("LLM (--llm-provider / FIXLOOP_LLM_PROVIDER): %w", err)
	}
	return p, nil
}

// openAIBaseURL is where provider openai goes without --llm-base-url (OpenCode needs a URL).
const openAIBaseURL = "https://api.openai.com/v1"

// openCodeProvider is the model a locally started OpenCode uses: the same LLM settings as the judge.
// ok is false when no model is configured.
func openCodeProvider(l config.LLM) (p opencode.ProviderConfig, ok bool) {
	switch l.Provider {
	case "gemini":
		return opencode.ProviderConfig{Gemini: true, APIKey: l.APIKey, Model: l.Model}, true
	case "openai":
		base := l.BaseURL
		if base == "" {
			base = openAIBaseURL
		}
		return opencode.ProviderConfig{BaseURL: base, APIKey: l.APIKey, Model: l.Model}, true
	}
	return opencode.ProviderConfig{}, false
}

// githubClient builds the GitHub client (token and base URL; the local sink needs no token). nil
// when neither is set: open_issue and the agents then say "no GitHub configured".
func githubClient(cfg *config.Config, r *redact.Redactor, logger *slog.Logger) (github.Client, error) {
	g := cfg.GitHub
	if g.Token == "" && g.BaseURL == "" {
		return nil, nil
	}
	gc := github.Config{Token: g.Token, BaseURL: g.BaseURL, Labels: g.Labels, Assignees: g.Assignees, Redactor: redact.Default(), Logger: logger}
	if r != nil { // a nil *Redactor in the interface would not read as nil
		gc.Redactor = r
	}
	c, err := github.New(gc)
	if err != nil {
		return nil, fmt.Errorf("github (FIXLOOP_GITHUB_TOKEN / --github-base-url): %w", err)
	}
	return c, nil
}

// fixerConfig is the fixer agent's settings; the caller adds its backends (OpenCode, store, GitHub).
func fixerConfig(cfg *config.Config) fixer.Config {
	f := cfg.Fixer
	c := fixer.Config{WorkDir: f.WorkDir, Timeout: f.Timeout.Duration, MaxConcurrent: f.Concurrency, RetryLimit: f.RetryLimit}
	c.ProviderID, c.ModelID, _ = strings.Cut(f.OpenCodeModel, "/") // validated as provider/model
	// Which repositories, on which host, with fixloop's own token: OpenCode gets none of these.
	c.Repos, c.CloneBase, c.PushToken = f.Repos, fixer.CloneBaseFor(cfg.GitHub.BaseURL), cfg.GitHub.Token
	return c
}
