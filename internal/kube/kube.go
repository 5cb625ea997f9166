// Package kube is fixloop's small window onto a Kubernetes cluster: the typed clientset, a dynamic
// client for Argo Rollouts, paged listing, bounded-concurrency pod logs and rollout patches, all with
// timeouts and errors that say what to fix.
package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// Argo Rollouts resources, reached through the dynamic client so fixloop needs no argo-rollouts import.
var (
	RolloutsGVR     = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}
	AnalysisRunsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}
)

// ErrNoCluster is what every cluster call returns when fixloop was started without a kubeconfig.
var ErrNoCluster = errors.New("no cluster configured: set KUBECONFIG or --kubeconfig (or run in a pod with a service account)")

// Options select and tune the connection.
type Options struct {
	Kubeconfig string        // explicit path; empty = in-cluster, then $KUBECONFIG, then ~/.kube/config
	Context    string        // kubeconfig context; empty = current
	Timeout    time.Duration // per HTTP request (default 30s)
	QPS        float32       // client-side rate limit (default 50)
	Burst      int           // (default 100)
}

// Client is what tools and agents use. *Cluster implements it.
type Client interface {
	Typed() kubernetes.Interface
	Dynamic() dynamic.Interface
	// Server is the API server URL, for messages.
	Server() string
	// GetRollout reads an Argo Rollout; PatchRollout applies merge patches the way kubectl-argo-rollouts
	// does (status subresource first, whole object when the CRD has no status subresource).
	GetRollout(ctx context.Context, ns, name string) (*Rollout, error)
	PatchRollout(ctx context.Context, ns, name string, statusPatch, specPatch []byte) (*Rollout, error)
	// PodLogs fetches many pods' logs with at most concurrency streams at once; each is called serially.
	PodLogs(ctx context.Context, reqs []LogRequest, concurrency int, each func(LogResult)) error
}

// Cluster is a Client over a rest.Config.
type Cluster struct {
	cfg     *rest.Config
	typed   kubernetes.Interface
	dyn     dynamic.Interface
	context string
}

var _ Client = (*Cluster)(nil)

// Resolve finds the kubeconfig the way kubectl does, with in-cluster first when no path is given.
// It returns ErrNoCluster when nothing is configured, so a server can start without a cluster.
func Resolve(o Options) (*rest.Config, string, error) {
	path := o.Kubeconfig
	if path == "" {
		if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
			if cfg, err := rest.InClusterConfig(); err == nil {
				return cfg, "in-cluster", nil
			}
		}
		if env := os.Getenv("KUBECONFIG"); env != "" {
			path = env
		} else if home, err := os.UserHomeDir(); err == nil {
			p := filepath.Join(home, ".kube", "config")
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path == "" {
		return nil, "", ErrNoCluster
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(path)}
	for _, p := range rules.Precedence {
		if _, err := os.Stat(p); err != nil {
			return nil, "", fmt.Errorf("kubeconfig %s: %w (fix --kubeconfig / KUBECONFIG)", p, err)
		}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading kubeconfig %s: %w", path, err)
	}
	ctxName := o.Context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	if o.Context != "" {
		if _, ok := raw.Contexts[o.Context]; !ok {
			names := make([]string, 0, len(raw.Contexts))
			for n := range raw.Contexts {
				names = append(names, n)
			}
			return nil, "", fmt.Errorf("context %q not found in kubeconfig %s (available: %s)", o.Context, path, strings.Join(names, ", "))
		}
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %s context %q: %w", path, ctxName, err)
	}
	return cfg, ctxName, nil
}

// New connects lazily (no request is made): a wrong server shows up as an "unreachable" error on use.
func New(o Options) (*Cluster, error) {
	cfg, ctxName, err := Resolve(o)
	if err != nil {
		return nil, err
	}
	return NewFromConfig(cfg, ctxName, o)
}

// NewFromConfig wraps an existing rest.Config (tests, in-process agents).
func NewFromConfig(cfg *rest.Config, contextName string, o Options) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = o.Timeout
	}
	if o.QPS <= 0 {
		o.QPS = 50
	}
	if o.Burst <= 0 {
		o.Burst = 100
	}
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	cfg.UserAgent = "fixloop"
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return telemetry.Transport(rt, "kubernetes") })
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", cfg.Host, err)
	}
	return &Cluster{cfg: cfg, typed: typed, dyn: dyn, context: contextName}, nil
}

func (c *Cluster) Typed() kubernetes.Interface { return c.typed }
func (c *Cluster) Dynamic() dynamic.Interface  { return c.dyn }
func (c *Cluster) Server() string              { return c.cfg.Host }

// Context is the kubeconfig context in use ("in-cluster" inside a pod).
func (c *Cluster) Context() string { return c.context }

// Explain turns a client-go error into one that names what to fix. what describes the object or
// action ("rollout shop/web", "list pods in shop"); server is the API server URL.
func Explain(err error, server, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoCluster) {
		return err
	}
	var se apierrors.APIStatus
	switch {
	case apierrors.IsNotFound(err):
		return &Error{Kind: KindNotFound, Err: fmt.Errorf("%s: not found (check the namespace and name): %w", what, err)}
	case apierrors.IsForbidden(err):
		return &Error{Kind: KindForbidden, Err: fmt.Errorf("%s: forbidden by RBAC: %s: %w", what, missingPermission(err), err)}
	case apierrors.IsUnauthorized(err):
		return &Error{Kind: KindUnauthorized, Err: fmt.Errorf("%s: credentials rejected by the API server at %s (refresh the kubeconfig credentials): %w", what, server, err)}
	case meta.IsNoMatchError(err):
		return &Error{Kind: KindNotFound, Err: fmt.Errorf("%s: resource type not served by the cluster (are the Argo Rollouts CRDs installed?): %w", what, err)}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindOther, Err: fmt.Errorf("%s: cancelled by the caller: %w", what, err)}
	case errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err):
		return &Error{Kind: KindUnreachable, Err: fmt.Errorf("%s: kubernetes API server at %s did not answer in time (check the cluster is up and reachable): %w", what, server, err)}
	case isNetErr(err):
		return &Error{Kind: KindUnreachable, Err: fmt.Errorf("%s: kubernetes API server at %s unreachable (check the kubeconfig/--context and that the cluster is up): %w", what, server, err)}
	case errors.As(err, &se):
		return &Error{Kind: KindOther, Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Kind classifies an explained error so callers can react (e.g. a promote that finds nothing).
type Kind string

const (
	KindNotFound     Kind = "not_found"
	KindForbidden    Kind = "forbidden"
	KindUnauthorized Kind = "unauthorized"
	KindUnreachable  Kind = "unreachable"
	KindOther        Kind = "other"
)

// Error is an explained cluster error.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is an explained error of the kind.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

func isNetErr(err error) bool {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || errors.As(err, &ue) ||
		errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "no such host")
}

// forbiddenRE reads the apiserver's RBAC denial: `User "u" cannot list resource "pods" in API group ""
// in the namespace "shop"` (the group and namespace parts are optional).
var forbiddenRE = regexp.MustCompile(`User "([^"]*)" cannot (\S+) resource "([^"]*)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)")?`)

// missingPermission names the rule a denied request lacks and where to add it, so an operator can
// grant exactly that (manifests/rbac.yaml, or the per-namespace Role of manifests/namespaced).
func missingPermission(err error) string {
	m := forbiddenRE.FindStringSubmatch(err.Error())
	if m == nil {
		return "grant fixloop's identity this verb with a Role/ClusterRole binding"
	}
	user, verb, resource, group, ns := m[1], m[2], m[3], m[4], m[5]
	where := "cluster-wide (ClusterRole)"
	if ns != "" {
		where = fmt.Sprintf("in namespace %q (Role or ClusterRole)", ns)
	}
	return fmt.Sprintf("%s lacks permission %q on %q (apiGroups: [%q]) %s; add it to the role bound to it (manifests/rbac.yaml, or manifests/namespaced for per-namespace Roles)",
		user, verb, resource, group, where)
}
