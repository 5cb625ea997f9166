package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"

	"github.com/fixloop/fixloop/internal/fixstate"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/redact"
)

//go:embed page.html.tmpl
var pageSource string

//go:embed page.css
var pageCSS string

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"deref":     func(p *int) int { return *p },
	"derefF":    func(p *float64) string { return fmt.Sprintf("%.3g", *p) },
	"stateText": fixstate.Text,
}).Parse(pageSource))

// Page is a rendered report and the Content-Security-Policy it must be served with.
type Page struct {
	HTML []byte
	CSP  string
}

// diffGroup is one part of the template diff: new, gone, changed or rate-changed events.
type diffGroup struct {
	Title string
	Rows  []judge.Evidence
}

type chart struct {
	Name string
	SVG  template.HTML
}

type pageData struct {
	R        Report
	Title    string
	CSS      template.CSS
	Charts   []chart
	Diff     []diffGroup
	Findings []judge.Evidence // metric, data, request and latency evidence
	// MetaCSP is the policy a standalone file carries itself (no server sends headers for it).
	MetaCSP string
}

// Render draws r. Every text that came from logs is redacted (again: the judge already did with the
// configured redactor; a stored report may predate a rule) and auto-escaped by html/template.
func Render(r Report, red *redact.Redactor) (Page, error) { return render(r, red, false) }

// RenderFile draws r as a standalone file (fixloop judge --html): the policy travels in a meta tag.
func RenderFile(r Report, red *redact.Redactor) ([]byte, error) {
	p, err := render(r, red, true)
	return p.HTML, err
}

func render(r Report, red *redact.Redactor, standalone bool) (Page, error) {
	if red == nil {
		red = redact.Default()
	}
	r = redacted(r, red)
	d := pageData{R: r, CSS: template.CSS(pageCSS), Title: "fixloop verdict: " + r.Verdict.Verdict}
	if r.Rollout != "" {
		d.Title += " — " + r.Namespace + "/" + r.Rollout
	}
	for _, s := range r.Metrics {
		svg, err := chartSVG(s)
		if err != nil {
			return Page{}, err
		}
		d.Charts = append(d.Charts, chart{Name: s.Name, SVG: svg})
	}
	d.Diff, d.Findings = splitEvidence(r.Verdict.Evidence)
	policy := csp(d.Charts) // the template itself has no style attribute: the charts' are all there are
	if standalone {
		d.MetaCSP = strings.TrimSuffix(policy, frameAncestors) // not allowed in a meta policy
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return Page{}, fmt.Errorf("rendering report: %w", err)
	}
	return Page{HTML: buf.Bytes(), CSP: policy}, nil
}

func splitEvidence(ev []judge.Evidence) ([]diffGroup, []judge.Evidence) {
	groups := []diffGroup{{Title: "New in the canary"}, {Title: "Gone from the canary"}, {Title: "Changed"}, {Title: "Rate changed"}}
	idx := map[string]int{judge.KindNewTemplate: 0, judge.KindGoneTemplate: 1, judge.KindChangedTemplate: 2, judge.KindRateChange: 3}
	var other []judge.Evidence
	for _, e := range ev {
		if i, ok := idx[e.Kind]; ok {
			groups[i].Rows = append(groups[i].Rows, e)
		} else {
			other = append(other, e)
		}
	}
	return groups, other
}

func redacted(r Report, red *redact.Redactor) Report {
	v := r.Verdict
	v.Analysis, v.RootCause, v.Remediation = red.String(v.Analysis), red.String(v.RootCause), red.String(v.Remediation)
	ev := make([]judge.Evidence, len(v.Evidence))
	for i, e := range v.Evidence {
		e.Template, e.Detail, e.Examples = red.String(e.Template), red.String(e.Detail), red.Strings(e.Examples)
		ev[i] = e
	}
	v.Evidence = ev
	r.Verdict = v
	r.Notes = red.Strings(r.Notes)
	return r
}

// csp allows nothing but the page's own stylesheet and the chart's style attributes, by hash: no
// script at all, no remote loads, no forms, no framing. A log line that got past escaping still could
// not run or load anything.
func csp(charts []chart) string {
	var svg strings.Builder
	for _, c := range charts {
		svg.WriteString(string(c.SVG))
	}
	hashes := []string{hash(pageCSS)}
	for _, s := range styleAttributes(svg.String()) {
		hashes = append(hashes, hash(s))
	}
	return "default-src 'none'; style-src 'unsafe-hashes' " + strings.Join(hashes, " ") +
		"; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'" + frameAncestors
}

const frameAncestors = "; frame-ancestors 'none'"

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
