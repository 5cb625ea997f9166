package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/redact"
)

// Action IDs of the buttons on a notification. The interactivity endpoint (block_actions) dispatches on
// them; each button's value is an ActionRef (DecodeActionRef). Only allowed users may act on a press.
const (
	ActionPromoteAnyway = "fixloop_promote_anyway" // promote the rollout despite the verdict (Slack shows a confirm dialog first)
	ActionOpenIssue     = "fixloop_open_issue"     // file the GitHub issue for the verdict
	ActionStartFix      = "fixloop_start_fix"      // start the fixer on the verdict's issue
)

// Notice kinds: what happened.
const (
	NoticeAbort        = "abort"        // a canary verdict said abort
	NoticeInconclusive = "inconclusive" // a canary verdict could not decide
	NoticeIssue        = "issue"        // a GitHub issue was opened (or commented) for a failure
	NoticeFinding      = "finding"      // the monitor acted on a workload's findings
	NoticePullRequest  = "pull_request" // a fixer (fixloop's or a coding agent) opened a pull request
	NoticeHandoff      = "handoff"      // a coding agent's hand-off changed state
)

// Notice is one event posted to the notification channel. Every text field is redacted and escaped
// before it is posted; URLs are fixloop's own or GitHub's.
type Notice struct {
	Kind        string
	Namespace   string
	Target      string // rollout (canary verdicts) or workload (monitor findings)
	Verdict     string // promote | abort | inconclusive (canary verdicts)
	Confidence  int
	Summary     string // the verdict's analysis or the finding's evidence
	RootCause   string
	Fingerprint string
	Report      string // URL of the verdict's page (/reports/{id})
	Issue       string // GitHub issue URL
	PR          string // pull request URL
	Handoff     string // hand-off state: handed_off | agent_working | pr_open | pr_merged | pr_closed
	Fixer       string // who was handed the fix (label:jules, opencode, ...)
	Flagged     bool   // a hand-off with no pull request in time
}

// ActionRef is a button's value: what the press acts on. Slack signs the interactivity payload and
// users cannot edit a posted button's value, but the handler still re-checks what it names (the
// rollout exists, the caller is allowed) before it writes anything.
type ActionRef struct {
	Namespace   string `json:"ns"`
	Rollout     string `json:"ro,omitempty"`
	Workload    string `json:"wl,omitempty"`
	Fingerprint string `json:"fp,omitempty"`
	Report      string `json:"rep,omitempty"` // report URL
	Issue       string `json:"iss,omitempty"` // issue URL (start fix)
}

// maxActionValue is Slack's limit on a button value.
const maxActionValue = 2000

// Encode is the button value for ref.
func (ref ActionRef) Encode() string {
	b, _ := json.Marshal(ref)
	return string(b)
}

// DecodeActionRef reads a button value written by Encode.
func DecodeActionRef(value string) (ActionRef, error) {
	var ref ActionRef
	if len(value) > maxActionValue {
		return ref, errors.New("button value too long")
	}
	if err := json.Unmarshal([]byte(value), &ref); err != nil {
		return ref, fmt.Errorf("button value unreadable: %w", err)
	}
	if ref.Namespace == "" || ref.Rollout == "" && ref.Workload == "" {
		return ref, errors.New("button value names no namespace and rollout or workload")
	}
	return ref, nil
}

// Notifier posts notices to one channel (chat.postMessage). A nil Notifier, or one without a channel,
// posts nothing: notifications are off unless configured.
type Notifier struct {
	Client   *slack.Client
	Channel  string
	Redactor *redact.Redactor
	Logger   *slog.Logger
	// Window: the same notice (kind, target, fingerprint, state) is posted once within it (default
	// 30m), since Argo asks again every interval and the monitor every run.
	Window time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	posted  map[string]time.Time // dedupe key → when
	threads map[string]string    // fingerprint → ts of its first message: later notices reply there
}

// Enabled says whether notices are posted.
func (n *Notifier) Enabled() bool { return n != nil && n.Client != nil && n.Channel != "" }

// Notify posts no once. It never blocks longer than 15 s; a failure is logged and returned.
func (n *Notifier) Notify(ctx context.Context, no Notice) error {
	if !n.Enabled() {
		return nil
	}
	key, thread, ok := n.claim(no)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	text, blocks := n.message(no)
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	_, ts, err := n.Client.PostMessageContext(ctx, n.Channel, opts...)
	if err != nil {
		n.release(key)
		n.logger().Warn("slack notification not posted", "kind", no.Kind, "target", no.Namespace+"/"+no.Target, "err", err)
		return fmt.Errorf("slack chat.postMessage to %s: %w", n.Channel, err)
	}
	n.remember(no.Fingerprint, thread, ts)
	return nil
}

// claim reserves the notice's dedupe key; false: posted within the window already.
func (n *Notifier) claim(no Notice) (key, thread string, ok bool) {
	key = strings.Join([]string{no.Kind, no.Namespace, no.Target, no.Fingerprint, no.Verdict, no.Issue, no.PR, no.Handoff, fmt.Sprint(no.Flagged)}, "\x00")
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.posted == nil {
		n.posted, n.threads = map[string]time.Time{}, map[string]string{}
	}
	for k, at := range n.posted { // bounded by what one window posts
		if now.Sub(at) > n.window() {
			delete(n.posted, k)
		}
	}
	if _, seen := n.posted[key]; seen {
		return key, "", false
	}
	n.posted[key] = now
	if no.Fingerprint != "" {
		thread = n.threads[no.Fingerprint]
	}
	return key, thread, true
}

func (n *Notifier) release(key string) {
	n.mu.Lock()
	delete(n.posted, key)
	n.mu.Unlock()
}

// remember keeps the first message of a fingerprint as the thread of its follow-ups.
func (n *Notifier) remember(fp, thread, ts string) {
	if fp == "" || thread != "" || ts == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.threads) >= 10000 {
		clear(n.threads) // a long-lived server: old threads start fresh rather than grow without bound
	}
	n.threads[fp] = ts
}

func (n *Notifier) window() time.Duration {
	if n.Window > 0 {
		return n.Window
	}
	return 30 * time.Minute
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.Default()
	}
	return n.Logger
}
