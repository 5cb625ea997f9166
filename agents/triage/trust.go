package triage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/kube"
)

// Per-rollout settings an operator puts on the Rollout (cluster objects: only who may change the
// rollout may set them). Patterns are one regular expression per line.
const (
	AnnotationIgnore      = "fixloop.dev/ignore"
	AnnotationMask        = "fixloop.dev/mask"
	AnnotationExtraPrompt = "fixloop.dev/extra-prompt"
	AnnotationRepo        = "fixloop.dev/repo"
	AnnotationBaseBranch  = "fixloop.dev/base-branch"
)

// metricAIPlugin is the Argo Rollouts AI metric plugin's provider name.
const metricAIPlugin = "argoproj-labs/metric-ai"

// analysisInputs are the settings an analysis may act on: patterns, operator intent, repository.
type analysisInputs struct {
	Ignore, Mask        []string
	ExtraPrompt         string
	RepoURL, BaseBranch string
	From                []string // where they came from, for notes
}

// merge adds o's settings: patterns add up, scalar settings from o win when set.
func (a *analysisInputs) merge(o analysisInputs) {
	a.Ignore = appendNew(a.Ignore, o.Ignore...)
	a.Mask = appendNew(a.Mask, o.Mask...)
	if o.ExtraPrompt != "" {
		a.ExtraPrompt = strings.TrimSpace(strings.TrimSpace(a.ExtraPrompt) + "\n" + o.ExtraPrompt)
	}
	a.RepoURL = firstNonEmpty(o.RepoURL, a.RepoURL)
	a.BaseBranch = firstNonEmpty(o.BaseBranch, a.BaseBranch)
	a.From = append(a.From, o.From...)
}

func appendNew(dst []string, add ...string) []string {
	for _, s := range add {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// rolloutInputs reads the fixloop.dev/* annotations of a rollout.
func rolloutInputs(ro *kube.Rollout) analysisInputs {
	if ro == nil || ro.Object == nil {
		return analysisInputs{}
	}
	ann := ro.Object.GetAnnotations()
	in := analysisInputs{Ignore: lines(ann[AnnotationIgnore]), Mask: lines(ann[AnnotationMask]),
		ExtraPrompt: strings.TrimSpace(ann[AnnotationExtraPrompt]), RepoURL: strings.TrimSpace(ann[AnnotationRepo]),
		BaseBranch: strings.TrimSpace(ann[AnnotationBaseBranch])}
	if len(in.Ignore)+len(in.Mask) > 0 || in.ExtraPrompt != "" || in.RepoURL != "" || in.BaseBranch != "" {
		in.From = []string{"rollout annotations fixloop.dev/*"}
	}
	return in
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// activeAnalysisRun finds the AnalysisRun that is asking: the newest one the rollout controls for its
// current canary revision that is still running and has a metric of the given provider ("web" or the
// AI metric plugin). nil when there is none (a person calling the route by hand).
func activeAnalysisRun(ctx context.Context, kc kube.Client, ro *kube.Rollout, provider string) (*unstructured.Unstructured, error) {
	if ro.Object == nil {
		return nil, nil
	}
	l, err := kc.Dynamic().Resource(kube.AnalysisRunsGVR).Namespace(ro.Namespace).List(ctx,
		metav1.ListOptions{LabelSelector: kube.PodTemplateHashLabel + "=" + ro.CurrentHash, Limit: 200})
	if err != nil {
		return nil, kube.Explain(err, kc.Server(), "list AnalysisRuns in "+ro.Namespace)
	}
	var runs []unstructured.Unstructured
	for _, ar := range l.Items {
		if controlledBy(ar, ro.Object.GetUID()) && runActive(ar) && hasProvider(ar, provider) {
			runs = append(runs, ar)
		}
	}
	if len(runs) == 0 {
		return nil, nil
	}
	sort.Slice(runs, func(i, j int) bool {
		ti, tj := runs[i].GetCreationTimestamp(), runs[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return runs[i].GetName() > runs[j].GetName()
	})
	return &runs[0], nil
}

func controlledBy(u unstructured.Unstructured, uid any) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.UID == uid && ref.Kind == "Rollout" {
			return true
		}
	}
	return false
}

// runActive: a run that does not decode as an AnalysisRun counts as active (it may still be asking).
func runActive(u unstructured.Unstructured) bool {
	run, err := kube.ParseAnalysisRun(&u)
	return err != nil || kube.RunActive(run)
}

// runMetricProviders lists each metric's provider config with the run's args resolved, keyed by
// provider ("web", or "plugin:<name>").
func runMetricProviders(u unstructured.Unstructured) map[string][]map[string]any {
	args := map[string]string{}
	rawArgs, _, _ := unstructured.NestedSlice(u.Object, "spec", "args")
	for _, a := range rawArgs {
		if m, ok := a.(map[string]any); ok {
			name, _ := m["name"].(string)
			if v, ok := m["value"].(string); ok {
				args["args."+name] = v
			}
		}
	}
	out := map[string][]map[string]any{}
	metrics, _, _ := unstructured.NestedSlice(u.Object, "spec", "metrics")
	for _, m := range metrics {
		p, _, _ := unstructured.NestedMap(asMap(m), "provider")
		if web, ok := p["web"].(map[string]any); ok {
			out["web"] = append(out["web"], resolveArgs(web, args).(map[string]any))
		}
		plugins, _ := p["plugin"].(map[string]any)
		for name, cfg := range plugins {
			if c, ok := cfg.(map[string]any); ok {
				out["plugin:"+name] = append(out["plugin:"+name], resolveArgs(c, args).(map[string]any))
			}
		}
	}
	return out
}

func hasProvider(u unstructured.Unstructured, provider string) bool {
	return len(runMetricProviders(u)[provider]) > 0
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// resolveArgs substitutes {{args.NAME}} in every string, as Argo does when it measures.
func resolveArgs(v any, args map[string]string) any {
	switch x := v.(type) {
	case string:
		for k, val := range args {
			x = strings.ReplaceAll(x, "{{"+k+"}}", val)
			x = strings.ReplaceAll(x, "{{ "+k+" }}", val)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = resolveArgs(e, args)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveArgs(e, args)
		}
		return out
	}
	return v
}

// runInputs reads the settings an AnalysisRun's template gives fixloop: the web provider's jsonBody
// (ignore, mask, extraPrompt, repoUrl, baseBranch) or the AI metric plugin's config (extraPrompt,
// githubUrl, baseBranch).
func runInputs(ar *unstructured.Unstructured) analysisInputs {
	if ar == nil {
		return analysisInputs{}
	}
	var in analysisInputs
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return strings.TrimSpace(s) }
	strs := func(m map[string]any, k string) []string {
		var out []string
		for _, v := range asSlice(m[k]) {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	provs := runMetricProviders(*ar)
	for _, web := range provs["web"] {
		body := asMap(web["jsonBody"])
		in.merge(analysisInputs{Ignore: strs(body, "ignore"), Mask: strs(body, "mask"), ExtraPrompt: str(body, "extraPrompt"),
			RepoURL: str(body, "repoUrl"), BaseBranch: str(body, "baseBranch")})
	}
	for _, c := range provs["plugin:"+metricAIPlugin] {
		in.merge(analysisInputs{ExtraPrompt: str(c, "extraPrompt"), RepoURL: str(c, "githubUrl"), BaseBranch: str(c, "baseBranch")})
	}
	in.From = []string{fmt.Sprintf("AnalysisRun %s", ar.GetName())}
	return in
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// requestExtras is what a request asked for beyond the trusted settings: untrusted.
type requestExtras struct {
	Ignore, Mask []string
	ExtraPrompt  string
	Repo         bool // a repository or base branch other than the configured one was asked for
}

func (r requestExtras) any() bool {
	return len(r.Ignore)+len(r.Mask) > 0 || r.ExtraPrompt != "" || r.Repo
}

// splitTrust separates what a request asks for into what the trusted settings already say and
// untrusted extras. Patterns inside an untrusted extraPrompt ("ignore:"/"mask:" lines) are extras too.
func splitTrust(in AnalyzeInput, trusted analysisInputs) requestExtras {
	var x requestExtras
	prompt := strings.TrimSpace(in.ExtraPrompt)
	ignore, mask := in.Ignore, in.Mask
	if prompt != "" && !strings.Contains(trusted.ExtraPrompt, prompt) {
		x.ExtraPrompt = prompt
		ignore = append(slices.Clone(ignore), IgnoresFromPrompt(prompt)...)
		mask = append(slices.Clone(mask), MasksFromPrompt(prompt)...)
	}
	for _, p := range ignore {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(trusted.Ignore, p) {
			x.Ignore = appendNew(x.Ignore, p)
		}
	}
	for _, p := range mask {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(trusted.Mask, p) {
			x.Mask = appendNew(x.Mask, p)
		}
	}
	x.Repo = (in.RepoURL != "" && !sameRepo(in.RepoURL, trusted.RepoURL)) || (in.BaseBranch != "" && in.BaseBranch != trusted.BaseBranch)
	return x
}

// sameRepo compares owner/name whatever the URL form (https://github.com/o/r(.git), o/r).
func sameRepo(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
		parts := strings.Split(s, "/")
		if len(parts) >= 2 {
			return parts[len(parts)-2] + "/" + parts[len(parts)-1]
		}
		return s
	}
	return b != "" && norm(a) == norm(b)
}

// ErrRefused marks a request whose inputs fixloop will not act on (e.g. a pattern that matches most
// records): the caller gets a clear error, never a verdict computed from it.
var ErrRefused = errors.New("request refused")

// inputs resolves the settings an analysis acts on: configuration (default repository and branch),
// the rollout's fixloop.dev/* annotations, the asking AnalysisRun's template and an authenticated
// caller holding scope write are trusted; whatever else the request asks for is returned as untrusted
// extras.
func (t *Triage) inputs(ctx context.Context, in AnalyzeInput) (analysisInputs, requestExtras) {
	trusted := analysisInputs{RepoURL: t.cfg.DefaultRepo, BaseBranch: t.cfg.DefaultBaseBranch}
	if kc := t.cfg.Tools.Kube; kc != nil && in.Rollout != "" {
		if ro, err := kc.GetRollout(ctx, in.Namespace, in.Rollout); err == nil {
			trusted.merge(rolloutInputs(ro))
		}
	}
	trusted.merge(in.run)
	if id := auth.FromContext(ctx); id != nil && id.Method != "none" && id.Has(auth.ScopeWrite) {
		// An authenticated caller who may promote and abort anyway may also say what to ignore.
		trusted.merge(analysisInputs{Ignore: in.Ignore, Mask: in.Mask, ExtraPrompt: in.ExtraPrompt, RepoURL: in.RepoURL,
			BaseBranch: in.BaseBranch, From: []string{"authenticated caller " + id.Name}})
	}
	// "ignore:"/"mask:" lines of a trusted extra prompt are trusted patterns.
	trusted.Ignore = appendNew(trusted.Ignore, IgnoresFromPrompt(trusted.ExtraPrompt)...)
	trusted.Mask = appendNew(trusted.Mask, MasksFromPrompt(trusted.ExtraPrompt)...)
	return trusted, splitTrust(in, trusted)
}

// noteUntrusted says in the result what of the request was not taken as configuration.
func (t *Triage) noteUntrusted(res *AnalyzeResult, x requestExtras) {
	if len(x.Ignore) > 0 {
		res.Untrusted = append(res.Untrusted, fmt.Sprintf("ignore patterns %q from the request: used for this verdict only (no issue, never cached for Argo's polls)", x.Ignore))
	}
	if len(x.Mask) > 0 {
		res.Untrusted = append(res.Untrusted, fmt.Sprintf("mask patterns %q from the request: used for this verdict only (no issue, never cached for Argo's polls)", x.Mask))
	}
	if x.ExtraPrompt != "" {
		res.Untrusted = append(res.Untrusted, "extraPrompt from the request not used: put operator intent in the AnalysisTemplate or the rollout's "+AnnotationExtraPrompt+" annotation")
	}
	if x.Repo {
		res.Untrusted = append(res.Untrusted, "repository/base branch from the request not used: set them in fixloop's configuration, the AnalysisTemplate or the "+AnnotationRepo+" annotation")
	}
}
