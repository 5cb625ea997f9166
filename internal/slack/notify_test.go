package slack

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

// newNotifier posts to the Slack Web API stand-in; posted reads what reached it.
func newNotifier(t *testing.T, channel string) (*Notifier, *slacktesting.Recorder) {
	t.Helper()
	rec := slacktesting.NewRecorder(t)
	return &Notifier{Client: rec.Client(), Channel: channel}, rec
}

// posted is every chat.postMessage rec received.
func posted(rec *slacktesting.Recorder) []url.Values { return rec.Of("chat.postMessage") }

// postedBlocks decodes the blocks of a recorded chat.postMessage.
func postedBlocks(t *testing.T, form map[string][]string) slack.Blocks {
	t.Helper()
	var b slack.Blocks
	if err := json.Unmarshal([]byte(first(form["blocks"])), &b); err != nil {
		t.Fatalf("blocks unreadable: %v (%v)", err, form["blocks"])
	}
	return b
}

// unescapedJSON re-encodes raw without JSON's \u003c escapes, so tests read what Slack renders.
func unescapedJSON(t *testing.T, raw string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// buttonsOf returns the action block's buttons by action id.
func buttonsOf(b slack.Blocks) map[string]*slack.ButtonBlockElement {
	out := map[string]*slack.ButtonBlockElement{}
	for _, blk := range b.BlockSet {
		if a, ok := blk.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					out[btn.ActionID] = btn
				}
			}
		}
	}
	return out
}

func abortNotice() Notice {
	return Notice{Kind: NoticeAbort, Namespace: "shop", Target: "web", Verdict: "abort", Confidence: 99, Fingerprint: "fp1",
		Summary: "canary panics", RootCause: "nil map write in checkout", Report: "https://fixloop.example/reports/0123456789abcdef0123456789abcdef"}
}

func TestNotifyOffUnlessConfigured(t *testing.T) {
	var nilNotifier *Notifier
	if err := nilNotifier.Notify(context.Background(), abortNotice()); err != nil {
		t.Errorf("nil notifier: %v", err)
	}
	n, rec := newNotifier(t, "")
	if err := n.Notify(context.Background(), abortNotice()); err != nil {
		t.Errorf("no channel: %v", err)
	}
	if got := posted(rec); len(got) != 0 {
		t.Errorf("posted without a channel: %v", got)
	}
}

func TestNotifyAbortPostsSummaryReportAndButtons(t *testing.T) {
	n, rec := newNotifier(t, "C-alerts")
	if err := n.Notify(context.Background(), abortNotice()); err != nil {
		t.Fatal(err)
	}
	msgs := posted(rec)
	if len(msgs) != 1 || msgs[0].Get("channel") != "C-alerts" {
		t.Fatalf("want one post to C-alerts, got %v", msgs)
	}
	raw := unescapedJSON(t, msgs[0].Get("blocks"))
	for _, want := range []string{"aborted", "nil map write in checkout", "<https://fixloop.example/reports/0123456789abcdef0123456789abcdef|verdict report>"} {
		if !strings.Contains(raw, want) {
			t.Errorf("blocks lack %q: %s", want, raw)
		}
	}
	if !strings.Contains(msgs[0].Get("text"), "/reports/0123456789abcdef0123456789abcdef") {
		t.Errorf("fallback text lacks the report: %q", msgs[0].Get("text"))
	}
	btn := buttonsOf(postedBlocks(t, msgs[0]))
	promote := btn[ActionPromoteAnyway]
	if promote == nil || promote.Confirm == nil || promote.Style != slack.StyleDanger {
		t.Fatalf("promote anyway must be a danger button with a confirmation: %+v", promote)
	}
	ref, err := DecodeActionRef(promote.Value)
	if err != nil || ref.Namespace != "shop" || ref.Rollout != "web" || ref.Fingerprint != "fp1" || !strings.HasSuffix(ref.Report, "/reports/0123456789abcdef0123456789abcdef") {
		t.Errorf("promote value %q → %+v, %v", promote.Value, ref, err)
	}
	if btn[ActionOpenIssue] == nil || btn[ActionStartFix] != nil {
		t.Errorf("without an issue: want open issue, not start fix: %v", btn)
	}
	if r := btn[ActionOpenReport]; r == nil || r.URL != abortNotice().Report {
		t.Errorf("report button: %+v", r)
	}
}

func TestNotifyRedactsAndEscapes(t *testing.T) {
	leak := "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	n, rec := newNotifier(t, "C1")
	no := abortNotice()
	no.Summary = "<!channel> token=" + leak + " <https://evil.example|click>"
	no.Target = "web<@U123>"
	if err := n.Notify(context.Background(), no); err != nil {
		t.Fatal(err)
	}
	m := posted(rec)[0]
	all := m.Get("text") + unescapedJSON(t, m.Get("blocks"))
	for _, bad := range []string{leak, "<!channel>", "<https://evil.example", "<@U123>"} {
		if strings.Contains(all, bad) {
			t.Errorf("posted %q: %s", bad, all)
		}
	}
	if !strings.Contains(all, "&lt;!channel&gt;") {
		t.Errorf("escaped text missing: %s", all)
	}
}

func TestNotifyOncePerWindowAndFollowUpsInThread(t *testing.T) {
	now := time.Unix(1700000000, 0)
	n, rec := newNotifier(t, "C1")
	n.Now = func() time.Time { return now }
	ctx := context.Background()
	_ = n.Notify(ctx, abortNotice())
	_ = n.Notify(ctx, abortNotice()) // Argo's next measurement: same verdict
	issue := Notice{Kind: NoticeIssue, Namespace: "shop", Target: "web", Fingerprint: "fp1", Issue: "https://github.com/o/r/issues/7", Report: abortNotice().Report}
	_ = n.Notify(ctx, issue)
	msgs := posted(rec)
	if len(msgs) != 2 {
		t.Fatalf("want the abort once and the issue: %d posts", len(msgs))
	}
	if msgs[1].Get("thread_ts") != rec.Calls()[0].TS {
		t.Errorf("issue notice not in the abort's thread: %v", msgs[1])
	}
	if btn := buttonsOf(postedBlocks(t, msgs[1])); btn[ActionStartFix] == nil || btn[ActionOpenIssue] != nil {
		t.Errorf("with an issue and no PR: want start fix only: %v", btn)
	}
	now = now.Add(31 * time.Minute)
	_ = n.Notify(ctx, abortNotice())
	if got := len(posted(rec)); got != 3 {
		t.Errorf("after the window the abort is posted again: %d posts", got)
	}
}

func TestNotifyFailureIsRetriedNextTime(t *testing.T) {
	n, rec := newNotifier(t, "C404")
	rec.Fail("chat.postMessage", "channel_not_found")
	err := n.Notify(context.Background(), abortNotice())
	if err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("want Slack's error, got %v", err)
	}
	rec.Fail("chat.postMessage", "")
	if err := n.Notify(context.Background(), abortNotice()); err != nil || len(posted(rec)) != 1 {
		t.Errorf("a failed post must not count as posted: %v, %d posts", err, len(posted(rec)))
	}
}

func TestDecodeActionRefRefusesJunk(t *testing.T) {
	for _, v := range []string{"", "{", `{"ns":""}`, `{"ns":"shop"}`, strings.Repeat("x", 3000)} {
		if _, err := DecodeActionRef(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	in := ActionRef{Namespace: "shop", Rollout: "web", Issue: "https://github.com/o/r/issues/1"}
	if out, err := DecodeActionRef(in.Encode()); err != nil || out != in {
		t.Errorf("round trip: %+v, %v", out, err)
	}
}
