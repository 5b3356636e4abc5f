// Command sandbox-node is the node of the kubectl-entando sandbox: a kubelet
// stand-in that registers a Node, reports the pods bound to it as running,
// runs containers that have an explicit command as host processes, provisions
// hostPath volumes for claims, and serves exec, port-forward and logs through
// the kubelet streaming protocols.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"entando.dev/sandbox/node/internal/agent"
	"entando.dev/sandbox/node/internal/nsexec"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == nsexec.Arg {
		nsexec.Main()
		return
	}
	var cfg agent.Config
	fs := flag.NewFlagSet("sandbox-node", flag.ExitOnError)
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "admin kubeconfig of the cluster")
	fs.StringVar(&cfg.NodeName, "node-name", "", "name of the Node to register")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:10250", "address of the kubelet endpoints (exec, portForward, containerLogs)")
	fs.StringVar(&cfg.StateDir, "state-dir", "", "directory for pod state (emptyDirs, logs, TLS)")
	fs.StringVar(&cfg.PVDir, "pv-dir", "", "directory under which provisioned volumes live")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serving certificate (generated, self-signed, if absent)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "serving key (generated if absent)")
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.Func("v", "log verbosity", func(s string) error { return klogFlags.Set("v", s) })
	_ = fs.Parse(os.Args[1:])

	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-node:", err)
		os.Exit(1)
	}
	cfg.Self = self
	a, err := agent.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-node:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.Run(ctx); err != nil {
		klog.ErrorS(err, "sandbox-node failed")
		os.Exit(1)
	}
	klog.Flush()
}
