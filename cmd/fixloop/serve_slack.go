package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/agents/triage"
	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	fxslack "github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// slackEnv is what the Slack commands call: the MCP tools' functions and the agents mounted in this process.
type slackEnv struct {
	deps   tools.Deps
	triage *triage.Triage
	host   *agents.Host
	audit  *auth.Audit
	store  store.Store
}

// newSlackBridge builds the bridge when Slack is configured (nil otherwise).
func newSlackBridge(cfg *config.Config, env slackEnv, logger *slog.Logger) *fxslack.Bridge {
	if cfg.Slack.BotToken == "" || (cfg.Slack.SigningSecret == "" && cfg.Slack.AppToken == "") {
		return nil
	}
	opts := []slack.Option{}
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimSuffix(cfg.Slack.APIURL, "/")+"/"))
	}
	if cfg.Slack.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.Slack.AppToken))
	}
	b := &fxslack.Bridge{SigningSecret: cfg.Slack.SigningSecret, Client: slack.New(cfg.Slack.BotToken, opts...),
		Redactor: env.deps.Redactor, Logger: logger, Audit: env.audit, State: slackState(env.store),
		AllowedUsers: cfg.Slack.AllowedUsers, AllowedGroups: cfg.Slack.AllowedGroups,
		Commands: map[string]fxslack.Command{"status": env.status, "analyze": env.analyze, "investigate": env.investigate}}
	if !cfg.ReadOnly { // --read-only removes every write path, Slack's included
		b.Writes = map[string]fxslack.Write{
			"promote": {Action: "promote_rollout", Check: checkPromote, Run: env.promote},
			"abort":   {Action: "abort_rollout", Check: checkRollout("abort rollout"), Run: env.abort},
			"issue":   {Action: "open_issue", Check: checkRollout("file the issue for rollout"), Run: env.fileIssue},
			"fix":     {Action: "fix_issue", Check: checkFix, Run: env.fix, Timeout: 45 * time.Minute},
		}
	}
	if env.host != nil {
		if h, ok := env.host.Handler("triage"); ok {
			b.Converse = func(ctx context.Context, in fxslack.Turn, progress func(string)) (*fxslack.Turn, error) {
				msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart(in.Text))
				msg.TaskID, msg.ContextID = a2a.TaskID(in.TaskID), in.ContextID
				return askAgent(ctx, h, msg, progress)
			}
		}
	}
	return b
}

// slackState shares the bridge's once-marks and thread memory through the store, so replicas on one
// PostgreSQL act on a press or a delivery once and any of them continues a thread's task.
func slackState(st store.Store) fxslack.State {
	if st == nil {
		return nil // the bridge keeps them in memory
	}
	return st
}

// mountSlack connects the bridge over Socket Mode when an app-level token is set (no public URL
// needed), and serves it over HTTP (slash command, Events API, interactivity) when a signing secret is.
// The HTTP routes skip bearer auth (serve_auth.go): Slack's request signature is checked instead.
// A refused app-level token is an error at start-up: serve would otherwise run with Slack unanswered.
func mountSlack(mux *http.ServeMux, cfg *config.Config, b *fxslack.Bridge, logger *slog.Logger) error {
	if b == nil {
		return nil
	}
	if cfg.Slack.AppToken != "" {
		// The loop lives as long as the process, like the other background loops of serve.
		err := b.ConnectSocketMode(context.Background(), 15*time.Second, func(err error) {
			logger.Error("slack socket mode stopped: Slack refused the app-level token (FIXLOOP_SLACK_APP_TOKEN); Slack gets no answers until it is replaced and fixloop restarted", "err", err)
		})
		if err != nil {
			return usageError("Slack Socket Mode: Slack refused the app-level token (FIXLOOP_SLACK_APP_TOKEN / SLACK_APP_TOKEN, an xapp- token with connections:write): %v", err)
		}
		logger.Info("slack bridge on over socket mode")
	}
	if cfg.Slack.SigningSecret == "" {
		return nil
	}
	mux.Handle("POST /slack/commands", b.SlashHandler())
	mux.Handle("POST /slack/events", b.EventsHandler())
	mux.Handle("POST /slack/interactions", b.InteractionHandler())
	logger.Info("slack bridge on", "commands", "/slack/commands", "events", "/slack/events", "interactions", "/slack/interactions")
	return nil
}

// rolloutArg parses "<namespace>/<name>".
func rolloutArg(args []string, what string) (string, string, error) {
	if len(args) == 0 {
		return "", "", fmt.Errorf("usage: %s <namespace>/<name>", what)
	}
	ns, name, ok := strings.Cut(args[0], "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("usage: %s <namespace>/<name> (got %q)", what, args[0])
	}
	return ns, name, nil
}

func checkRollout(what string) func([]string) (string, error) {
	return func(args []string) (string, error) {
		ns, name, err := rolloutArg(args, strings.Fields(what)[0])
		if err != nil || len(args) > 1 {
			return "", errors.Join(err, errors.New("usage: "+strings.Fields(what)[0]+" <namespace>/<rollout>"))
		}
		return fmt.Sprintf("%s %s/%s", what, ns, name), nil
	}
}

func checkPromote(args []string) (string, error) {
	ns, name, err := rolloutArg(args, "promote")
	if err != nil || len(args) > 2 || (len(args) == 2 && args[1] != "--full") {
		return "", errors.New("usage: promote <namespace>/<rollout> [--full]")
	}
	if len(args) == 2 {
		return fmt.Sprintf("promote rollout %s/%s fully (skip the remaining steps and analysis)", ns, name), nil
	}
	return fmt.Sprintf("promote rollout %s/%s to its next step", ns, name), nil
}

// status is get_architecture's detail of one rollout.
func (e slackEnv) status(ctx context.Context, args []string, _ func(string)) (*fxslack.Reply, error) {
	ns, name, err := rolloutArg(args, "status")
	if err != nil {
		return nil, err
	}
	out, err := tools.GetArchitecture(ctx, e.deps, tools.GetArchitectureInput{Namespace: ns, Workload: "rollout/" + name})
	if err != nil {
		return nil, err
	}
	if len(out.Workloads) == 0 || out.Workloads[0].Rollout == nil {
		return nil, fmt.Errorf("rollout %s/%s not found", ns, name)
	}
	w := out.Workloads[0]
	ro := w.Rollout
	text := fmt.Sprintf("*%s/%s*: %s, %d/%d ready, pods %d running %d restarts", ns, name, ro.Phase, w.Ready, w.Desired, w.Pods.Running, w.Pods.Restarts)
	if ro.CurrentStep != "" {
		text += fmt.Sprintf("\nstep %s of %d", ro.CurrentStep, ro.Steps)
	}
	if ro.SetWeight != nil {
		text += fmt.Sprintf(", canary weight %d%%", *ro.SetWeight)
	}
	if ro.Paused {
		text += ", paused"
	}
	if ro.Aborted {
		text += ", aborted"
	}
	if ro.Message != "" {
		text += "\n" + ro.Message
	}
	return &fxslack.Reply{Text: text}, nil
}

// analyze is the triage agent's analyze_canary, verdict only (filing an issue is a write: it follows
// a confirmed abort); the answer offers the write its verdict calls for.
func (e slackEnv) analyze(ctx context.Context, args []string, progress func(string)) (*fxslack.Reply, error) {
	ns, name, err := rolloutArg(args, "analyze")
	if err != nil {
		return nil, err
	}
	if e.triage == nil {
		return nil, errors.New("the triage agent is not running")
	}
	res, err := e.triage.AnalyzeCanary(ctx, triage.AnalyzeInput{Namespace: ns, Rollout: name, NoIssue: true}, "", triage.Progress(progress))
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("*%s* %s/%s (confidence %d): %s", res.Verdict, ns, name, res.Confidence, res.Analysis)
	if res.RootCause != "" {
		text += "\nRoot cause: " + res.RootCause
	}
	if res.Report != "" {
		text += "\nReport: " + res.Report
	}
	target := ns + "/" + name
	reply := &fxslack.Reply{Text: text}
	switch res.Verdict {
	case triage.VerdictAbort:
		reply.Actions = []fxslack.Action{{Label: "Abort rollout", Command: "abort " + target}, {Label: "Promote anyway", Command: "promote " + target}}
	case triage.VerdictPromote:
		reply.Actions = []fxslack.Action{{Label: "Promote", Command: "promote " + target}}
	default:
		reply.Actions = []fxslack.Action{{Label: "Promote anyway", Command: "promote " + target}, {Label: "Abort rollout", Command: "abort " + target}}
	}
	return reply, nil
}

// investigate is the triage agent's investigate_service.
func (e slackEnv) investigate(ctx context.Context, args []string, progress func(string)) (*fxslack.Reply, error) {
	ns, name, err := rolloutArg(args, "investigate")
	if err != nil {
		return nil, err
	}
	if e.triage == nil {
		return nil, errors.New("the triage agent is not running")
	}
	res, err := e.triage.InvestigateService(ctx, triage.InvestigateInput{Namespace: ns, Workload: name}, triage.Progress(progress))
	if err != nil {
		return nil, err
	}
	return &fxslack.Reply{Text: res.Summary()}, nil
}

// promote is promote_rollout.
func (e slackEnv) promote(ctx context.Context, args []string, _ func(string)) (*fxslack.Reply, error) {
	ns, name, err := rolloutArg(args, "promote")
	if err != nil {
		return nil, err
	}
	out, err := tools.PromoteRollout(ctx, e.deps, tools.PromoteRolloutInput{Namespace: ns, Name: name, Full: len(args) == 2})
	if err != nil {
		return nil, err
	}
	return &fxslack.Reply{Text: actionText(out)}, nil
}

// fileIssue is the triage the rollout watcher starts for a failed revision (analysis, then the issue
// for an abort verdict or Argo's own failure), run for the Slack user who confirmed it.
func (e slackEnv) fileIssue(ctx context.Context, args []string, progress func(string)) (*fxslack.Reply, error) {
	ns, name, err := rolloutArg(args, "issue")
	if err != nil {
		return nil, err
	}
	turn, err := e.triageRollout(ctx, ns, name, progress)
	if err != nil {
		return nil, err
	}
	return &fxslack.Reply{Text: turn.Text}, nil
}

func (e slackEnv) triageRollout(ctx context.Context, ns, name string, progress func(string)) (*fxslack.Turn, error) {
	if e.host == nil {
		return nil, errors.New("the triage agent is not running")
	}
	h, ok := e.host.Handler("triage")
	if !ok {
		return nil, errors.New("the triage agent is not running")
	}
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"skill": triage.SkillAnalyzeCanary,
		"namespace": ns, "rollout": name, "trigger": triage.WatchTrigger}))
	return askAgent(ctx, h, msg, progress)
}

func checkFix(args []string) (string, error) {
	if len(args) != 1 || !issueURLRE.MatchString(strings.Trim(args[0], "<>")) {
		return "", errors.New("usage: fix <issue-url> (an issue fixloop filed, e.g. https://github.com/acme/shop/issues/12)")
	}
	return "start the fixer on " + strings.Trim(args[0], "<>"), nil
}

var issueURLRE = regexp.MustCompile(`^https?://[^/\s]+/[^/\s]+/[^/\s]+/issues/[0-9]+$`)

// fix hands an issue fixloop filed to the fixer agent mounted in this process (fixFiledIssue).
func (e slackEnv) fix(ctx context.Context, args []string, progress func(string)) (*fxslack.Reply, error) {
	turn, err := fixFiledIssue(ctx, e.store, e.host, strings.Trim(args[0], "<>"), progress) // Slack wraps links in <>
	if err != nil {
		return nil, err
	}
	return &fxslack.Reply{Text: turn.Text}, nil
}

// abort is abort_rollout, then the triage the rollout watcher would start for an aborted revision:
// it files (or comments on) the issue for the failure and hands the fix on.
func (e slackEnv) abort(ctx context.Context, args []string, progress func(string)) (*fxslack.Reply, error) {
	ns, name, err := rolloutArg(args, "abort")
	if err != nil {
		return nil, err
	}
	out, err := tools.AbortRollout(ctx, e.deps, tools.AbortRolloutInput{Namespace: ns, Name: name})
	if err != nil {
		return nil, err
	}
	text := actionText(out)
	if e.host == nil {
		return &fxslack.Reply{Text: text}, nil
	}
	progress(text + "; filing the issue")
	turn, err := e.triageRollout(ctx, ns, name, progress)
	if err != nil {
		return &fxslack.Reply{Text: text + "\nTriage failed: " + err.Error()}, nil
	}
	return &fxslack.Reply{Text: text + "\n" + turn.Text}, nil
}

func actionText(out *tools.RolloutActionOutput) string {
	ro := out.Rollout
	state := "no change needed"
	if out.Changed {
		state = "done"
	}
	return fmt.Sprintf("%s %s/%s: %s (phase %s)", out.Action, ro.Namespace, ro.Name, state, ro.Phase)
}

// askAgent sends msg to an agent mounted in this process and follows the task's stream: status lines
// go to progress, the answer is the final status message or the artifacts' text.
func askAgent(ctx context.Context, h a2asrv.RequestHandler, msg *a2a.Message, progress func(string)) (*fxslack.Turn, error) {
	turn := &fxslack.Turn{}
	var status, artifacts string
	var state a2a.TaskState
	for ev, err := range h.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: msg}) {
		if err != nil {
			return nil, err
		}
		switch v := ev.(type) {
		case *a2a.Task:
			turn.TaskID, turn.ContextID, state = string(v.ID), v.ContextID, v.Status.State
			status = agents.MessageText(v.Status.Message)
		case *a2a.TaskStatusUpdateEvent:
			turn.TaskID, turn.ContextID, state = string(v.TaskID), v.ContextID, v.Status.State
			if status = agents.MessageText(v.Status.Message); status != "" && state == a2a.TaskStateWorking {
				progress(status)
			}
		case *a2a.TaskArtifactUpdateEvent:
			for _, p := range v.Artifact.Parts {
				if t := p.Text(); t != "" {
					artifacts += t + "\n"
				}
			}
		case *a2a.Message:
			turn.ContextID, status = v.ContextID, agents.MessageText(v)
		}
	}
	turn.InputRequired = state == a2a.TaskStateInputRequired
	turn.Text = strings.TrimSpace(artifacts)
	if turn.Text == "" || turn.InputRequired {
		turn.Text = status
	}
	if state == a2a.TaskStateFailed || state == a2a.TaskStateRejected {
		return nil, fmt.Errorf("%s", strings.TrimSpace(status))
	}
	return turn, nil
}
