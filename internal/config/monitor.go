package config

import (
	"fmt"
	"time"
)

// Monitor configures the scheduled health monitor (fixloop serve --monitor).
type Monitor struct {
	Enabled  bool     `json:"enabled"`
	Interval Duration `json:"interval"` // between runs
	Window   Duration `json:"window"`   // read per run
	// Selection: workloads annotated fixloop.dev/monitor: "true" always; others when they match
	// Namespaces (empty: all) and LabelSelector, if either is set.
	Namespaces    []string `json:"namespaces,omitempty"`
	LabelSelector string   `json:"labelSelector,omitempty"`
	// Thresholds override the defaults for every workload, in the annotation's syntax:
	// "cpu=70/90,memory=70/90,5xx=1/5,4xx=10/25,p95=1s/3s,min-requests=20".
	Thresholds         string   `json:"thresholds,omitempty"`
	Persist            int      `json:"persist"`            // consecutive windows before acting
	Cooldown           Duration `json:"cooldown"`           // per workload, after an action
	MaxConcurrentFixes int      `json:"maxConcurrentFixes"` // fixes in flight at once
	// Lease: the replicas elect one monitor through a Kubernetes Lease.
	LeaseNamespace string   `json:"leaseNamespace"`
	LeaseName      string   `json:"leaseName"`
	LeaseDuration  Duration `json:"leaseDuration"`
	Identity       string   `json:"identity,omitempty"` // default host name and pid
	// WatchRollouts triages every Rollout that becomes Degraded or is aborted (any analysis provider).
	WatchRollouts bool `json:"watchRollouts"`
}

func defaultMonitor() Monitor {
	return Monitor{Interval: Duration{10 * time.Minute}, Window: Duration{30 * time.Minute}, Persist: 2, Cooldown: Duration{time.Hour},
		MaxConcurrentFixes: 1, LeaseNamespace: "default", LeaseName: "fixloop-monitor", LeaseDuration: Duration{15 * time.Second}, WatchRollouts: true}
}

var monitorSettings = []setting{
	{"monitor", []string{"FIXLOOP_MONITOR"}, kBool, "run the scheduled health monitor (and the rollout watcher) in fixloop serve", func(c *Config) any { return &c.Monitor.Enabled }},
	{"monitor-interval", []string{"FIXLOOP_MONITOR_INTERVAL"}, kDuration, "time between monitor runs", func(c *Config) any { return &c.Monitor.Interval }},
	{"monitor-window", []string{"FIXLOOP_MONITOR_WINDOW"}, kDuration, "metrics and logs window each monitor run reads", func(c *Config) any { return &c.Monitor.Window }},
	{"monitor-namespaces", []string{"FIXLOOP_MONITOR_NAMESPACES"}, kList, "comma-separated namespaces the monitor watches (with none and no selector: only workloads annotated fixloop.dev/monitor: \"true\")", func(c *Config) any { return &c.Monitor.Namespaces }},
	{"monitor-selector", []string{"FIXLOOP_MONITOR_SELECTOR"}, kString, "label selector of the workloads the monitor watches", func(c *Config) any { return &c.Monitor.LabelSelector }},
	{"monitor-thresholds", []string{"FIXLOOP_MONITOR_THRESHOLDS"}, kString, "default thresholds, e.g. cpu=70/90,memory=70/90,5xx=1/5,4xx=10/25,p95=1s/3s,min-requests=20", func(c *Config) any { return &c.Monitor.Thresholds }},
	{"monitor-persist", []string{"FIXLOOP_MONITOR_PERSIST"}, kInt, "consecutive windows a finding must persist before the monitor acts", func(c *Config) any { return &c.Monitor.Persist }},
	{"monitor-cooldown", []string{"FIXLOOP_MONITOR_COOLDOWN"}, kDuration, "after acting on a workload, no new action on it for this long", func(c *Config) any { return &c.Monitor.Cooldown }},
	{"monitor-max-fixes", []string{"FIXLOOP_MONITOR_MAX_FIXES"}, kInt, "fixes the monitor runs at once", func(c *Config) any { return &c.Monitor.MaxConcurrentFixes }},
	{"monitor-lease-namespace", []string{"FIXLOOP_MONITOR_LEASE_NAMESPACE"}, kString, "namespace of the monitor's leader-election Lease", func(c *Config) any { return &c.Monitor.LeaseNamespace }},
	{"monitor-lease-name", []string{"FIXLOOP_MONITOR_LEASE_NAME"}, kString, "name of the monitor's leader-election Lease", func(c *Config) any { return &c.Monitor.LeaseName }},
	{"monitor-lease-duration", []string{"FIXLOOP_MONITOR_LEASE_DURATION"}, kDuration, "a dead leader is replaced within this", func(c *Config) any { return &c.Monitor.LeaseDuration }},
	{"monitor-identity", []string{"FIXLOOP_MONITOR_IDENTITY"}, kString, "this replica's identity in the election (default host name and pid)", func(c *Config) any { return &c.Monitor.Identity }},
	{"monitor-watch-rollouts", []string{"FIXLOOP_MONITOR_WATCH_ROLLOUTS"}, kBool, "with --monitor: triage every Rollout that becomes Degraded or is aborted", func(c *Config) any { return &c.Monitor.WatchRollouts }},
}

func init() { settings = append(settings, monitorSettings...) }

func (m Monitor) validate() []error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", setting, fmt.Sprintf(format, args...)))
	}
	if m.Interval.Duration < time.Second {
		bad("monitor interval (--monitor-interval)", "%s is below 1s", m.Interval)
	}
	if m.Window.Duration < 10*time.Second {
		bad("monitor window (--monitor-window)", "%s is below 10s", m.Window)
	}
	if m.Persist < 1 {
		bad("monitor persist (--monitor-persist)", "%d: want 1 or more windows", m.Persist)
	}
	if m.MaxConcurrentFixes < 0 {
		bad("monitor max fixes (--monitor-max-fixes)", "%d is negative", m.MaxConcurrentFixes)
	}
	if m.Cooldown.Duration < 0 {
		bad("monitor cooldown (--monitor-cooldown)", "must not be negative")
	}
	if m.LeaseDuration.Duration < 2*time.Second {
		bad("monitor lease duration (--monitor-lease-duration)", "%s is below 2s", m.LeaseDuration)
	}
	if m.LeaseName == "" || m.LeaseNamespace == "" {
		bad("monitor lease (--monitor-lease-namespace / --monitor-lease-name)", "must not be empty")
	}
	return errs
}
