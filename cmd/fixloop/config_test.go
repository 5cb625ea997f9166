package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/fixloop/fixloop/internal/config"
)

func TestConfigCommandPrintsEffectiveConfigMasked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fixloop.yaml")
	if err := os.WriteFile(file, []byte("github:\n  token: ghp_notforprint\n  repo: acme/shop\nllm:\n  provider: openai\n  apiKey: sk-notforprint\na2a:\n  token: a2a-notforprint\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := newConfigCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--config", file, "--llm-model", "gpt-x", "--fixer-timeout", "3m"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "notforprint") {
		t.Errorf("a secret was printed:\n%s", s)
	}
	for _, want := range []string{"repo: acme/shop", "model: gpt-x", "timeout: 3m0s", "token: '********'", "provider: openai"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}

	list := newConfigCmd()
	out.Reset()
	list.SetOut(&out)
	list.SetArgs([]string{"--list"})
	if err := list.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FIXLOOP_A2A_TOKEN", "--public-url", "fixer.workDir", "GEMINI_API_KEY"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--list lacks %q", want)
		}
	}
}

// --llm-provider used to be accepted and ignored: the tools and agents now get the provider it names.
func TestLLMProviderFlagReachesTheTools(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Parse([]string{"--llm-provider", "openai", "--llm-base-url", "http://127.0.0.1:9/v1", "--github-base-url", "http://127.0.0.1:9/", "--github-repo", "acme/shop"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(fs, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d, err := buildDeps(cfg, cfg.Logger(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	if d.LLM == nil || d.LLM.Name() != "openai" {
		t.Errorf("deps LLM = %v, want the openai provider", d.LLM)
	}
	if d.GitHub == nil || d.GitHubRepo != "acme/shop" {
		t.Errorf("deps GitHub = %v repo %q", d.GitHub, d.GitHubRepo)
	}
	fc := fixerConfig(&config.Config{Fixer: config.Fixer{OpenCodeModel: "fixloop/coder"}})
	if fc.ProviderID != "fixloop" || fc.ModelID != "coder" {
		t.Errorf("fixer model = %s/%s", fc.ProviderID, fc.ModelID)
	}
	if p, ok := openCodeProvider(cfg.LLM); !ok || p.BaseURL != "http://127.0.0.1:9/v1" || p.Gemini {
		t.Errorf("OpenCode provider = %+v, %v", p, ok)
	}
}
