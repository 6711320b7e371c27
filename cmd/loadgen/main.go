// Command loadgen is the bounded synthetic load generator (package harness/load) for the demo and
// manual tests — a harness, not part of the production path. It reads where a deployment's
// workloads are served from the loopback harness's targets file and sends real predictions there,
// split between stable and canary by the canary weight (fixed with -weight, or read back from the
// cluster with -weight-from-cluster, configured like the worker: KUBECONFIG, DEPLOYER_NAMESPACE,
// DEPLOYER_ROUTER), each copied to the shadow. It prints the report as JSON when done.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/harness/load"
	"github.com/temporaldeployer/temporaldeployer/kube"
)

func main() {
	targets := flag.String("targets", "", "the loopback harness's targets file (required)")
	deployment := flag.String("deployment", "", "deployment_name (required)")
	environment := flag.String("environment", "", "live environment: staging or production (default: production once it has a stable workload)")
	rate := flag.Float64("rate", 20, "requests per second")
	count := flag.Int("count", 10000, "at most this many live requests")
	duration := flag.Duration("duration", 10*time.Minute, "at most this long")
	body := flag.String("body", "", "predict request body (JSON), or @file (or -inputs)")
	inputs := flag.Int("inputs", 0, "draw each request as one row of N standard-normal features instead of -body")
	shiftFile := flag.String("shadow-shift-file", "", "with -inputs: a file holding a number added to every value of the shadow's copies (re-read each second; missing: 0)")
	concurrency := flag.Int("concurrency", 4, "requests in flight")
	weight := flag.Int("weight", 0, "fixed canary weight in percent")
	fromCluster := flag.Bool("weight-from-cluster", false, "read the canary weight back from the cluster")
	flag.Parse()
	if *targets == "" || *deployment == "" || (*body == "") == (*inputs == 0) {
		fmt.Fprintln(os.Stderr, "loadgen: -targets, -deployment and one of -body or -inputs are required")
		os.Exit(2)
	}
	cfg := load.Config{Rate: *rate, Count: *count, Duration: *duration, Concurrency: *concurrency,
		Targets: load.FromTargetsFile(*targets, *deployment, *environment)}
	var err error
	if *inputs > 0 {
		cfg.Inputs = &load.Gaussian{Features: *inputs, Seed: uint64(time.Now().UnixNano()), ShadowShift: shiftFrom(*shiftFile)}
	} else if cfg.Body, err = readBody(*body); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	fixed := *weight
	cfg.Weight = func(context.Context) (int, error) { return fixed, nil }
	if *fromCluster {
		if cfg.Weight, err = clusterWeight(*deployment); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rep, err := load.Run(ctx, cfg)
	_ = json.NewEncoder(os.Stdout).Encode(rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// shiftFrom reads the shadow's shift from path at most once a second; "" or a missing or
// unreadable file is 0.
func shiftFrom(path string) func() float64 {
	if path == "" {
		return nil
	}
	var v float64
	var next time.Time
	return func() float64 {
		if now := time.Now(); now.After(next) {
			next, v = now.Add(time.Second), 0
			if b, err := os.ReadFile(path); err == nil {
				v, _ = strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
			}
		}
		return v
	}
}

func readBody(s string) ([]byte, error) {
	b := []byte(s)
	if path, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("-body is not JSON")
	}
	return b, nil
}

// clusterWeight reads the production canary weight back through the Kubernetes backend, built
// from the worker's configuration.
func clusterWeight(deployment string) (func(context.Context) (int, error), error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, err
	}
	c := cfg.Cluster
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %q: %w", c.Kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	opt := kube.Options{Namespace: c.Namespace}
	var router kube.Router = kube.NewReplicaRouter(cs, opt, nil)
	if c.Router == "gateway" {
		gwc, err := gwclient.NewForConfig(rc)
		if err != nil {
			return nil, err
		}
		router = kube.NewGatewayRouter(cs, gwc, opt, kube.ParentRef{Name: c.Gateway, Namespace: c.GatewayNamespace})
	}
	k, err := kube.New(cs, router, opt)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, error) { return k.Weight(ctx, deployment, "production") }, nil
}
