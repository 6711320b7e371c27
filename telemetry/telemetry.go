// Package telemetry sets up what the worker and tdctl export about themselves: OpenTelemetry
// traces through the Temporal SDK's tracing interceptor (contrib/opentelemetry), exported over
// OTLP when OpenTelemetry's standard variables name an endpoint, and the worker's Prometheus
// endpoint with the SDK's metrics and the deployer's own (own.go). Both are off by default: no
// exporter, no listener, and the SDK's no-op metrics handler.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"github.com/temporaldeployer/temporaldeployer/config"
)

// Service names a program's traces take when OTEL_SERVICE_NAME is not set.
const (
	ServiceWorker = "temporaldeployer-worker"
	ServiceTDCtl  = "tdctl"
)

// durationBuckets (seconds) serve every duration histogram, the SDK's (milliseconds-long
// requests and tasks) and ours (rollouts of minutes, runs held for a day or a week). Few, as the
// SDK keeps a histogram per request type: with 15, a scrape after one promotion is ~190 KB (830 samples).
var durationBuckets = []float64{0.005, 0.025, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600}

// Options say what a program wants.
type Options struct {
	// Service is the traces' service name unless OTEL_SERVICE_NAME says otherwise.
	Service string
	// ServeMetrics starts the Prometheus endpoint when DEPLOYER_METRICS_ADDR is set (the worker).
	ServeMetrics bool
	Log          *slog.Logger
}

// Telemetry is a program's running telemetry. The zero value (and nil) is all off.
type Telemetry struct {
	traces      *sdktrace.TracerProvider // nil: no tracing
	interceptor interceptor.Interceptor
	meters      *sdkmetric.MeterProvider // nil: no metrics endpoint
	handler     client.MetricsHandler
	server      *http.Server
	addr        string
	ready       atomic.Bool // /readyz: the worker polls its task queue
}

// Start sets up what cfg asks for. Call Shutdown when the program stops: it flushes the spans
// not yet sent and closes the endpoint.
func Start(ctx context.Context, cfg config.TelemetryConfig, o Options) (*Telemetry, error) {
	t := &Telemetry{}
	serve := o.ServeMetrics && cfg.MetricsAddr != ""
	if !cfg.Tracing() && !serve {
		return t, nil
	}
	res, err := newResource(ctx, cfg, o.Service)
	if err != nil {
		return nil, err
	}
	if cfg.Tracing() {
		if err := t.startTracing(ctx, cfg, res); err != nil {
			return nil, err
		}
	}
	if serve {
		if err := t.serveMetrics(cfg.MetricsAddr, res, o.Log); err != nil {
			_ = t.Shutdown(ctx)
			return nil, err
		}
	}
	return t, nil
}

// newResource describes the program: its service name (OTEL_SERVICE_NAME, else service) and
// OTEL_RESOURCE_ATTRIBUTES, on its traces and the metrics endpoint's target_info.
func newResource(ctx context.Context, cfg config.TelemetryConfig, service string) (*resource.Resource, error) {
	if cfg.ServiceName != "" {
		service = cfg.ServiceName
	}
	// Later sources win: the service name, then OTEL_RESOURCE_ATTRIBUTES (and OTEL_SERVICE_NAME again).
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service)), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("telemetry resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	return res, nil
}

func (t *Telemetry) startTracing(ctx context.Context, cfg config.TelemetryConfig, res *resource.Resource) error {
	// The exporters read OTEL_EXPORTER_OTLP_* (endpoint, headers, certificate, timeout) themselves.
	var exp sdktrace.SpanExporter
	var err error
	if cfg.OTLPProtocol == config.OTLPHTTP {
		exp, err = otlptracehttp.New(ctx)
	} else {
		exp, err = otlptracegrpc.New(ctx)
	}
	if err != nil {
		return fmt.Errorf("otlp trace exporter (%s, %s): %w", cfg.OTLPEndpoint, cfg.OTLPProtocol, err)
	}
	t.traces = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t.interceptor, err = temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: t.traces.Tracer("github.com/temporaldeployer/temporaldeployer")})
	if err != nil {
		return fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return nil
}

// serveMetrics starts the Prometheus endpoint: the SDK's metrics handler records into an
// OpenTelemetry meter that the Prometheus exporter reads at each scrape, beside the Go runtime's
// and the process's collectors.
func (t *Telemetry) serveMetrics(addr string, res *resource.Resource, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return fmt.Errorf("prometheus exporter: %w", err)
	}
	t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(exp), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: durationBuckets}})))
	t.handler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                t.meters.Meter("github.com/temporaldeployer/temporaldeployer"),
		UseMonotonicCounters: true, // counters are Prometheus counters (…_total), as the SDK documents them
		OnError:              func(err error) { logger(log).Warn("metric not recorded", "error", err) },
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics endpoint (DEPLOYER_METRICS_ADDR=%s): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }) // the process answers: liveness
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {                                    // readiness: SetReady
		if !t.ready.Load() {
			http.Error(w, "not polling Temporal", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	t.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	t.addr = ln.Addr().String()
	go func() {
		if err := t.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger(log).Error("metrics endpoint stopped", "error", err)
		}
	}()
	return nil
}

// Apply puts the tracing interceptor and the metrics handler on client options; whatever is off
// is left as it was.
func (t *Telemetry) Apply(o *client.Options) {
	if t == nil {
		return
	}
	if t.interceptor != nil {
		o.Interceptors = append(o.Interceptors, t.interceptor)
	}
	if t.handler != nil {
		o.MetricsHandler = t.handler
	}
}

// SetReady says whether the worker polls its task queue: /readyz answers 200 while it does, 503
// before it starts and once it stops (a Deployment's readiness probe).
func (t *Telemetry) SetReady(ready bool) {
	if t != nil {
		t.ready.Store(ready)
	}
}

// MetricsAddr is where the Prometheus endpoint listens ("" when it does not).
func (t *Telemetry) MetricsAddr() string {
	if t == nil {
		return ""
	}
	return t.addr
}

// Tracing reports whether spans are exported.
func (t *Telemetry) Tracing() bool { return t != nil && t.traces != nil }

// Shutdown flushes the spans not yet exported and stops the endpoint, within ctx.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.traces != nil {
		errs = append(errs, t.traces.Shutdown(ctx))
	}
	if t.server != nil {
		errs = append(errs, t.server.Shutdown(ctx))
	}
	if t.meters != nil {
		errs = append(errs, t.meters.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}
