package testenv_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/testenv"
)

// kwok flushes a pod log after every line; over HTTP/2 each flush is a frame handed to another
// goroutine, which doubled the apiserver's and kwok's CPU per log read. Its kubelet endpoint must
// therefore answer HTTP/1.1 even to a client offering h2 (as the apiserver's does).
func TestKwokKubeletEndpointServesHTTP1(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := e.Clientset(t).CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("nodes: %v (%d)", err, len(nodes.Items))
	}
	node := nodes.Items[0]
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	ca, err := os.ReadFile(filepath.Join(e.Dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}}}
	conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("TLS to kwok's kubelet endpoint of node %s (port %d): %v", node.Name, port, err)
	}
	defer conn.Close()
	if got := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; got == "h2" {
		t.Errorf("kwok negotiated %q with a client offering h2 and http/1.1; want HTTP/1.1 (GODEBUG=http2server=0)", got)
	}
}
