package fixloopserve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// aiPluginContext and aiPluginRequest are what argoproj-labs/rollouts-plugin-metric-ai sends in agent
// mode: its structs in its field order, written from its source rather than taken from fixloop's
// decoder, so a drift in fixloop's JSON names shows in the tests.
type aiPluginContext struct {
	Namespace      string `json:"namespace"`
	RolloutName    string `json:"rolloutName"`
	StableSelector string `json:"stableSelector"`
	CanarySelector string `json:"canarySelector"`
	ExtraPrompt    string `json:"extraPrompt,omitempty"`
	RepoURL        string `json:"repoUrl,omitempty"`
	BaseBranch     string `json:"baseBranch,omitempty"`
}

type aiPluginRequest struct {
	UserID   string          `json:"userId"`
	Prompt   string          `json:"prompt"`
	Context  aiPluginContext `json:"context"`
	MemoryID string          `json:"memoryId"`
}

// AnalyzeAsAIPlugin POSTs to base's /a2a/analyze what the AI metric plugin sends for ns/rollout (pods
// labelled role=stable and role=canary, repository github.com/repo on main, the operator's extraPrompt
// extra) and returns the answer's body; a status other than 200 is an error.
func AnalyzeAsAIPlugin(base, ns, rollout, repo, extra string, timeout time.Duration) ([]byte, error) {
	prompt := fmt.Sprintf("Analyze canary deployment for rollout '%s'. Namespace: %s. Use your tools to fetch and compare logs from stable pods (selector: role=stable) vs canary pods (selector: role=canary). Determine if canary should be promoted.", rollout, ns)
	if extra != "" {
		prompt += "\n\nAdditional context: " + extra
	}
	body, err := json.Marshal(aiPluginRequest{UserID: "argo-rollouts", Prompt: prompt, MemoryID: "rollout:" + ns + "/" + rollout,
		Context: aiPluginContext{Namespace: ns, RolloutName: rollout, StableSelector: "role=stable", CanarySelector: "role=canary", ExtraPrompt: extra,
			RepoURL: "https://github.com/" + repo, BaseBranch: "main"}})
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: timeout}).Post(base+"/a2a/analyze", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST /a2a/analyze = %d %s", resp.StatusCode, raw)
	}
	return raw, nil
}
