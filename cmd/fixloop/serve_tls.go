package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/config"
)

// certReloader serves the certificate in cfg's files and re-reads them when either changes, so a
// rotated Secret (cert-manager) is picked up without a restart. A pair that fails to load (a rotation
// caught half-written) keeps the last good certificate and is retried on the next handshake.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime [2]time.Time
}

func newCertReloader(t config.TLS, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: t.CertFile, keyFile: t.KeyFile, logger: logger}
	if err := r.reloadIfChanged(); err != nil {
		return nil, fmt.Errorf("TLS (--tls-cert %s, --tls-key %s): %w", t.CertFile, t.KeyFile, err)
	}
	return r, nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if err := r.reloadIfChanged(); err != nil {
		r.logger.Warn("TLS certificate not reloaded; serving the previous one", "cert", r.certFile, "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert, nil
}

func (r *certReloader) reloadIfChanged() error {
	var mt [2]time.Time
	for i, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		mt[i] = st.ModTime()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil && mt == r.modTime {
		return nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cert, r.modTime = &c, mt
	return nil
}

// serveTLSConfig is the server side of --tls-cert/--tls-key: TLS 1.2 at least, Go's default cipher
// suites (only AEAD ones with forward secrecy for 1.2).
func serveTLSConfig(r *certReloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate}
}
