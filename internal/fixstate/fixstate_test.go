package fixstate

import "testing"

func TestEveryStateHasItsOwnWords(t *testing.T) {
	seen := map[string]string{}
	for _, s := range []string{HandingOff, HandedOff, AgentWorking, PROpen, PRMerged, PRClosed, Working, Failed} {
		w := Text(s)
		if w == s || w == "" {
			t.Errorf("state %q has no words", s)
		}
		if other, dup := seen[w]; dup {
			t.Errorf("states %q and %q both read %q", other, s, w)
		}
		seen[w] = s
	}
	if Text("something_new") != "something_new" {
		t.Errorf("an unknown state should be shown as it is")
	}
}
