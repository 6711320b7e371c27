// Command loopback-harness is the local control plane's data plane, for tests and the demo only:
// KWOK's pods run no containers, so this process serves each Deployment's model on 127.0.0.1 and
// answers for the namespace's Services at http://<listen>/<service>/... (harness.Ingress). Start
// the worker with DEPLOYER_ENDPOINTS=ingress and DEPLOYER_INGRESS_URL set to the URL this prints.
// It is not part of the worker: a worker killed mid-deploy leaves it, its servers and the URLs it
// recorded in place; the servers die with this process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/temporaldeployer/temporaldeployer/deploy"
	"github.com/temporaldeployer/temporaldeployer/harness"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("loopback harness", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	var (
		kubeconfig = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the local control plane")
		namespace  = flag.String("namespace", "", "the namespace whose Services it answers for (required)")
		listen     = flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
		urlFile    = flag.String("url-file", "", "write the ingress URL here once it serves")
		dir        = flag.String("dir", ".cache/harness", "working directory: bento homes and server logs")
		bentoml    = flag.String("bentoml", "", "the bentoml executable (required)")
		insecure   = flag.Bool("insecure", false, "plain HTTP to the OCI registry")
		targets    = flag.String("targets", "", "Prometheus file_sd file listing every ready server")
		faults     = flag.String("faults", "", `fault switches, e.g. "3/canary:TD_FAULT_LATENCY_MS=300,4/canary:TD_FAULT=error"`)
		ready      = flag.Duration("ready", 3*time.Minute, "how long a model server may take to answer /readyz")
	)
	flag.Parse()
	if *namespace == "" || *bentoml == "" || *kubeconfig == "" {
		return errors.New("-namespace, -bentoml and -kubeconfig (or KUBECONFIG) are required")
	}
	fs, err := harness.ParseFaults(*faults)
	if err != nil {
		return fmt.Errorf("-faults: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", *kubeconfig, err)
	}
	rc.QPS, rc.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctxNS, cancelNS := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelNS()
	if err := ensureNamespace(ctxNS, cs, *namespace); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	in := &harness.Ingress{Client: cs, Namespace: *namespace, BentoML: *bentoml, Dir: *dir, Insecure: *insecure,
		Ready: *ready, Faults: fs, TargetsFile: *targets, Log: log}
	wait, err := in.Run(ctx)
	if err != nil {
		return err
	}
	defer wait() // after stop: every model server has stopped
	defer stop()
	srv := &http.Server{Handler: in, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if *urlFile != "" {
		if err := writeAtomically(*urlFile, url+"\n"); err != nil {
			return err
		}
	}
	log.Info("loopback harness: a test and demo aid, not for production", "url", url, "namespace", *namespace)
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve %s: %w", url, err)
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	return nil
}

func writeAtomically(path, content string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ensureNamespace creates the models' namespace on the local control plane with the model pods'
// ServiceAccount and NetworkPolicy, as an operator applying deploy/ would on a real cluster: the
// worker has no cluster-scoped rights and creates none of them.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s create: %w", name, err)
	}
	return deploy.EnsureModelPods(ctx, cs, name)
}
