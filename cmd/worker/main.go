// Command worker runs the TemporalDeployer worker: it polls task queue model-deployments and runs
// the ModelDeployment workflow and its activities. Configuration comes from the environment (see
// package config and the README); SIGTERM or SIGINT stops it gracefully.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/host"
	"github.com/temporaldeployer/temporaldeployer/metrics"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/worker"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err == nil {
		cfg, err = host.Reached(cfg, envconfig.EnvLookupOS) // the profile's address and namespace, if any
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: configuration:", err)
		os.Exit(2)
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
	log.Info("worker stopped")
}

func run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	st, err := host.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	acts, err := newActivities(cfg, log)
	if err != nil {
		return err
	}
	acts.Store = st
	c, tel, closeClient, err := dial(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeClient()
	if err := host.EnsureSearchAttributes(ctx, c.OperatorService(), cfg.TemporalNamespace, log); err != nil {
		return err
	}
	acts.WorkflowClosed = host.WorkflowClosed(c)
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	w := host.New(c, acts, cfg, func(o *worker.Options) {
		o.OnFatalError = func(err error) { // the SDK stops polling (a refused namespace, say): not ready, and exit
			tel.SetReady(false)
			fail(fmt.Errorf("the worker stopped polling Temporal: %w", err))
		}
	})
	stopHolds := host.StartHolds(acts.Holds)
	defer stopHolds() // after the worker has stopped: the parked holds are handed over
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	tel.SetReady(true)
	log.Info("worker started", startAttrs(cfg, acts.Packager != nil, acts.Cluster != nil)...)
	if cfg.Codec.Keys != "" {
		log.Info("payloads sealed (AES-256-GCM) with the codec keyring", "keyring", cfg.Codec.Keys)
	}
	<-ctx.Done()
	tel.SetReady(false)
	log.Info("stopping worker: in-flight activities may finish, then are cancelled (and retried elsewhere); parked shadow holds are handed over",
		"stop_timeout", cfg.StopTimeout, "parked_holds", acts.Holds.Len())
	w.Stop()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err // a fatal error: exit non-zero, so that the pod restarts
	}
	return nil
}

// newActivities builds the activities over the backends cfg names: the registry, the prober, and
// the packager, cluster and metrics source when configured. The caller adds the store and the
// closed-run check.
func newActivities(cfg config.Config, log *slog.Logger) (*activities.Activities, error) {
	reg, err := registry.NewMLflow(cfg.MLflowTrackingURI, registry.WithAuth(cfg.MLflowAuth))
	if err != nil {
		return nil, fmt.Errorf("mlflow registry: %w", err)
	}
	prober, err := probe.NewHTTP(cfg.Probe.AttemptTimeout, cfg.Probe.Attempts, cfg.Probe.Backoff)
	if err != nil {
		return nil, err
	}
	packager, err := newPackager(cfg, log)
	if err != nil {
		return nil, err
	}
	cluster, err := newCluster(cfg, log)
	if err != nil {
		return nil, err
	}
	source, err := metrics.New(metrics.Config{Kind: cfg.Metrics.Kind, URL: cfg.Metrics.URL, Timeout: cfg.Metrics.Timeout})
	if err != nil {
		return nil, fmt.Errorf("metrics source: %w", err)
	}
	acts := &activities.Activities{Registry: reg, Prober: prober, Policy: cfg.Policy, Log: log}
	if packager != nil {
		acts.Packager = packager
	}
	if cluster != nil {
		acts.Cluster = cluster
	}
	if source != nil {
		acts.Metrics = source
	}
	return acts, nil
}

// startAttrs are the start log's fields: what the worker reaches, every URL redacted, credentials
// only by kind, the variables the bento build also gets only by name.
func startAttrs(cfg config.Config, packager, cluster bool) []any {
	return []any{"task_queue", contract.TaskQueue, "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace,
		"mlflow", redact.URL(cfg.MLflowTrackingURI), "mlflow_auth", cfg.MLflowAuth.String(),
		"database", redact.URL(cfg.DatabaseURL), "workers", cfg.Workers,
		"packager", packager, "oci_repository", cfg.Packaging.OCIRepository, "oci_insecure", cfg.Packaging.OCIInsecure,
		"bento_env", cfg.Packaging.BentoEnv, // names only: the values stay in the worker's environment
		"cluster", cluster, "router", cfg.Cluster.Router, "endpoints", cfg.Cluster.Endpoints,
		"metrics", cfg.Metrics.Kind, "prometheus", redact.URL(cfg.Metrics.URL)}
}

// dial starts the traces and the metrics endpoint the configuration asks for (both off by
// default), says what it started, and connects to Temporal with them. closeClient closes the
// client, then flushes the spans of the worker's last tasks and closes the endpoint.
func dial(ctx context.Context, cfg config.Config, log *slog.Logger) (c client.Client, tel *telemetry.Telemetry, closeClient func(), err error) {
	tel, err = telemetry.Start(ctx, cfg.Telemetry, telemetry.Options{Service: telemetry.ServiceWorker, ServeMetrics: true, Log: log})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("telemetry: %w", err)
	}
	if tel.Tracing() {
		log.Info("tracing", "otlp_endpoint", cfg.Telemetry.OTLPEndpoint, "otlp_protocol", cfg.Telemetry.OTLPProtocol)
	}
	if addr := tel.MetricsAddr(); addr != "" {
		log.Info("metrics endpoint", "url", "http://"+addr+"/metrics")
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry shutdown", "error", err)
		}
	}
	if c, err = host.Dial(ctx, cfg, envconfig.EnvLookupOS, log, tel); err != nil {
		stop()
		return nil, nil, nil, err
	}
	return c, tel, func() { c.Close(); stop() }, nil
}

// newPackager returns the BentoML packager, or nil when no OCI repository is configured.
func newPackager(cfg config.Config, log *slog.Logger) (*packaging.BentoML, error) {
	p := cfg.Packaging
	if !p.Configured() {
		return nil, nil
	}
	b, err := packaging.NewBentoML(packaging.BentoMLConfig{
		TrackingURI: cfg.MLflowTrackingURI, MLflowAuth: cfg.MLflowAuth, Repository: p.OCIRepository, BaseImage: p.BaseImage, Insecure: p.OCIInsecure,
		Python: p.BentoPython, Script: p.BentoScript, Home: p.BentoMLHome, PassEnv: p.BentoEnv,
		Attempts: p.PushAttempts, Backoff: p.PushBackoff, BuildTimeout: p.BuildTimeout, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("packager: %w", err)
	}
	return b, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
