package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/agents/triage"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/monitor"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

func init() { rootCmd.AddCommand(newMonitorCmd()) }

// pendingMonitor is prepared while the agents are mounted and started once the server listens.
var (
	pendingMonitorMu sync.Mutex
	pendingMonitor   func(ctx context.Context, reg prometheus.Registerer)
)

// prepareMonitor builds the monitor when --monitor is set (a bad setting fails serve at start-up).
func prepareMonitor(cfg *config.Config, deps tools.Deps, st store.Store, tr *triage.Triage, host *agents.Host, logger *slog.Logger) error {
	deps.Monitor.SetStore(st)
	if !cfg.Monitor.Enabled {
		return nil
	}
	if _, err := monitor.ParseThresholds(monitor.DefaultThresholds, cfg.Monitor.Thresholds); err != nil {
		return usageError("monitor thresholds (--monitor-thresholds / FIXLOOP_MONITOR_THRESHOLDS): %v", err)
	}
	pendingMonitorMu.Lock()
	defer pendingMonitorMu.Unlock()
	pendingMonitor = func(ctx context.Context, reg prometheus.Registerer) {
		if err := runMonitor(ctx, cfg, deps, st, tr, triageSubmit(host), reg, logger); err != nil {
			logger.Error("monitor stopped", "err", err)
		}
	}
	return nil
}

// startMonitor starts what prepareMonitor built, in the background, for the life of ctx.
func startMonitor(ctx context.Context, reg prometheus.Registerer, logger *slog.Logger) {
	pendingMonitorMu.Lock()
	start := pendingMonitor
	pendingMonitorMu.Unlock()
	if start != nil {
		go start(ctx, reg)
	}
}

func runMonitor(ctx context.Context, cfg *config.Config, deps tools.Deps, st store.Store, tr *triage.Triage, submit triage.Submit, reg prometheus.Registerer, logger *slog.Logger) error {
	mc := cfg.Monitor
	th, err := monitor.ParseThresholds(monitor.DefaultThresholds, mc.Thresholds)
	if err != nil {
		return fmt.Errorf("monitor thresholds (--monitor-thresholds): %w", err)
	}
	identity := mc.Identity
	if identity == "" {
		host, _ := os.Hostname()
		identity = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	adapter := tr.ForMonitor()
	m, err := monitor.New(monitor.Config{Interval: mc.Interval.Duration, Window: mc.Window.Duration, Persist: mc.Persist,
		Cooldown: mc.Cooldown.Duration, MaxConcurrentFixes: mc.MaxConcurrentFixes, Identity: identity, Store: st,
		Lister:  monitor.KubeLister{Kube: deps.Kube, Sel: monitor.Selection{Namespaces: mc.Namespaces, LabelSelector: mc.LabelSelector, Thresholds: th}},
		Checker: adapter, Actor: adapter, Logger: logger.With("component", "monitor")})
	if err != nil {
		return err
	}
	status := deps.Monitor
	reg.MustRegister(leaderCollector{status})
	lead := func(ctx context.Context) {
		if mc.WatchRollouts && deps.Kube != nil {
			go tr.WatchRollouts(ctx, deps.Kube, mc.Namespaces, submit)
		}
		m.Run(ctx)
	}
	if deps.Kube == nil {
		// Without a cluster there is no Lease to elect on: this process is the only monitor.
		status.SetEnabled(identity, "")
		logger.Warn("monitor: no cluster configured; running without leader election (every run will say it could not read the cluster)")
		lead(ctx)
		return nil
	}
	status.SetEnabled(identity, mc.LeaseNamespace+"/"+mc.LeaseName)
	return monitor.RunElected(ctx, deps.Kube, monitor.Lease{Namespace: mc.LeaseNamespace, Name: mc.LeaseName, Identity: identity,
		Duration: mc.LeaseDuration.Duration}, status, logger, lead)
}

// triageSubmit starts a triage task through the A2A host in-process, so the watcher's work is an
// ordinary task (GetTask, ListTasks, resumed after a restart) without a network call.
func triageSubmit(host *agents.Host) triage.Submit {
	return func(ctx context.Context, data map[string]any) (string, error) {
		h, ok := host.Handler("triage")
		if !ok {
			return "", errors.New("the triage agent is not mounted")
		}
		msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(data))
		res, err := h.SendMessage(ctx, &a2a.SendMessageRequest{Message: msg, Config: &a2a.SendMessageConfig{ReturnImmediately: true}})
		if err != nil {
			return "", err
		}
		task, ok := res.(*a2a.Task)
		if !ok {
			return "", fmt.Errorf("the triage agent answered %T, not a task", res)
		}
		return string(task.ID), nil
	}
}

// leaderCollector exports who holds the monitor's lease: fixloop_monitor_leader{identity,holder} is 1 on
// the replica that runs the monitor and 0 on the others.
type leaderCollector struct{ s *monitor.Status }

var leaderDesc = prometheus.NewDesc("fixloop_monitor_leader", "1 when this replica holds the monitor's lease; the holder label names the current leader.",
	[]string{"identity", "holder"}, nil)

func (c leaderCollector) Describe(ch chan<- *prometheus.Desc) { ch <- leaderDesc }
func (c leaderCollector) Collect(ch chan<- prometheus.Metric) {
	info := c.s.Info()
	v := 0.0
	if info.IsLeader {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, v, info.Identity, info.Leader)
}

func newMonitorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "monitor", Short: "Inspect the scheduled health monitor (runs, steps, findings, actions)"}
	var limit int
	var asJSON, onlyBad bool
	runs := &cobra.Command{
		Use:   "runs [RUN_ID]",
		Short: "List the monitor's recent runs with their steps, findings and actions (from --state-dir)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, err := loadStateStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			status := monitor.NewStatus(cfg.Store, cfg.StateDir)
			status.SetStore(st)
			in := tools.ListFindingsInput{Limit: limit, OnlyBad: onlyBad}
			if len(args) == 1 {
				in.RunID = args[0]
			}
			out, err := tools.ListFindings(cmd.Context(), tools.Deps{Monitor: status}, in)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printRuns(cmd, out)
			return nil
		},
	}
	config.AddFlags(runs.Flags())
	runs.Flags().IntVar(&limit, "limit", 10, "newest runs to show")
	runs.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	runs.Flags().BoolVar(&onlyBad, "only-bad", false, "show only warning, critical and unknown findings")
	cmd.AddCommand(runs)
	return cmd
}

func printRuns(cmd *cobra.Command, out *tools.ListFindingsOutput) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
	defer w.Flush()
	if len(out.Runs) == 0 {
		fmt.Fprintln(w, "no monitor runs recorded yet (start fixloop serve --monitor)")
		return
	}
	for _, r := range out.Runs {
		fmt.Fprintf(w, "run %s\t%s\tstarted %s\twindow %s\towner %s\t%s\n", r.ID, r.Status, r.StartedAt.Format(time.RFC3339), r.Window, r.Owner, r.Error)
		var steps []string
		for _, s := range r.Steps {
			steps = append(steps, fmt.Sprintf("%s:%s(x%d)", s.Name, s.Status, s.Attempts))
		}
		fmt.Fprintf(w, "  steps\t%s\n", strings.Join(steps, " → "))
		for _, f := range r.Findings {
			if f.Severity == "ok" || f.Severity == "skipped" {
				continue
			}
			fmt.Fprintf(w, "  finding\t%s/%s\t%s %s\t%s\tstreak %d\t%s\n", f.Namespace, f.Workload, f.Check, f.Severity, f.Value, f.Streak, f.Decision)
		}
		for _, a := range r.Actions {
			fmt.Fprintf(w, "  action\t%s\t%s/%s\t%s\t%s\t%s %s\n", a.Kind, a.Namespace, a.Workload, a.Status, a.CreatedAt.Format(time.RFC3339), a.Ref, a.Error)
		}
	}
}
