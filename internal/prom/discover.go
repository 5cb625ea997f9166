package prom

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
)

// Candidate is what discovery found of one source: series per side (stable first) or why it is missing.
type Candidate struct {
	Source   string `json:"source"`
	Kind     Kind   `json:"kind"`
	Requests []int  `json:"requestSeries" jsonschema:"request series found per side"`
	Latency  []int  `json:"latencySeries" jsonschema:"latency histogram series found per side"`
	Found    bool   `json:"found" jsonschema:"request series exist for every side"`
	NSLabel  string `json:"namespaceLabel,omitempty" jsonschema:"label holding the backend's namespace in this source's series"`
	Why      string `json:"why,omitempty" jsonschema:"why the source is missing or was not picked"`
	// unrouted: a side has no Service of its own, so a proxy's per-Service series cannot be looked for.
	unrouted bool
}

// Discovery is the chosen source per signal and every candidate looked at.
type Discovery struct {
	Traffic    string      `json:"traffic,omitempty" jsonschema:"source of request rate and errors, empty when none was found"`
	Latency    string      `json:"latency,omitempty" jsonschema:"source of the latency histogram, empty when none was found"`
	Forced     bool        `json:"forced,omitempty" jsonschema:"the source was named by an override, not discovered"`
	Candidates []Candidate `json:"candidates"`
	Resources  []string    `json:"missingResources,omitempty" jsonschema:"cAdvisor / kube-state-metrics series absent for the pods"`
}

// Source gives the source chosen for a signal (traffic or latency); ok is false when none was.
func (d *Discovery) Source(signal string) (Source, bool) {
	name := d.Traffic
	if signal == "latency" {
		name = d.Latency
	}
	if name == "" {
		return Source{}, false
	}
	return SourceNamed(name)
}

// Selector gives the label matchers of a side for the source chosen for a signal (traffic or latency).
func (d *Discovery) Selector(signal string, side Side) (string, error) {
	s, ok := d.Source(signal)
	if !ok {
		return "", fmt.Errorf("no %s metrics source", signal)
	}
	ns := ""
	for _, c := range d.Candidates {
		if c.Source == s.Name {
			ns = c.NSLabel
		}
	}
	return s.Selector(side, ns)
}

// Why says in one line why a signal (traffic or latency) has no source, "" when it has one: which
// sources had no series for these pods, and which could not be looked for.
func (d *Discovery) Why(signal string) string {
	if _, ok := d.Source(signal); ok {
		return ""
	}
	if signal == "latency" && d.Traffic != "" {
		src, _ := d.Source("traffic")
		return fmt.Sprintf("no latency histogram: %s has no %s series for these pods and no other source found has one", src.Name, src.Latency())
	}
	var noSeries, unrouted []string
	for _, c := range d.Candidates {
		if c.unrouted {
			unrouted = append(unrouted, c.Source)
		} else if !c.Found {
			noSeries = append(noSeries, c.Source)
		}
	}
	why := "no HTTP metrics source found for these pods"
	if len(noSeries) > 0 {
		why += ": no request series of " + strings.Join(noSeries, ", ")
	}
	if len(unrouted) > 0 {
		why += "; not looked for (no Service routes to these pods alone): " + strings.Join(unrouted, ", ")
	}
	return why
}

// Discover asks Prometheus which known sources have series for every side (pods scraped within the
// lookback) and picks the first found per signal in table order (app, mesh, ingress). force names a
// source to use without looking (an override); it must be in the table.
func Discover(ctx context.Context, c Client, sides []Side, force string) (*Discovery, error) {
	d := &Discovery{Candidates: []Candidate{}}
	if force != "" {
		if _, ok := SourceNamed(force); !ok {
			return nil, fmt.Errorf("metrics source %q is not known (known: %s)", force, strings.Join(SourceNames(), ", "))
		}
		d.Traffic, d.Latency, d.Forced = force, force, true
	}
	now := time.Now()
	// The sources are probed side by side (a few instant queries each); the pick stays in table order.
	cands := make([]Candidate, len(Sources))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, s := range Sources {
		g.Go(func() (err error) {
			cands[i], err = probe(gctx, c, s, sides, now)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, s := range Sources {
		cand := cands[i]
		if cand.Found && d.Traffic == "" {
			d.Traffic = s.Name
		}
		if cand.Found && d.Latency == "" && allPositive(cand.Latency) {
			d.Latency = s.Name
		}
		d.Candidates = append(d.Candidates, cand)
	}
	for i := range d.Candidates {
		c := &d.Candidates[i]
		if c.Found && c.Source != d.Traffic && c.Why == "" {
			c.Why = "found, but " + d.Traffic + " comes first (app, then mesh, then ingress)"
		}
	}
	missing, err := missingResources(ctx, c, sides, now)
	if err != nil {
		return nil, err
	}
	d.Resources = missing
	return d, nil
}

// probe counts a source's request and latency series per side, under each namespace label it may use.
func probe(ctx context.Context, c Client, s Source, sides []Side, now time.Time) (Candidate, error) {
	labels := s.NamespaceLabels
	if len(labels) == 0 {
		labels = []string{""}
	}
	var cand Candidate
	for _, l := range labels {
		var err error
		if cand, err = probeAs(ctx, c, s, sides, now, l); err != nil || cand.Found {
			return cand, err
		}
	}
	return cand, nil
}

func probeAs(ctx context.Context, c Client, s Source, sides []Side, now time.Time, nsLabel string) (Candidate, error) {
	cand := Candidate{Source: s.Name, Kind: s.Kind, Requests: make([]int, len(sides)), Latency: make([]int, len(sides)), NSLabel: nsLabel}
	var why []string
	for i, side := range sides {
		sel, err := s.Selector(side, nsLabel)
		if err != nil {
			why = append(why, fmt.Sprintf("side %d: %v", i+1, err))
			cand.unrouted = cand.unrouted || s.SideBy == ByService
			continue
		}
		if cand.Requests[i], err = countSeries(ctx, c, fmt.Sprintf(`%s{%s,%s!=""}`, s.Requests, sel, s.Status), now); err != nil {
			return cand, err
		}
		if cand.Requests[i] == 0 {
			why = append(why, fmt.Sprintf("no %s{%s} series", s.Requests, sel))
			continue
		}
		if cand.Latency[i], err = countSeries(ctx, c, fmt.Sprintf(`%s{%s}`, s.Latency(), sel), now); err != nil {
			return cand, err
		}
	}
	cand.Found = len(why) == 0 && len(sides) > 0
	cand.Why = strings.Join(why, "; ")
	if cand.Found && !allPositive(cand.Latency) {
		cand.Why = "no latency histogram " + s.Latency()
	}
	return cand, nil
}

func countSeries(ctx context.Context, c Client, sel string, now time.Time) (int, error) {
	v, _, err := c.Query(ctx, "count("+sel+")", now)
	if err != nil {
		return 0, err
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) == 0 {
		return 0, nil
	}
	return int(vec[0].Value), nil
}

// missingResources lists the cAdvisor / kube-state-metrics series absent for some side's pods.
func missingResources(ctx context.Context, c Client, sides []Side, now time.Time) ([]string, error) {
	var missing []string
	for _, name := range ResourceSeries {
		for _, side := range sides {
			sel, err := side.PodMatchers()
			if err != nil {
				continue
			}
			n, err := countSeries(ctx, c, fmt.Sprintf(`%s{%s}`, name, sel), now)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				missing = append(missing, name)
				break
			}
		}
	}
	return missing, nil
}

func allPositive(ns []int) bool {
	for _, n := range ns {
		if n <= 0 {
			return false
		}
	}
	return len(ns) > 0
}
