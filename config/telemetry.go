package config

import (
	"fmt"
	"net"
	"strings"
)

// TelemetryConfig is what the worker and tdctl export about themselves (README "Telemetry"):
// OpenTelemetry traces over OTLP, read from OpenTelemetry's standard variables, and the worker's
// Prometheus endpoint. Everything is off by default: no exporter, no listener, no cost.
type TelemetryConfig struct {
	// MetricsAddr (DEPLOYER_METRICS_ADDR, default "": no endpoint) is the host:port where the
	// worker serves Prometheus metrics at /metrics: the Temporal SDK's and its own
	// (deployer_*). The demo sets 127.0.0.1:9464. tdctl never serves it.
	MetricsAddr string
	// OTLPEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT (default
	// "": no tracing), e.g. http://127.0.0.1:4317 (http: no TLS). The exporter reads the other
	// OTEL_EXPORTER_OTLP_* variables (headers, certificate, timeout, compression) itself.
	OTLPEndpoint string
	// OTLPProtocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL: grpc
	// (default) or http/protobuf.
	OTLPProtocol string
	// ServiceName (OTEL_SERVICE_NAME, default "": the program's own name, temporaldeployer-worker
	// or tdctl) names the traces' service; OTEL_RESOURCE_ATTRIBUTES adds attributes.
	ServiceName string
	// TracesOff is OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: no tracing whatever the
	// endpoint says.
	TracesOff bool
}

// Protocols an OTLP trace exporter speaks here.
const (
	OTLPGRPC = "grpc"
	OTLPHTTP = "http/protobuf"
)

// Tracing reports whether traces are exported.
func (t TelemetryConfig) Tracing() bool { return t.OTLPEndpoint != "" && !t.TracesOff }

// telemetry reads the telemetry variables.
func (r *reader) telemetry(t *TelemetryConfig) {
	r.str("DEPLOYER_METRICS_ADDR", &t.MetricsAddr)
	r.str("OTEL_EXPORTER_OTLP_ENDPOINT", &t.OTLPEndpoint)
	r.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &t.OTLPEndpoint)
	r.str("OTEL_EXPORTER_OTLP_PROTOCOL", &t.OTLPProtocol)
	r.str("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", &t.OTLPProtocol)
	r.str("OTEL_SERVICE_NAME", &t.ServiceName)
	r.bool("OTEL_SDK_DISABLED", &t.TracesOff)
	var exporter string
	r.str("OTEL_TRACES_EXPORTER", &exporter)
	switch strings.TrimSpace(exporter) {
	case "", "otlp":
	case "none":
		t.TracesOff = true
	default:
		if r.err == nil {
			r.fail("OTEL_TRACES_EXPORTER", exporter, fmt.Errorf("want otlp or none"))
		}
	}
}

func (t TelemetryConfig) validate() error {
	if t.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(t.MetricsAddr); err != nil {
			return fmt.Errorf("DEPLOYER_METRICS_ADDR=%q: want host:port (e.g. 127.0.0.1:9464): %w", t.MetricsAddr, err)
		}
	}
	switch t.OTLPProtocol {
	case OTLPGRPC, OTLPHTTP:
		return nil
	}
	return fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL / OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=%q: want %s or %s", t.OTLPProtocol, OTLPGRPC, OTLPHTTP)
}
