package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/store"
)

func runAuditCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newAuditCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestAuditListsTheStoresEvents(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.OpenConfigured(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Audit{Store: st}
	now := time.Now().UTC()
	a.Record(ctx, auth.AuditEvent{At: now.Add(-48 * time.Hour), Who: "alice", Method: "token", Action: "abort_rollout", Target: "shop/old", Result: "ok"})
	a.Record(ctx, auth.AuditEvent{At: now.Add(-time.Hour), Who: "alice", Method: "token", Action: "promote_rollout", Target: "shop/web", Result: "ok"})
	// A target from a request body carrying a terminal escape sequence and a newline.
	a.Record(ctx, auth.AuditEvent{At: now.Add(-time.Minute), Who: "system:serviceaccount:argo:ctrl", Method: "serviceaccount",
		Action: "open_issue", Target: "acme/app\x1b[2J\nFORGED", Result: "refused"})
	st.Close()

	out, err := runAuditCmd(t, "--state-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "shop/old") || !strings.Contains(out, "shop/web") || !strings.Contains(out, "open_issue") {
		t.Errorf("default --since 24h:\n%s", out)
	}
	if strings.Contains(out, "\x1b") || strings.Count(out, "\n") != 3 {
		t.Errorf("a control character reached the terminal or split a row:\n%q", out)
	}
	if strings.Index(out, "promote_rollout") > strings.Index(out, "open_issue") {
		t.Errorf("not oldest first:\n%s", out)
	}

	out, err = runAuditCmd(t, "--state-dir", dir, "--since", "72h", "--actor", "alice", "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"abort_rollout"`) || !strings.Contains(lines[1], `"promote_rollout"`) {
		t.Errorf("--since 72h --actor alice --json:\n%s", out)
	}

	out, err = runAuditCmd(t, "--state-dir", dir, "--since", now.Add(-2*time.Minute).Format(time.RFC3339), "--action", "open_issue", "--limit", "1")
	if err != nil || !strings.Contains(out, "refused") || strings.Contains(out, "promote_rollout") {
		t.Errorf("--since RFC 3339 --action: %v\n%s", err, out)
	}
	out, err = runAuditCmd(t, "--state-dir", dir, "--actor", "nobody")
	if err != nil || !strings.Contains(out, "no audit events match") {
		t.Errorf("no match: %v\n%s", err, out)
	}
}

func TestAuditBadSinceIsUsageError(t *testing.T) {
	for _, since := range []string{"yesterday", "-1h"} {
		_, err := runAuditCmd(t, "--state-dir", t.TempDir(), "--since", since)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--since") {
			t.Errorf("--since %s: want a usage error naming --since, got %v", since, err)
		}
	}
}
