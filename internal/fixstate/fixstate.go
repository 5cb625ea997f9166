// Package fixstate names the states a fix moves through, whichever fixer drives it, and words each
// once, so the report page, list_findings and Slack say the same thing.
package fixstate

// A coding agent living on GitHub (a hand-off), in the order it moves through them.
const (
	// HandingOff: the hand-off call is under way. Saved before the call so that a replica taking over
	// knows a label, assignee or mention may already have reached GitHub.
	HandingOff   = "handing_off"
	HandedOff    = "handed_off"
	AgentWorking = "agent_working"
	PROpen       = "pr_open"
	PRMerged     = "pr_merged"
	PRClosed     = "pr_closed"
)

// fixloop's own fixer (OpenCode).
const (
	Working = "working"
	Failed  = "failed"
)

var words = map[string]string{
	HandingOff:   "handing off to the agent",
	HandedOff:    "handed off, waiting for the agent",
	AgentWorking: "agent working",
	PROpen:       "pull request open",
	PRMerged:     "pull request merged",
	PRClosed:     "pull request closed without merging",
	Working:      "fixer working",
	Failed:       "fixer failed",
}

// Text is state in words; an unknown state is shown as it is.
func Text(state string) string {
	if w, ok := words[state]; ok {
		return w
	}
	return state
}
