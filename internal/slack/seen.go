package slack

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/slack-go/slack"
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

// groupCache keeps user-group members for a minute: a press must not wait on Slack each time, and a
// removed member loses the right within the minute.
type groupCache struct {
	mu sync.Mutex
	at map[string]groupEntry
}

type groupEntry struct {
	members []string
	read    time.Time
}

func (c *groupCache) members(ctx context.Context, client *slack.Client, group string) ([]string, error) {
	c.mu.Lock()
	e, ok := c.at[group]
	c.mu.Unlock()
	if ok && time.Since(e.read) < time.Minute {
		return e.members, nil
	}
	m, err := client.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = map[string]groupEntry{}
	}
	c.at[group] = groupEntry{members: m, read: time.Now()}
	return m, nil
}
