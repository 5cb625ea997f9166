package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/testenv"
)

// The ServiceAccount column of the auth matrix, against the real apiserver: a token bound to fixloop's
// audience passes every surface, one for another audience is refused (401) and a ServiceAccount the auth
// file grants nothing is forbidden (403), each in the surface's own shape.
func TestAuthMatrixServiceAccountTokens(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "authsa")
	cs := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, sa := range []string{"argo", "nobody"} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	token := func(sa string, aud ...string) string {
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{Audiences: aud}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	authFile := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(authFile, []byte("serviceAccounts:\n- name: "+ns+"/argo\n  scopes: [read]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, log, err := startServe(t, func(c *config.Config) {
		c.Kube.Kubeconfig = e.Kubeconfig
		c.Auth.File, c.Auth.TokenReviewAudience, c.Auth.PluginRoute = authFile, "fixloop", "authenticated"
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &authServer{base: base, log: log}
	good, otherAudience, unscoped := token("argo", "fixloop"), token("argo", "https://kubernetes.default.svc"), token("nobody", "fixloop")
	for _, sf := range surfaces {
		t.Run(sf.name+"/bound to fixloop", func(t *testing.T) {
			if r := s.call(t, sf, good); r.code == 401 || r.code == 403 {
				t.Fatalf("refused: %d %s", r.code, r.body)
			}
		})
		t.Run(sf.name+"/other audience", func(t *testing.T) { checkShape(t, sf, s.call(t, sf, otherAudience), 401, "invalid_token") })
		t.Run(sf.name+"/no scope granted", func(t *testing.T) { checkShape(t, sf, s.call(t, sf, unscoped), 403, "insufficient_scope") })
	}
}
