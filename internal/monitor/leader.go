package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/fixloop/fixloop/internal/kube"
)

// Lease configures the leader election among replicas.
type Lease struct {
	Namespace string
	Name      string        // default fixloop-monitor
	Identity  string        // this replica (unique: host and pid)
	Duration  time.Duration // a dead leader is replaced within this (default 15s)
	Renew     time.Duration // the leader gives up when it cannot renew within this (default 2/3 of Duration)
	Retry     time.Duration // candidates try this often (default Duration/5)
}

func (l *Lease) defaults() {
	if l.Name == "" {
		l.Name = "fixloop-monitor"
	}
	if l.Namespace == "" {
		l.Namespace = "default"
	}
	if l.Duration <= 0 {
		l.Duration = 15 * time.Second
	}
	if l.Renew <= 0 || l.Renew >= l.Duration {
		l.Renew = l.Duration * 2 / 3
	}
	if l.Retry <= 0 || l.Retry >= l.Renew {
		l.Retry = max(l.Duration/5, 100*time.Millisecond)
	}
}

// RunElected runs lead while this replica holds the Lease and competes again when it loses it, until ctx
// ends. Only the holder runs the monitor; status shows who holds the lease.
func RunElected(ctx context.Context, kc kube.Client, l Lease, status *Status, log *slog.Logger, lead func(context.Context)) error {
	l.defaults()
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, l.Namespace, l.Name, kc.Typed().CoreV1(), kc.Typed().CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: l.Identity})
	if err != nil {
		return fmt.Errorf("monitor lease %s/%s: %w", l.Namespace, l.Name, err)
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: l.Duration, RenewDeadline: l.Renew, RetryPeriod: l.Retry,
			// Released on shutdown so a rolling update hands over at once instead of after Duration.
			ReleaseOnCancel: true, Name: l.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					status.setLeader(l.Identity, true)
					log.Info("monitor: this replica holds the lease", "lease", l.Namespace+"/"+l.Name, "identity", l.Identity)
					lead(ctx)
				},
				OnStoppedLeading: func() {
					status.setLeader("", false)
					log.Info("monitor: lease lost or released", "identity", l.Identity)
				},
				OnNewLeader: func(id string) { status.setLeader(id, id == l.Identity) },
			},
		})
		if err != nil {
			return fmt.Errorf("monitor leader election: %w", err)
		}
		le.Run(ctx) // returns when leadership ends; compete again unless shutting down
	}
	return nil
}
