package triage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/pgtest"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/test/fixloopserve"
)

// Two `fixloop serve` replicas on one real PostgreSQL, one local GitHub and the real cluster (issue 16
// item 2, issue 18 across replicas). The same aborts are fired at both at once, many times: each failing
// rollout ends with one issue, labelled jules once (one fix started, one pull request). Then one
// replica is SIGKILLed while it files a new failure: the other waits out the dead replica's lease and
// files it, once.
func TestTwoReplicasOnePostgresFileOnce(t *testing.T) {
	e := clusterTest(t)
	pgURL := startPostgres(t)
	gh := newReplicaGitHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := &ghsink.ScriptedAgent{API: gh.url + "/agent/", Token: julesToken, Repo: "acme/ha", Label: "jules", Interval: 200 * time.Millisecond}
	go agent.Run(ctx)
	flags := []string{"--store", pgURL, "--fixer", "label:jules", "--handoff-wait", "0s", "--handoff-poll-interval", "500ms"}
	replicas := [2]*serveProc{
		startServe(t, e, gh.url+"/a/", "acme/ha", flags...),
		startServe(t, e, gh.url+"/b/", "acme/ha", flags...),
	}
	ns := e.NewNamespace(t, "ha")
	var wg sync.WaitGroup
	for _, name := range []string{"bad", "bad2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deployCanary(t, e, ns, name, map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
		}()
	}
	wg.Wait()
	soak(t, e, ns, 8)

	// 1. Three analyses of "bad" on each replica at once; GitHub holds each replica's first issue search
	// until the other's arrives (or 5 s pass), so both file at the same moment.
	gh.meetAt("/issues", 5*time.Second, "/a/", "/b/")
	answers := fireAnalyses(ns, "bad", replicas[:], 3)
	for i, a := range answers {
		if a.err != nil || a.out["promote"] != false {
			t.Fatalf("analysis %d on replica %d: %v %v\nreplica log:\n%s", i, a.replica, a.out, a.err, tail(replicas[a.replica].log(), 40))
		}
	}
	gh.checkOncePerFailure(t, 1)

	// 2. "bad2" on both; replica b is killed at its first GitHub request (inside the issue claim, or
	// waiting for it): replica a's analyses finish and file it once.
	gh.killOnFirst("/b/", func() { replicas[1].kill(syscall.SIGKILL) })
	start := time.Now()
	answers = fireAnalyses(ns, "bad2", replicas[:], 3)
	t.Logf("with replica b killed while filing: replica a's analyses answered within %s", time.Since(start).Round(time.Second))
	var fromA int
	for _, a := range answers {
		if a.replica == 0 {
			if a.err != nil || a.out["promote"] != false {
				t.Fatalf("analysis on the surviving replica: %v %v\nlog:\n%s", a.out, a.err, tail(replicas[0].log(), 40))
			}
			fromA++
		}
	}
	if !gh.killed.Load() || fromA != 3 {
		t.Fatalf("replica b killed %v, answers from a %d: the crash was not exercised", gh.killed.Load(), fromA)
	}
	gh.checkOncePerFailure(t, 2)
}

// startPostgres starts a throwaway PostgreSQL server and returns a fresh database's URL.
func startPostgres(t *testing.T) string {
	t.Helper()
	srv, err := pgtest.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	url, err := srv.NewDatabase(context.Background(), "fixloop_ha")
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// replicaGitHub is one local GitHub seen by each replica under its own path prefix (/a/, /b/), so the
// test knows who asked, with GitHub-like latency so that replicas' calls overlap as they do for real.
type replicaGitHub struct {
	sink   *ghsink.Server
	url    string
	mu     sync.Mutex
	prefix string
	onHit  func()
	killed atomic.Bool
	meet   *meeting
}

// meeting holds the first request under suffix from each of prefixes until all have arrived or the
// wait is over: without a claim shared by replicas, both then find no issue and both open one.
type meeting struct {
	suffix  string
	wait    time.Duration
	pending map[string]bool
	all     chan struct{}
}

func (g *replicaGitHub) meetAt(suffix string, wait time.Duration, prefixes ...string) {
	m := &meeting{suffix: suffix, wait: wait, pending: map[string]bool{}, all: make(chan struct{})}
	for _, p := range prefixes {
		m.pending[p] = true
	}
	g.mu.Lock()
	g.meet = m
	g.mu.Unlock()
}

// arrive blocks a replica's first matching request at the meeting.
func (g *replicaGitHub) arrive(prefix string, r *http.Request) {
	g.mu.Lock()
	m := g.meet
	if m == nil || !m.pending[prefix] || !strings.HasSuffix(r.URL.Path, m.suffix) {
		g.mu.Unlock()
		return
	}
	delete(m.pending, prefix)
	if len(m.pending) == 0 {
		close(m.all)
		g.meet = nil
	}
	g.mu.Unlock()
	select {
	case <-m.all:
	case <-time.After(m.wait):
	}
}

func newReplicaGitHub(t *testing.T) *replicaGitHub {
	sink, err := ghsink.New(ghsink.Options{Users: map[string]string{julesToken: "google-labs-jules"}})
	if err != nil {
		t.Fatal(err)
	}
	g := &replicaGitHub{sink: sink}
	mux := http.NewServeMux()
	for _, p := range []string{"/a", "/b", "/agent"} {
		mux.Handle(p+"/", http.StripPrefix(p, g.slow(p+"/", sink)))
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	sink.SetBaseURL(ts.URL + "/agent")
	g.url = ts.URL
	return g
}

// slow delays each request by 150 ms (api.github.com's order of magnitude) and runs the kill hook at
// the armed replica's first issue-filing request.
func (g *replicaGitHub) slow(prefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		hit := g.onHit
		// Issue filing lists or creates /issues; the hand-off follower's looks go elsewhere.
		if hit != nil && prefix == g.prefix && strings.HasSuffix(r.URL.Path, "/issues") {
			g.onHit = nil
		} else {
			hit = nil
		}
		g.mu.Unlock()
		if hit != nil {
			hit()
			g.killed.Store(true)
			return // the replica is gone; nobody reads the answer
		}
		g.arrive(prefix, r)
		time.Sleep(150 * time.Millisecond)
		next.ServeHTTP(w, r)
	})
}

func (g *replicaGitHub) killOnFirst(prefix string, kill func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prefix, g.onHit = prefix, kill
}

// checkOncePerFailure: want issues in all, one per fingerprint, and one fix per fingerprint: with
// --fixer label:jules the fix starts when the jules label is added, so each issue gets exactly one
// label request (a second would be a second fix start), and the agent it summons opens one pull
// request for it.
func (g *replicaGitHub) checkOncePerFailure(t *testing.T, want int) {
	t.Helper()
	issues := g.sink.Issues("acme/ha")
	var titles []string
	fingerprints := map[string]int{}
	for _, is := range issues {
		titles = append(titles, is.Title)
		jules := 0
		for _, l := range is.Labels {
			if l.Name == "jules" {
				jules++
			}
			if strings.HasPrefix(l.Name, "fixloop:fp-") {
				fingerprints[l.Name]++
			}
		}
		if jules != 1 {
			t.Errorf("issue #%d has the jules label %d times", is.Number, jules)
		}
	}
	if len(issues) != want || len(fingerprints) != want {
		t.Fatalf("%d issues %q under %d fingerprints, want %d (one per failing rollout)", len(issues), titles, len(fingerprints), want)
	}
	fixStarts := map[string]int{}
	for _, r := range g.sink.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/labels") {
			fixStarts[r.Path]++
		}
	}
	for _, is := range issues {
		if n := fixStarts[fmt.Sprintf("/repos/acme/ha/issues/%d/labels", is.Number)]; n != 1 {
			t.Errorf("issue #%d: the fix was started (labelled jules) %d times, want once", is.Number, n)
		}
	}
	testenv.WaitFor(t, fmt.Sprintf("the coding agent's pull requests for %d issues", want), 200*time.Millisecond, time.Minute, func() (bool, string) {
		n := len(g.sink.Pulls("acme/ha"))
		return n >= want, fmt.Sprintf("%d pull requests", n)
	})
	if n := len(g.sink.Pulls("acme/ha")); n != want {
		t.Fatalf("%d pull requests for %d failures: a fix ran twice", n, want)
	}
}

type replicaAnswer struct {
	replica int
	out     map[string]any
	err     error
}

// fireAnalyses sends n AI-plugin analyses of ns/rollout to each replica at once.
func fireAnalyses(ns, rollout string, replicas []*serveProc, n int) []replicaAnswer {
	out := make([]replicaAnswer, len(replicas)*n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := i % len(replicas)
			res, err := postAnalyze(replicas[r].URL, ns, rollout, "acme/ha")
			out[i] = replicaAnswer{replica: r, out: res, err: err}
		}()
	}
	wg.Wait()
	return out
}

// postAnalyze is pluginAnalyzeWith's request, returning errors instead of failing (it runs in goroutines).
func postAnalyze(base, ns, rollout, repo string) (map[string]any, error) {
	raw, err := fixloopserve.AnalyzeAsAIPlugin(base, ns, rollout, repo, "", 5*time.Minute)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %s", raw)
	}
	return out, nil
}
