package main

import (
	"path/filepath"

	"github.com/fixloop/fixloop/agents/fixer"
	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/opencode/scriptedllm"
)

// The demo's stand-in model: with no model configured but OpenCode installed, OpenCode runs on a
// local scripted server that replays the edit a model would make, so a newcomer sees the branch, the
// pull request in the local forge and fixloop's check that it exists. It is labelled on screen.
const standInModel = "scripted-stand-in"

// startStandIn starts the scripted model for the bad canary's fix; nil when OpenCode is not installed.
func (d *demo) startStandIn(fingerprint, workDir string) *scriptedllm.Server {
	if _, err := opencode.FindBinary(); err != nil {
		return nil
	}
	srv := scriptedllm.New(standInScript(fixer.CloneDirFor(workDir, demoRepo, fingerprint)))
	srv.Title = "Fix the palette index"
	if err := srv.Start(); err != nil {
		d.say("starting the stand-in model: %v", err)
		return nil
	}
	return srv
}

// standInScript is the fix a model would make in the demo repository cloned at dir (seedDemoRepo's
// palette.go): read, edit with OpenCode's edit tool, commit with bash; fixloop pushes and opens the PR.
func standInScript(dir string) scriptedllm.Script {
	file := filepath.Join(dir, "palette.go")
	return scriptedllm.Script{Steps: []scriptedllm.Step{
		{Text: "Reading the palette lookup the panic points at.", ToolCalls: []scriptedllm.ToolCall{{Name: "read", Args: map[string]any{"filePath": file}}}},
		{ToolCalls: []scriptedllm.ToolCall{{Name: "edit", Args: map[string]any{"filePath": file,
			"oldString": "Palette[n%len(Palette)+1]", "newString": "Palette[n%len(Palette)]"}}}},
		{ToolCalls: []scriptedllm.ToolCall{{Name: "bash", Args: map[string]any{
			"description": "commit the fix",
			"command":     "git commit -qam 'palette: index within the palette (the +1 ran one past the end)'",
		}}}},
		{Text: "Fixed the palette lookup: Palette[n%len(Palette)+1] indexed one past the end; it now stays in range."},
	}}
}

// standInEnv points the fixer's OpenCode at the stand-in (an OpenAI-compatible server on 127.0.0.1).
func standInEnv(srv *scriptedllm.Server) []string {
	return []string{"FIXLOOP_LLM_BASE_URL=" + srv.URL, "FIXLOOP_LLM_MODEL=" + standInModel, "FIXLOOP_LLM_API_KEY=stand-in"}
}
