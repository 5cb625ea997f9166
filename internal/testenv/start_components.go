package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fixloop/fixloop/internal/freeport"
)

func (s *starter) allocatePorts() error {
	for _, name := range []string{"etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok",
		"rollouts-metrics", "rollouts-healthz", "prometheus", "supervisor"} {
		p, err := freeport.Get()
		if err != nil {
			return err
		}
		s.ports[name] = p
	}
	return nil
}

// issueCertificates creates one CA, serving certs for the apiserver and kwok's kubelet endpoint, and a
// client cert (and kubeconfig) per identity so RBAC sees each component as itself.
func (s *starter) issueCertificates(context.Context) error {
	ca, err := newPKI(s.path("pki"))
	if err != nil {
		return fmt.Errorf("creating the certificate authority: %w", err)
	}
	s.ca, s.certs = ca, map[string][2]string{}
	for _, c := range []struct {
		name, cn string
		orgs     []string
		hosts    []string
	}{
		{"apiserver", "kube-apiserver", nil, []string{"127.0.0.1", "localhost", "10.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}},
		{"kwok-serving", "kwok-kubelet", nil, []string{"127.0.0.1", "localhost"}},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"kubeadm:cluster-admins"}, nil},
	} {
		cert, key, err := ca.issue(c.name, c.cn, c.orgs, c.hosts)
		if err != nil {
			return err
		}
		s.certs[c.name] = [2]string{cert, key}
	}
	if s.saPub, s.saKey, err = ca.serviceAccountKeys(); err != nil {
		return err
	}
	s.apiURL = fmt.Sprintf("https://127.0.0.1:%d", s.ports["apiserver"])
	s.kubeconfigs = map[string]string{}
	identities := []struct{ name, cn, org string }{
		{"admin", "fixloop-admin", "system:masters"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"scheduler", "system:kube-scheduler", ""},
		// kwok simulates every kubelet and writes node and pod status for all of them.
		{"kwok", "kwok-controller", "system:masters"},
		{"rollouts", "argo-rollouts-controller", "system:masters"},
		{"supervisor", "fixloop-pod-supervisor", "system:masters"},
	}
	for _, id := range identities {
		var orgs []string
		if id.org != "" {
			orgs = []string{id.org}
		}
		c, k, err := ca.issue("client-"+id.name, id.cn, orgs, nil)
		if err != nil {
			return err
		}
		kc := s.path("kubeconfigs", id.name+".kubeconfig")
		if err := writeKubeconfig(kc, s.apiURL, ca.CAFile, c, k, id.cn); err != nil {
			return err
		}
		s.kubeconfigs[id.name] = kc
	}
	return nil
}

func (s *starter) startEtcd(ctx context.Context) error {
	s.progress("starting etcd %s", EtcdVersion)
	s.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", s.ports["etcd"])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", s.ports["etcd-peer"])
	if _, err := startProcess(s.dir, "etcd", s.bins.Etcd, []string{
		"--name=testenv", "--data-dir=" + s.path("data", "etcd"),
		"--listen-client-urls=" + s.etcdURL, "--advertise-client-urls=" + s.etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=testenv=" + peerURL, "--unsafe-no-fsync=true", "--log-level=warn",
		"--quota-backend-bytes=2147483648",
	}, s.env); err != nil {
		return err
	}
	return s.waitHTTP(ctx, "etcd", s.etcdURL+"/health", http.DefaultClient, 30*time.Second)
}

// startAPIServer starts kube-apiserver, waits until it is ready and builds the admin clients.
func (s *starter) startAPIServer(ctx context.Context) error {
	s.progress("starting kube-apiserver %s", K8sVersion)
	api, kubeletClient := s.certs["apiserver"], s.certs["apiserver-kubelet-client"]
	if _, err := startProcess(s.dir, "kube-apiserver", s.bins.APIServer, []string{
		"--etcd-servers=" + s.etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", s.ports["apiserver"]),
		"--tls-cert-file=" + api[0], "--tls-private-key-file=" + api[1], "--client-ca-file=" + s.ca.CAFile,
		"--cert-dir=" + s.path("certs", "apiserver"),
		"--service-account-key-file=" + s.saPub, "--service-account-signing-key-file=" + s.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--authorization-mode=Node,RBAC", "--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
		"--kubelet-client-certificate=" + kubeletClient[0], "--kubelet-client-key=" + kubeletClient[1],
		"--kubelet-certificate-authority=" + s.ca.CAFile, "--kubelet-preferred-address-types=InternalIP",
		"--profiling=false", "--v=0",
	}, s.env); err != nil {
		return err
	}
	adminHTTP, err := tlsClient(s.ca.CAFile, s.path("pki", "client-admin.crt"), s.path("pki", "client-admin.key"))
	if err != nil {
		return err
	}
	if err := s.waitHTTP(ctx, "kube-apiserver", s.apiURL+"/readyz", adminHTTP, 90*time.Second); err != nil {
		return err
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfigs["admin"])
	if err != nil {
		return err
	}
	restCfg.QPS, restCfg.Burst, restCfg.Timeout = 50, 100, 30*time.Second
	if s.cs, err = kubernetes.NewForConfig(restCfg); err != nil {
		return err
	}
	s.dyn, err = dynamic.NewForConfig(restCfg)
	return err
}

// installCRDs installs kwok's Logs and Argo Rollouts' CRDs and the namespaces the components use.
func (s *starter) installCRDs(ctx context.Context) error {
	s.progress("installing CRDs (kwok Logs, Argo Rollouts)")
	crdFiles := []string{filepath.Join(s.bins.KwokCRDs, "kwok.x-k8s.io_logs.yaml")}
	argo, _ := filepath.Glob(filepath.Join(s.bins.RolloutsCRDs, "*-crd.yaml"))
	if err := applyCRDs(ctx, s.dyn, append(crdFiles, argo...)); err != nil {
		return err
	}
	for _, ns := range []string{"argo-rollouts", "fixloop-system"} {
		_, err := s.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	return nil
}

func (s *starter) startControllerManager(context.Context) error {
	s.progress("starting kube-controller-manager, kube-scheduler, kwok %s, argo-rollouts %s, prometheus", KwokVersion, RolloutsVersion)
	kc := s.kubeconfigs["controller-manager"]
	_, err := startProcess(s.dir, "kube-controller-manager", s.bins.ControllerManager, []string{
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + s.saKey, "--root-ca-file=" + s.ca.CAFile,
		"--cluster-signing-cert-file=" + s.ca.CAFile, "--cluster-signing-key-file=" + s.path("pki", "ca.key"),
		"--leader-elect=false", "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", s.ports["controller-manager"]),
		"--cert-dir=" + s.path("certs", "controller-manager"), "--profiling=false",
		// A loaded 2-core CI machine can starve kwok past the default 40 s grace; a NotReady node
		// would taint and later evict the demo pods mid-test.
		"--node-monitor-grace-period=2m", "--concurrent-gc-syncs=5", "--v=0",
	}, s.env)
	return err
}

func (s *starter) startScheduler(context.Context) error {
	kc := s.kubeconfigs["scheduler"]
	_, err := startProcess(s.dir, "kube-scheduler", s.bins.Scheduler, []string{
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--leader-elect=false", "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", s.ports["scheduler"]),
		"--cert-dir=" + s.path("certs", "scheduler"), "--profiling=false", "--v=0",
	}, s.env)
	return err
}

func (s *starter) startKwok(context.Context) error {
	serving := s.certs["kwok-serving"]
	kwokConfig, err := s.writeKwokConfig(serving[0], serving[1])
	if err != nil {
		return err
	}
	// HTTP/1.1 to the apiserver: kwok, like a kubelet, flushes a pod log after every line, and over HTTP/2
	// each flush is a frame handed to the connection's writer goroutine and waited for; that doubled the
	// apiserver's and kwok's CPU per log read (compare_canary bench: ~450 -> ~225 ms each per analysis).
	env := withGODEBUG(s.env, "http2server=0")
	_, err = startProcess(s.dir, "kwok", s.bins.Kwok, []string{"--kubeconfig=" + s.kubeconfigs["kwok"], "--config=" + kwokConfig}, env)
	return err
}

// withGODEBUG returns env with setting added to GODEBUG (kept after any the caller set, so it wins).
func withGODEBUG(env []string, setting string) []string {
	out := make([]string, 0, len(env)+1)
	merged := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok && !merged {
			if v = strings.Trim(v, ","); v != "" {
				setting = v + "," + setting
			}
			kv, merged = "GODEBUG="+setting, true
		}
		out = append(out, kv)
	}
	if !merged {
		out = append(out, "GODEBUG="+setting)
	}
	return out
}

// startRollouts registers the metric plugins in argo-rollouts-config (read only at start) and starts the
// controller. KUBECONFIG is its own identity: plugins it starts inherit its environment and read the
// cluster with it, as in-cluster config would in a real deployment.
func (s *starter) startRollouts(ctx context.Context) error {
	if err := s.registerMetricPlugins(ctx); err != nil {
		return err
	}
	_, err := startProcess(s.dir, "argo-rollouts", s.bins.Rollouts, []string{
		"--kubeconfig=" + s.kubeconfigs["rollouts"], "--leader-elect=false",
		fmt.Sprintf("--metricsport=%d", s.ports["rollouts-metrics"]), fmt.Sprintf("--healthzPort=%d", s.ports["rollouts-healthz"]),
		"--loglevel=info",
	}, append(s.env, "POD_NAMESPACE=argo-rollouts", "KUBECONFIG="+s.kubeconfigs["rollouts"]))
	return err
}

func (s *starter) startPrometheus(context.Context) error {
	promConfig, err := s.writePrometheusConfig()
	if err != nil {
		return err
	}
	s.promURL = fmt.Sprintf("http://127.0.0.1:%d", s.ports["prometheus"])
	_, err = startProcess(s.dir, "prometheus", s.bins.Prometheus, []string{
		"--config.file=" + promConfig, "--storage.tsdb.path=" + s.path("data", "prometheus"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", s.ports["prometheus"]),
		"--storage.tsdb.retention.time=6h", "--log.level=warn",
	}, s.env)
	return err
}

// createNodes creates plain Node objects that kwok adopts through the annotation.
func (s *starter) createNodes(ctx context.Context) ([]string, error) {
	var nodes []string
	for i := 0; i < s.o.Nodes; i++ {
		name := fmt.Sprintf("kwok-node-%d", i)
		nodes = append(nodes, name)
		if err := createNode(ctx, s.cs, name); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// startSupervisor writes env.json (the supervisor reads it) and starts the pod supervisor.
func (s *starter) startSupervisor(st *state) error {
	if err := writeState(s.dir, st); err != nil {
		return err
	}
	s.progress("starting the pod supervisor (demo app processes, pod logs, traffic, kube-state-metrics)")
	// A soft memory limit: with 10,000 pods (the get_architecture benchmark) the supervisor's per-scrape
	// garbage otherwise grew to gigabytes before the GC caught up.
	supEnv := append(append([]string{}, s.env...), "GOMEMLIMIT=1GiB")
	_, err := startProcess(s.dir, "supervisor", s.o.FixloopBin, []string{"testenv", "supervise", "--dir", s.dir}, supEnv)
	return err
}

// waitReady waits for every component's health endpoint, Ready nodes and the default service account.
func (s *starter) waitReady(ctx context.Context, st *state, nodes []string) error {
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed health endpoints on loopback
	waits := []struct {
		name, url string
		c         *http.Client
	}{
		{"kube-controller-manager", fmt.Sprintf("https://127.0.0.1:%d/healthz", s.ports["controller-manager"]), insecure},
		{"kube-scheduler", fmt.Sprintf("https://127.0.0.1:%d/healthz", s.ports["scheduler"]), insecure},
		{"argo-rollouts", fmt.Sprintf("http://127.0.0.1:%d/healthz", s.ports["rollouts-healthz"]), http.DefaultClient},
		{"prometheus", s.promURL + "/-/ready", http.DefaultClient},
		{"supervisor", st.SupervisorURL + "/healthz", http.DefaultClient},
	}
	for _, w := range waits {
		if err := s.waitHTTP(ctx, w.name, w.url, w.c, 60*time.Second); err != nil {
			return err
		}
	}
	s.progress("waiting for kwok nodes Ready and the default service account")
	if err := s.poll(ctx, "kwok", 60*time.Second, func() (bool, string) {
		for _, n := range nodes {
			node, err := s.cs.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if !nodeReady(node) || len(node.Status.Addresses) == 0 {
				return false, "node " + n + " not Ready yet"
			}
		}
		return true, ""
	}); err != nil {
		return err
	}
	return s.poll(ctx, "kube-controller-manager", 60*time.Second, func() (bool, string) {
		_, err := s.cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, "service account default/default not created yet: " + err.Error()
		}
		return true, ""
	})
}
