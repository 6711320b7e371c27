package telemetry

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestOffByDefault: with nothing configured there is no exporter, no endpoint, and client options
// are left as they were.
func TestOffByDefault(t *testing.T) {
	tel, err := Start(context.Background(), config.Defaults().Telemetry, Options{Service: ServiceWorker, ServeMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	var o client.Options
	tel.Apply(&o)
	if tel.Tracing() || tel.MetricsAddr() != "" || o.MetricsHandler != nil || len(o.Interceptors) != 0 {
		t.Fatalf("telemetry on by default: tracing %v, endpoint %q, options %+v", tel.Tracing(), tel.MetricsAddr(), o)
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsEndpoint: what goes through the handler Apply sets is served at /metrics under its
// Prometheus name: counters with _total, durations in seconds with our buckets; tdctl
// (ServeMetrics false) serves nothing even with the address set.
func TestMetricsEndpoint(t *testing.T) {
	cfg := config.TelemetryConfig{MetricsAddr: "127.0.0.1:0", OTLPProtocol: config.OTLPGRPC}
	tel, err := Start(context.Background(), cfg, Options{Service: ServiceWorker, ServeMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	var o client.Options
	tel.Apply(&o)
	RecordDeployment(o.MetricsHandler, contract.Input{DeploymentAction: contract.ActionPromote}, nil, 90*time.Second)
	RecordVerdict(o.MetricsHandler, contract.GateStageLadder, contract.VerdictAllowed)
	resp, err := http.Get("http://" + tel.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`deployer_deployments_total{action="promote",environment="staging",outcome="succeeded"} 1`,
		`deployer_gate_verdicts_total{gate="stage_ladder",verdict="allowed"} 1`,
		`deployer_deployment_duration_seconds_bucket{action="promote",environment="staging",outcome="succeeded",le="300"} 1`,
		`deployer_deployment_duration_seconds_bucket{action="promote",environment="staging",outcome="succeeded",le="60"} 0`,
		"go_goroutines ",
		`target_info{service_name="temporaldeployer-worker"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, body)
		}
	}
	if hz, err := http.Get("http://" + tel.MetricsAddr() + "/healthz"); err != nil || hz.StatusCode != http.StatusOK {
		t.Errorf("/healthz (the Deployment's liveness probe): %v %v", hz, err)
	} else {
		hz.Body.Close()
	}
	for _, tc := range []struct {
		ready bool
		want  int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusOK}, {false, http.StatusServiceUnavailable}} {
		tel.SetReady(tc.ready)
		if rz, err := http.Get("http://" + tel.MetricsAddr() + "/readyz"); err != nil || rz.StatusCode != tc.want {
			t.Errorf("/readyz after SetReady(%v): %v %v, want %d", tc.ready, rz, err, tc.want)
		} else {
			rz.Body.Close()
		}
	}
	tdctl, err := Start(context.Background(), cfg, Options{Service: ServiceTDCtl})
	if err != nil || tdctl.MetricsAddr() != "" {
		t.Fatalf("tdctl serves metrics at %q (%v)", tdctl.MetricsAddr(), err)
	}
}

// TestTracingStartsAndFlushes: an OTLP endpoint turns tracing on (the interceptor goes on the
// client options); Shutdown returns within its bound even when no collector answers.
func TestTracingStartsAndFlushes(t *testing.T) {
	for _, protocol := range []string{config.OTLPGRPC, config.OTLPHTTP} {
		t.Run(protocol, func(t *testing.T) {
			cfg := config.TelemetryConfig{OTLPEndpoint: "http://127.0.0.1:1", OTLPProtocol: protocol}
			tel, err := Start(context.Background(), cfg, Options{Service: ServiceWorker})
			if err != nil {
				t.Fatal(err)
			}
			var o client.Options
			tel.Apply(&o)
			if !tel.Tracing() || len(o.Interceptors) != 1 || o.MetricsHandler != nil {
				t.Fatalf("tracing %v, options %+v", tel.Tracing(), o)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = tel.Shutdown(ctx) // nothing to flush; an unreachable collector is not an error to wait on
			if ctx.Err() != nil {
				t.Fatal("Shutdown outlived its bound")
			}
		})
	}
}
