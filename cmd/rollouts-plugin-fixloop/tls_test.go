package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fixloop/fixloop/internal/argorun"
)

// fixloop behind TLS: the plugin verifies its certificate against caFile and only then sends the
// token; a certificate it cannot verify is an error before any request (the token never leaves).
func TestTLSToFixloopVerifiesCertificateBeforeSendingToken(t *testing.T) {
	var calls, authorised atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") == "Bearer s3cret" {
			authorised.Add(1)
		}
		_ = json.NewEncoder(w).Encode(argorun.Status{ID: "a1", State: "running"})
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(cfg *Config) (*argorun.Status, error) {
		c, err := newClient(cfg)
		if err != nil {
			return nil, err
		}
		return c.start(context.Background(), argorun.Request{ID: "a1", Namespace: "ns", Rollout: "shop"})
	}

	if _, err := start(&Config{URL: srv.URL, Token: "s3cret", RequestTimeoutSeconds: 5}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without caFile an unknown certificate was accepted (err %v)", err)
	}
	if calls.Load() != 0 {
		t.Fatalf("the request reached fixloop over an unverified connection (%d calls)", calls.Load())
	}
	st, err := start(&Config{URL: srv.URL, Token: "s3cret", CAFile: caFile, RequestTimeoutSeconds: 5})
	if err != nil {
		t.Fatalf("with caFile: %v", err)
	}
	if st.ID != "a1" || authorised.Load() != 1 {
		t.Fatalf("status %+v, authorised calls %d: want the analysis started with the token", st, authorised.Load())
	}

	bad := filepath.Join(t.TempDir(), "bad.crt")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := start(&Config{URL: srv.URL, Token: "s3cret", CAFile: bad, RequestTimeoutSeconds: 6}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a caFile without a certificate: err %v, want it named", err)
	}
}
