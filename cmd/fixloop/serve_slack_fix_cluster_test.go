package main

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/fixloop/fixloop/agents/fixer"
	fxslack "github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

// The journey's fix part (TestSlackAbortToFixOnCluster): from the abort notice in the channel to the
// pull request.

func hasConfirmation(c slacktesting.Call) bool {
	return slacktesting.ButtonValue(c.Form, fxslack.ActionConfirm) != ""
}

// abortNotice waits for the abort notice with the filed issue in the notification channel: the report
// and a Start fix button naming the issue.
func (j *slackJourney) abortNotice() (slacktesting.Call, fxslack.ActionRef) {
	t := j.t
	notice, _ := j.rec.WaitFor(t, 0, 2*time.Minute, func(c slacktesting.Call) bool {
		return c.Method == "chat.postMessage" && c.Get("channel") == journeyChannel && slacktesting.ButtonValue(c.Form, fxslack.ActionStartFix) != ""
	})
	ref, err := fxslack.DecodeActionRef(slacktesting.ButtonValue(notice.Form, fxslack.ActionStartFix))
	if err != nil {
		t.Fatal(err)
	}
	issues := j.sink.Issues(journeyRepo)
	if !strings.Contains(notice.Get("blocks"), "aborted") || ref.Issue != issues[0].HTMLURL || ref.Report == "" || ref.Fingerprint == "" {
		t.Fatalf("abort notice %v: button %+v, want issue %s, a report and a fingerprint", notice.Form, ref, issues[0].HTMLURL)
	}
	return notice, ref
}

// openReport opens the notice's report page as a reader would: the verdict, its rollout and its issue.
func (j *slackJourney) openReport(ref fxslack.ActionRef) {
	t := j.t
	u := ref.Report
	if strings.HasPrefix(u, "/") { // no public URL configured: the page is this server's
		u = j.base + u
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), j.ns) || !strings.Contains(string(page), "abort") {
		t.Fatalf("report %s: %d\n%.2000s", u, resp.StatusCode, page)
	}
	if !strings.Contains(string(page), ref.Issue) {
		t.Errorf("the report page does not link the issue %s:\n%.3000s", ref.Issue, page)
	}
}

// startFix presses the notice's Start fix: it asks for confirmation in the notice's thread; a
// non-allowed user's confirmation starts nothing; an allowed user's runs the fixer on OpenCode, its
// progress edited into the confirmation and the verified pull request's link at the end. It returns
// the pull request's URL.
func (j *slackJourney) startFix(notice slacktesting.Call, ref fxslack.ActionRef) string {
	t := j.t
	from := j.rec.Count()
	value := slacktesting.ButtonValue(notice.Form, fxslack.ActionStartFix)
	j.post("/slack/interactions", slacktesting.PressForm("U0ASKER", fxslack.ActionStartFix, value, notice.TS, notice.Get("thread_ts")))
	conf, next := j.rec.WaitFor(t, from, time.Minute, hasConfirmation)
	if !strings.Contains(conf.Get("text"), "start the fixer on "+ref.Issue) {
		t.Errorf("confirmation %q does not say which issue is fixed", conf.Get("text"))
	}
	confirm := slacktesting.ButtonValue(conf.Form, fxslack.ActionConfirm)
	j.post("/slack/interactions", slacktesting.PressForm("U0ASKER", fxslack.ActionConfirm, confirm, conf.TS, conf.Get("thread_ts")))
	refusal, next := j.rec.WaitFor(t, next, time.Minute, func(c slacktesting.Call) bool { return c.Method == "chat.postEphemeral" })
	if refusal.Get("user") != "U0ASKER" || !strings.Contains(refusal.Get("text"), "may not confirm") {
		t.Fatalf("non-allowed press on Start fix: %v", refusal.Form)
	}
	if n, prs := len(j.oc.LLM.Requests()), len(j.sink.Pulls(journeyRepo)); n != 0 || prs != 0 {
		t.Fatalf("a non-allowed press started the fixer: %d model requests, %d pull requests", n, prs)
	}

	// The scripted model makes the fix a model would in the clone the fixer makes for this failure.
	j.oc.LLM.SetScript(standInScript(fixer.CloneDirFor(j.workDir, journeyRepo, ref.Fingerprint)))
	t0 := time.Now()
	j.post("/slack/interactions", slacktesting.PressForm("U0ALLOWED", fxslack.ActionConfirm, confirm, conf.TS, conf.Get("thread_ts")))
	done, _ := j.rec.WaitFor(t, next, 10*time.Minute, func(c slacktesting.Call) bool { return fixAnswer(c, conf.TS) })
	t.Logf("fix from Slack took %s: %s", time.Since(t0).Round(time.Second), done.Get("text"))
	pulls := j.sink.Pulls(journeyRepo)
	if len(pulls) != 1 || !strings.Contains(done.Get("text"), "pull request "+pulls[0].HTMLURL) {
		t.Fatalf("want the one pull request in the answer: %+v\n%s\nserve log:\n%s", pulls, done.Get("text"), j.logs.String())
	}
	j.checkFixShown(conf.TS, pulls[0].HTMLURL)
	show, err := exec.Command("git", "--git-dir", j.bare, "show", pulls[0].Head.Ref+":palette.go").CombinedOutput()
	if err != nil || !strings.Contains(string(show), "Palette[n%len(Palette)]") || strings.Contains(string(show), "+1]") {
		t.Errorf("the pull request's branch does not hold the fix: %s %v", show, err)
	}
	return pulls[0].HTMLURL
}

// fixAnswer reports an edit of a fix confirmation showing the fixer's answer (the verified pull
// request, or why there is none) rather than a progress line or "running…".
func fixAnswer(c slacktesting.Call, ts string) bool {
	_, line, _ := strings.Cut(c.Get("text"), "*: ")
	return c.Method == "chat.update" && c.TS == ts && (strings.HasPrefix(line, "failed: ") || strings.HasPrefix(line, fixer.StatusNoPR+": ") ||
		strings.HasPrefix(line, "pull request ") && strings.Contains(line, "(branch "))
}

// checkFixShown: the confirmation was edited in place with the fixer's progress before its answer, and
// the channel heard of the pull request.
func (j *slackJourney) checkFixShown(ts, pr string) {
	t := j.t
	var edits []string
	progress := 0
	for _, c := range j.rec.Calls() {
		if c.Method == "chat.update" && c.TS == ts {
			edits = append(edits, c.Get("text"))
			if !fixAnswer(c, ts) && !strings.HasSuffix(c.Get("text"), "running…") {
				progress++
			}
		}
	}
	if progress == 0 {
		t.Errorf("no fixer progress was edited into the confirmation: %q", edits)
	}
	t.Logf("the confirmation was edited %d times, %d with the fixer's progress", len(edits), progress)
	j.rec.WaitFor(t, 0, time.Minute, func(c slacktesting.Call) bool {
		return c.Method == "chat.postMessage" && c.Get("channel") == journeyChannel && strings.Contains(c.Get("blocks"), pr)
	})
}

// fixBySlashCommand: /fixloop fix <issue> (Slack's <url> form), confirmed by an allowed user, answers
// with the pull request the fixer already opened for that failure, and opens no second one.
func (j *slackJourney) fixBySlashCommand(issue, pr string) {
	t := j.t
	from := j.rec.Count()
	j.post("/slack/commands", slacktesting.Slash("fix <"+issue+">", "U0ASKER"))
	conf, next := j.rec.WaitFor(t, from, time.Minute, hasConfirmation)
	confirm := slacktesting.ButtonValue(conf.Form, fxslack.ActionConfirm)
	j.post("/slack/interactions", slacktesting.PressForm("U0ALLOWED", fxslack.ActionConfirm, confirm, conf.TS, conf.Get("thread_ts")))
	done, _ := j.rec.WaitFor(t, next, 5*time.Minute, func(c slacktesting.Call) bool { return fixAnswer(c, conf.TS) })
	if !strings.Contains(done.Get("text"), pr) {
		t.Errorf("/fixloop fix answered %q, want the pull request %s", done.Get("text"), pr)
	}
	if n := len(j.sink.Pulls(journeyRepo)); n != 1 {
		t.Errorf("%d pull requests after the second start, want 1", n)
	}
}

// checkAudit: the audit log names the Slack users of every write and refusal.
func (j *slackJourney) checkAudit() {
	want := map[string]string{
		"who=slack:U0ASKER method=slack action=abort_rollout":   "result=refused",
		"who=slack:U0ALLOWED method=slack action=abort_rollout": "result=ok",
		"who=slack:U0ASKER method=slack action=fix_issue":       "result=refused",
		"who=slack:U0ALLOWED method=slack action=fix_issue":     "result=ok",
	}
	lines := strings.Split(j.logs.String(), "\n")
	for prefix, result := range want {
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, prefix) && strings.Contains(l, result)
		}
		if !found {
			j.t.Errorf("audit log lacks %s ... %s", prefix, result)
		}
	}
}
