package triage

import (
	"context"
	"testing"

	"github.com/fixloop/fixloop/internal/fixstate"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
)

// A hand-off whose call did not go through is recorded as begun under a state of its own (not an empty
// one), so a takeover and anyone reading the record can tell it from a confirmed hand-off.
func TestBegunHandoffHasItsOwnState(t *testing.T) {
	v := abortVerdict(t)
	tr, sink := handoffSetup(t, "label", "jules", &ghsink.ScriptedAgent{Label: "jules"}, HandoffConfig{})
	sink.InjectFault(ghsink.Fault{Method: "POST", Path: "/labels", Kind: "404"})
	res := analyse(tr, v, "op-1")
	if res.Issue == nil || res.FixerError == "" {
		t.Fatalf("want an issue and a failed hand-off: %+v %q", res.Issue, res.FixerError)
	}
	rec, found, err := tr.loadHandoff(context.Background(), res.Fingerprint)
	if err != nil || !found || !rec.HandedOffAt.IsZero() {
		t.Fatalf("begun record: %+v %v %v", rec, found, err)
	}
	if rec.Obs.State != github.HandoffHandingOff || fixstate.Text(rec.Obs.State) != "handing off to the agent" {
		t.Fatalf("begun hand-off state %q (%q), want %q", rec.Obs.State, fixstate.Text(rec.Obs.State), github.HandoffHandingOff)
	}
}
