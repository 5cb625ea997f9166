package slack

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/fixstate"
	"github.com/fixloop/fixloop/internal/redact"
)

// ActionOpenReport is the report's link button: Slack opens the URL itself and still sends a
// block_actions payload, which needs nothing but an acknowledgement.
const ActionOpenReport = "fixloop_open_report"

// maxSectionText stays under Slack's 3000-character limit of a section's text.
const maxSectionText = 2800

// message renders no as a notification: the fallback text (notifications, screen readers) and the
// blocks (headline, summary, links, buttons). Every text that may quote a log is redacted, then
// escaped so it cannot mention @channel, link elsewhere or break the markup.
func (n *Notifier) message(no Notice) (string, []slack.Block) {
	head := n.headline(no)
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil)}
	if body := n.body(no); body != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(body), nil, nil))
	}
	if links := n.links(no); len(links) > 0 {
		blocks = append(blocks, slack.NewContextBlock("links", links...))
	}
	if buttons := n.buttons(no); len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("fixloop_actions", buttons...))
	}
	text := head
	if no.Report != "" {
		text += " Report: " + n.clean(no.Report)
	}
	return text, blocks
}

func (n *Notifier) headline(no Notice) string {
	target := "`" + n.clean(strings.TrimPrefix(no.Namespace+"/"+no.Target, "/")) + "`"
	switch no.Kind {
	case NoticeAbort:
		return fmt.Sprintf(":rotating_light: Canary of %s *aborted* (confidence %d)", target, no.Confidence)
	case NoticeInconclusive:
		return fmt.Sprintf(":grey_question: Canary of %s *inconclusive* (confidence %d): not promoted", target, no.Confidence)
	case NoticeIssue:
		return fmt.Sprintf(":memo: Issue opened for %s: %s", target, n.link(no.Issue, "issue"))
	case NoticeFinding:
		return fmt.Sprintf(":mag: The monitor acted on %s", target)
	case NoticePullRequest:
		return fmt.Sprintf(":wrench: Fix proposed for %s: %s", target, n.link(no.PR, "pull request"))
	case NoticeHandoff:
		s := fmt.Sprintf(":robot_face: Coding agent (%s) on %s: *%s*", n.clean(no.Fixer), target, fixstate.Text(no.Handoff))
		if no.Flagged {
			s += " — :warning: no pull request in time"
		}
		return s
	}
	return fmt.Sprintf("fixloop: %s on %s", n.clean(no.Kind), target)
}

func (n *Notifier) body(no Notice) string {
	var b strings.Builder
	if no.Summary != "" {
		b.WriteString(n.clean(no.Summary))
	}
	if no.RootCause != "" {
		fmt.Fprintf(&b, "\n*Root cause:* %s", n.clean(no.RootCause))
	}
	s := strings.TrimSpace(b.String())
	if len(s) > maxSectionText {
		s = strings.ToValidUTF8(s[:maxSectionText], "") + "…"
	}
	return s
}

// links is the context line: the report first (the page a reviewer wants), then issue, PR, state.
func (n *Notifier) links(no Notice) []slack.MixedElement {
	var parts []string
	if no.Report != "" {
		parts = append(parts, "Report: "+n.link(no.Report, "verdict report"))
	}
	if no.Issue != "" && no.Kind != NoticeIssue {
		parts = append(parts, "Issue: "+n.link(no.Issue, "issue"))
	}
	if no.PR != "" && no.Kind != NoticePullRequest {
		parts = append(parts, "Pull request: "+n.link(no.PR, "pull request"))
	}
	if no.Handoff != "" && no.Kind != NoticeHandoff {
		parts = append(parts, fmt.Sprintf("Fix: %s %s", n.clean(no.Fixer), fixstate.Text(no.Handoff)))
	}
	if no.Fingerprint != "" {
		parts = append(parts, "fingerprint `"+n.clean(no.Fingerprint)+"`")
	}
	if len(parts) == 0 {
		return nil
	}
	return []slack.MixedElement{mrkdwn(strings.Join(parts, " · "))}
}

// buttons offer the next step: promote anyway (a rollout the verdict held back), open the issue (none
// yet) and start the fix (an issue without a pull request).
func (n *Notifier) buttons(no Notice) []slack.BlockElement {
	ref := ActionRef{Namespace: no.Namespace, Fingerprint: no.Fingerprint, Report: no.Report, Issue: no.Issue}
	if no.Kind == NoticeFinding {
		ref.Workload = no.Target
	} else {
		ref.Rollout = no.Target
	}
	value := ref.Encode()
	var out []slack.BlockElement
	if isAbsURL(no.Report) {
		out = append(out, slack.NewButtonBlockElement(ActionOpenReport, "report", plain("Open report")).WithURL(no.Report))
	}
	if ref.Rollout != "" && (no.Kind == NoticeAbort || no.Kind == NoticeInconclusive) {
		confirm := slack.NewConfirmationBlockObject(plain("Promote anyway?"),
			mrkdwn(fmt.Sprintf("The verdict was *%s*. Promote `%s` to all traffic anyway? This is the only confirmation: pressing Promote does it (allowed users only), recorded in the audit log with your name.",
				n.clean(no.Verdict), n.clean(no.Namespace+"/"+no.Target))),
			plain("Promote"), plain("Cancel")).WithStyle(slack.StyleDanger)
		out = append(out, slack.NewButtonBlockElement(ActionPromoteAnyway, value, plain("Promote anyway")).WithStyle(slack.StyleDanger).WithConfirm(confirm))
	}
	if no.Issue == "" && no.Kind != NoticePullRequest && no.Kind != NoticeHandoff {
		out = append(out, slack.NewButtonBlockElement(ActionOpenIssue, value, plain("Open issue")))
	}
	if no.Issue != "" && no.PR == "" && no.Handoff == "" {
		out = append(out, slack.NewButtonBlockElement(ActionStartFix, value, plain("Start fix")).WithStyle(slack.StylePrimary))
	}
	return out
}

// link is a Slack link to an absolute http(s) URL, or the escaped text of anything else (a
// root-relative report URL when serve has no public URL: Slack cannot open it, the reader can).
func (n *Notifier) link(url, label string) string {
	if !isAbsURL(url) {
		return n.clean(url)
	}
	return "<" + escape(url) + "|" + label + ">"
}

func isAbsURL(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, " |<>\n")
}

// clean redacts s, then escapes it for Slack's mrkdwn.
func (n *Notifier) clean(s string) string {
	red := n.Redactor
	if red == nil {
		red = redact.Default()
	}
	return escape(red.String(s))
}

// escape is Slack's required escaping: with &, < and > escaped no text can form <!channel>, <@U…>
// or <url|label>.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}
