package opencode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Issue 14: OpenCode ran with GH_TOKEN and every other secret of fixloop's environment; a steered agent
// could print them. Only the variables a process needs pass.
func TestOpenCodeEnvironmentCarriesNoCredentials(t *testing.T) {
	for _, k := range []string{"GH_TOKEN", "GITHUB_TOKEN", "FIXLOOP_GITHUB_TOKEN", "FIXLOOP_LLM_API_KEY", "AWS_SECRET_ACCESS_KEY", "FIXLOOP_A2A_TOKEN"} {
		t.Setenv(k, "secret-"+k)
	}
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	env := strings.Join(filteredEnv(), "\n")
	if strings.Contains(env, "secret-") {
		t.Errorf("a credential reached OpenCode's environment:\n%s", env)
	}
	for _, want := range []string{"PATH=", "HTTPS_PROXY=http://proxy.example:3128"} {
		if !strings.Contains(env, want) {
			t.Errorf("OpenCode's environment lacks %s", want)
		}
	}
}

// Issue 14: bash and edits were allowed everywhere, external directories too. Now nothing is allowed
// unless listed, and no network tool or git transport command is.
func TestOpenCodePermissionsAreNarrow(t *testing.T) {
	for _, gemini := range []bool{false, true} {
		var cfg struct {
			Permission map[string]any `json:"permission"`
		}
		if err := json.Unmarshal(Config(ProviderConfig{BaseURL: "http://127.0.0.1:1/v1", Gemini: gemini, APIKey: "k"}), &cfg); err != nil {
			t.Fatal(err)
		}
		p := cfg.Permission
		for k, want := range map[string]string{"*": "deny", "webfetch": "deny", "websearch": "deny", "external_directory": "deny", "edit": "allow"} {
			if p[k] != want {
				t.Errorf("gemini=%v: permission %s = %v, want %s", gemini, k, p[k], want)
			}
		}
		bash, ok := p["bash"].(map[string]any)
		if !ok || bash["*"] != "deny" {
			t.Fatalf("bash must default to deny: %v", p["bash"])
		}
		for k, v := range bash {
			if v == "allow" && !(strings.HasPrefix(k, "git ") || strings.HasPrefix(k, "go ")) {
				t.Errorf("bash rule %q allows more than git/go commands", k)
			}
			for _, bad := range []string{"push", "fetch", "clone", "remote", "config", "curl", "wget"} {
				if v == "allow" && strings.Contains(k, bad) {
					t.Errorf("bash rule %q = allow", k)
				}
			}
		}
		for _, must := range []string{"git push *", "git -c *", "git config *"} {
			if bash[must] != "deny" {
				t.Errorf("bash %q = %v, want deny", must, bash[must])
			}
		}
	}
}

// The container image writes its own config (docker/opencode/entrypoint.sh); its rules must be these,
// and it must listen on loopback only (its API has no authentication).
func TestImageEntrypointUsesTheSamePermissionsOnLoopback(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker", "opencode", "entrypoint.sh"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	m := regexp.MustCompile(`perm='"permission":(\{.*\})'`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("entrypoint.sh has no perm='\"permission\":{...}' line")
	}
	var got, want any
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Fatalf("entrypoint permissions are not JSON: %v", err)
	}
	raw, _ := json.Marshal(Permissions())
	_ = json.Unmarshal(raw, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entrypoint permissions differ from Permissions():\n%s\n%s", m[1], raw)
	}
	if !strings.Contains(script, "--hostname 127.0.0.1") || strings.Contains(script, "0.0.0.0") {
		t.Error("the image's OpenCode must listen on 127.0.0.1 only")
	}
}
