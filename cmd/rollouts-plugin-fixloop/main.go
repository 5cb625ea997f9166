// Command rollouts-plugin-fixloop is fixloop's Argo Rollouts metric provider plugin. The Argo Rollouts
// controller starts it (argo-rollouts-config, metricProviderPlugins) and calls it over hashicorp/go-plugin
// net/rpc; each measurement starts a canary analysis on `fixloop serve` and polls it, so a slow verdict
// never blocks the controller. See manifests/argo/README.md.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
)

var version = "dev"

// handshake is Argo Rollouts' metric provider handshake.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
	MagicCookieValue: "metricprovider",
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println("rollouts-plugin-fixloop", version)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "install" {
		// An init container of the Argo controller copies the plugin out of fixloop's distroless image
		// (no cp there) into a volume the controller loads it from (file://).
		if err := install(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "rollouts-plugin-fixloop install:", err)
			os.Exit(1)
		}
		return
	}
	if os.Getenv(handshake.MagicCookieKey) != handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "rollouts-plugin-fixloop %s is an Argo Rollouts metric plugin: register it in the argo-rollouts-config "+
			"ConfigMap (metricProviderPlugins, name %q); the controller starts it. `rollouts-plugin-fixloop install DEST` copies it.\n", version, PluginName)
		os.Exit(2)
	}
	logger := logrus.New()
	logger.SetOutput(os.Stderr)
	log := logger.WithField("plugin", PluginName)
	impl := &provider{log: log, now: time.Now}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]goplugin.Plugin{"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{Impl: impl}},
	})
}

// install copies this executable to dst (mode 0755), atomically.
func install(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
