package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/store"
)

func init() { rootCmd.AddCommand(newAuditCmd()) }

// auditFilter selects audit events; zero fields match everything.
type auditFilter struct {
	Since  time.Time
	Actor  string // who, exactly (a token's name, system:serviceaccount:ns:name, an OIDC subject)
	Action string
	Limit  int // the newest Limit matches are kept
}

func newAuditCmd() *cobra.Command {
	var f auditFilter
	var since string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the audit log: every write fixloop serve made or refused (who, action, target, verdict, result)",
		Long: "List audit events from the state store (--state-dir or --store, the one fixloop serve uses), oldest first.\n\n" +
			"--since takes a duration (24h, 30m) or an RFC 3339 time; --actor the caller's name as the audit log shows it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseSince(since, time.Now())
			if err != nil {
				return usageError("--since: %v", err)
			}
			if f.Limit <= 0 {
				return usageError("--limit: must be positive, got %d", f.Limit)
			}
			f.Since = t
			_, st, err := loadStateStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			evs, err := listAudit(cmd.Context(), st, f)
			if err != nil {
				return fmt.Errorf("reading the audit log: %w", err)
			}
			if asJSON {
				return printAuditJSON(cmd.OutOrStdout(), evs)
			}
			printAudit(cmd.OutOrStdout(), evs)
			return nil
		},
	}
	config.AddFlags(cmd.Flags(), "state-dir", "store")
	cmd.Flags().StringVar(&since, "since", "24h", "oldest event to show: a duration back from now or an RFC 3339 time")
	cmd.Flags().StringVar(&f.Actor, "actor", "", "only events of this caller")
	cmd.Flags().StringVar(&f.Action, "action", "", "only this action (promote_rollout, abort_rollout, open_issue, ...)")
	cmd.Flags().IntVar(&f.Limit, "limit", 1000, "newest matching events to show")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON event per line")
	return cmd
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration like 24h nor an RFC 3339 time", s)
	}
	return t, nil
}

// auditLister is the part of the store the audit log is read through.
type auditLister interface {
	ListKV(ctx context.Context, ns, after string, limit int) ([]store.KV, error)
}

// listAudit pages through the audit namespace from f.Since (keys start with the event's UTC time) and
// keeps the newest f.Limit events that match.
func listAudit(ctx context.Context, st auditLister, f auditFilter) ([]auth.AuditEvent, error) {
	after := ""
	if !f.Since.IsZero() {
		after = f.Since.UTC().Format(auth.AuditKeyTime)
	}
	var out []auth.AuditEvent
	for {
		page, err := st.ListKV(ctx, auth.AuditNS, after, 500)
		if err != nil || len(page) == 0 {
			return out, err
		}
		for _, kv := range page {
			var ev auth.AuditEvent
			if json.Unmarshal(kv.Value, &ev) != nil {
				continue // not an event this version understands; the rest of the log still lists
			}
			if (f.Actor == "" || ev.Who == f.Actor) && (f.Action == "" || ev.Action == f.Action) {
				out = append(out, ev)
			}
		}
		if f.Limit > 0 && len(out) > f.Limit {
			out = append(out[:0], out[len(out)-f.Limit:]...)
		}
		after = page[len(page)-1].Key
	}
}

func printAuditJSON(w io.Writer, evs []auth.AuditEvent) error {
	enc := json.NewEncoder(w)
	for _, ev := range evs {
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	return nil
}

func printAudit(w io.Writer, evs []auth.AuditEvent) {
	if len(evs) == 0 {
		fmt.Fprintln(w, "no audit events match")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "TIME\tWHO\tMETHOD\tACTION\tTARGET\tVERDICT\tRESULT\tDETAIL")
	for _, ev := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.At.UTC().Format(time.RFC3339), printable(ev.Who), ev.Method,
			printable(ev.Action), printable(ev.Target), printable(ev.Verdict), ev.Result, printable(ev.Detail))
	}
}

// printable keeps a caller-supplied field from moving the terminal's cursor or breaking the table:
// control characters (escape sequences, tabs, newlines) become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
