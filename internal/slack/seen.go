package slack

import (
	"sort"
	"sync"
	"time"
)

// replayWindow is Slack's timestamp window: an older signature is refused by the verifier anyway.
const replayWindow = 5 * time.Minute

// seenCache remembers the signatures of the last replayWindow (a signature covers the timestamp
// and body, so a resent request has the same one).
type seenCache struct {
	mu sync.Mutex
	at map[string]time.Time
}

// add records sig and reports whether it was new.
func (c *seenCache) add(sig string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = map[string]time.Time{}
	}
	for s, t := range c.at { // bounded: only signatures of the last minutes stay
		if now.Sub(t) > 2*replayWindow {
			delete(c.at, s)
		}
	}
	if _, dup := c.at[sig]; dup {
		return false
	}
	c.at[sig] = now
	return true
}

func sorted(s []string) []string { sort.Strings(s); return s }
