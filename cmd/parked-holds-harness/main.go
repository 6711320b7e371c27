// Command parked-holds-harness is the worker of the parked-holds benchmark (issue 11,
// TestParkedHolds, make bench): the real workflow and activities on host's worker and the real
// store, with harness/parked's stand-ins for the registry, the packager, the cluster and the
// metrics source. On PARKED_STATS_ADDR it serves /stats (JSON): the shadow holds parked now and
// the SDK's counters (workflow task failures among them). A harness, never a worker
// to deploy with: it deploys nothing.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/harness/parked"
	"github.com/temporaldeployer/temporaldeployer/host"
	"github.com/temporaldeployer/temporaldeployer/probe"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parked-holds-harness: configuration:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg, log, os.Getenv("PARKED_STATS_ADDR")); err != nil {
		log.Error("parked-holds-harness stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, log *slog.Logger, statsAddr string) error {
	st, err := host.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	prober, err := probe.NewHTTP(cfg.Probe.AttemptTimeout, cfg.Probe.Attempts, cfg.Probe.Backoff)
	if err != nil {
		return err
	}
	health, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(health, parked.Health()) }()
	sdk := &counters{}
	opts, err := host.ClientOptions(cfg, envconfig.EnvLookupOS, log, nil) // reached as the worker reaches Temporal
	if err != nil {
		return err
	}
	opts.MetricsHandler = sdk
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := host.EnsureSearchAttributes(ctx, c.OperatorService(), opts.Namespace, log); err != nil {
		return err
	}
	acts := &activities.Activities{Registry: &parked.Registry{}, Store: st, Prober: prober, Packager: parked.Packager{},
		Cluster: parked.Cluster{Base: "http://" + health.Addr().String()}, Metrics: parked.Metrics{}, Policy: cfg.Policy, Log: log,
		WorkflowClosed: host.WorkflowClosed(c)}
	w := host.New(c, acts, cfg)
	stopHolds := host.StartHolds(acts.Holds)
	defer stopHolds()
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	stats, err := net.Listen("tcp", statsAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(map[string]any{"holding": acts.Holds.Len(), "counters": sdk.snapshot()})
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index) // where the memory goes: /debug/pprof/heap
	go func() { _ = http.Serve(stats, mux) }()
	<-ctx.Done()
	return nil
}
