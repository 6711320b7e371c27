package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/governance"
)

// env is a getenv over a map; a missing variable reads as "".
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestLoadDefaults: with no variables set every field has its documented default.
func TestLoadDefaults(t *testing.T) {
	want := Config{
		TemporalAddress:   "127.0.0.1:7233",
		TemporalNamespace: "default",
		MLflowTrackingURI: "http://127.0.0.1:5000",
		DatabaseURL:       ".cache/deployer.db",
		LedgerKey:         ".cache/ledger/worker.jwk",
		LedgerKeyring:     ".cache/ledger/worker.jwk.pub.json",
		LogLevel:          "info",
		Workers:           1,
		StopTimeout:       30 * time.Second, MaxActivities: 1000, WorkflowCacheSize: 1000,
		Probe: ProbeConfig{AttemptTimeout: 5 * time.Second, Attempts: 5, Backoff: time.Second},
		Packaging: PackagingConfig{
			PushAttempts: 5, PushBackoff: time.Second, BentoMLHome: ".cache/bentoml",
			BentoPython: ".cache/venv/bin/python", BentoScript: "infra/bento/package.py", BuildTimeout: 15 * time.Minute,
		},
		Cluster: ClusterConfig{Namespace: "models", Router: "replica", Gateway: "models", ShadowMirror: true, RouteDomain: "models.internal", QPS: 40, Burst: 80,
			ProgressDeadline: 600 * time.Second, ScaleDownDelay: 30 * time.Second, Endpoints: "service-dns"},
		Metrics:   MetricsConfig{Timeout: 10 * time.Second},
		Codec:     CodecConfig{Addr: "127.0.0.1:8081", Origins: []string{"http://127.0.0.1:8233", "http://localhost:8233"}},
		Telemetry: TelemetryConfig{OTLPProtocol: "grpc"},
		Policy: Policy{
			ShadowHoldDefault:      24 * time.Hour,
			ShadowHoldMin:          24 * time.Hour,
			ShadowHoldMax:          168 * time.Hour,
			ApprovalTimeoutDefault: 72 * time.Hour,
			ApprovalTimeoutMax:     168 * time.Hour,
			AllowApprovalWaiver:    false,
			CanaryHoldDefault:      10 * time.Minute,
			CanaryHoldMin:          time.Minute,
			CompensationTimeout:    6 * time.Hour,
			Shadow:                 ShadowCriteria{MinDuration: 24 * time.Hour, MinRequests: 1000, MaxErrorRate: 0.01, MaxP99MS: 150},
			Evidence:               EvidencePolicy{MaxAge: 168 * time.Hour, SampleEvery: 5 * time.Minute},
			Canary: CanaryPolicy{MinSteps: 3, MaxFirstStep: 25, MaxHold: time.Hour, MaxErrorRateCeiling: 0.05,
				MaxP99MSCeiling: 1000, MinRequestsFloor: 20, SampleEvery: 10 * time.Second, Warmup: 30 * time.Second},
			Governance: governance.Policy{Environments: []contract.Environment{"production"}, RequireModelCard: true,
				RequireTestEvidence: true, MinCoverage: 0.90, RequirePinned: true},
			Drift:           DriftPolicy{Threshold: 0.2, MinTotal: 100, MinExpectedPerBin: 5, RequireProfile: []contract.Environment{"production"}},
			ModelURISchemes: []string{"runs", "models", "mlflow-artifacts"},
		},
	}
	if want.Metrics.Configured() {
		t.Errorf("the metrics source must be off by default")
	}
	got, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(empty)\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(Defaults(), want) || !reflect.DeepEqual(DefaultPolicy(), want.Policy) ||
		!reflect.DeepEqual(DefaultPackaging(), want.Packaging) {
		t.Errorf("Defaults()/DefaultPolicy()/DefaultPackaging() disagree with Load(empty)")
	}
	if want.Packaging.Configured() {
		t.Errorf("the packager must be off by default")
	}
	// Empty values are unset, not errors.
	empty := map[string]string{}
	for _, tc := range overrides() {
		empty[tc.key] = ""
	}
	if got, err := Load(env(empty)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("every variable set to \"\": %+v, %v", got, err)
	}
}

type override struct {
	key, value string
	get        func(Config) any
	want       any
}

func overrides() []override {
	return []override{
		{"TEMPORAL_ADDRESS", "temporal.internal:7233", func(c Config) any { return c.TemporalAddress }, "temporal.internal:7233"},
		{"TEMPORAL_NAMESPACE", "ml-prod", func(c Config) any { return c.TemporalNamespace }, "ml-prod"},
		{"MLFLOW_TRACKING_URI", "https://mlflow.internal", func(c Config) any { return c.MLflowTrackingURI }, "https://mlflow.internal"},
		{"MLFLOW_TRACKING_TOKEN", "tok-123", func(c Config) any { return c.MLflowAuth.Token }, "tok-123"},
		{"DATABASE_URL", "postgres://u@db/deployer", func(c Config) any { return c.DatabaseURL }, "postgres://u@db/deployer"},
		{"DEPLOYER_LEDGER_KEY", "/secrets/ledger.jwk", func(c Config) any { return c.LedgerKey }, "/secrets/ledger.jwk"},
		{"DEPLOYER_LEDGER_KEYRING", "/etc/keyring.json", func(c Config) any { return c.LedgerKeyring }, "/etc/keyring.json"},
		{"DEPLOYER_LOG_LEVEL", "debug", func(c Config) any { return c.LogLevel }, "debug"},
		{"DEPLOYER_WORKERS", "1", func(c Config) any { return c.Workers }, 1},
		{"DEPLOYER_WORKER_STOP_TIMEOUT", "2m", func(c Config) any { return c.StopTimeout }, 2 * time.Minute},
		{"DEPLOYER_MAX_ACTIVITIES", "12000", func(c Config) any { return c.MaxActivities }, 12000},
		{"DEPLOYER_WORKFLOW_CACHE_SIZE", "2000", func(c Config) any { return c.WorkflowCacheSize }, 2000},
		{"DEPLOYER_PROBE_TIMEOUT", "2s", func(c Config) any { return c.Probe.AttemptTimeout }, 2 * time.Second},
		{"DEPLOYER_PROBE_ATTEMPTS", "9", func(c Config) any { return c.Probe.Attempts }, 9},
		{"DEPLOYER_PROBE_BACKOFF", "250ms", func(c Config) any { return c.Probe.Backoff }, 250 * time.Millisecond},
		{"DEPLOYER_OCI_REPOSITORY", "127.0.0.1:5001/models", func(c Config) any { return c.Packaging.OCIRepository }, "127.0.0.1:5001/models"},
		{"DEPLOYER_BASE_IMAGE", "registry.internal/bentoml-runtime:1.4", func(c Config) any { return c.Packaging.BaseImage }, "registry.internal/bentoml-runtime:1.4"},
		{"DEPLOYER_OCI_INSECURE", "true", func(c Config) any { return c.Packaging.OCIInsecure }, true},
		{"DEPLOYER_OCI_PUSH_ATTEMPTS", "8", func(c Config) any { return c.Packaging.PushAttempts }, 8},
		{"DEPLOYER_OCI_PUSH_BACKOFF", "200ms", func(c Config) any { return c.Packaging.PushBackoff }, 200 * time.Millisecond},
		{"DEPLOYER_BENTOML_HOME", "/var/lib/deployer/bentoml", func(c Config) any { return c.Packaging.BentoMLHome }, "/var/lib/deployer/bentoml"},
		{"DEPLOYER_BENTO_PYTHON", "/opt/bento/bin/python", func(c Config) any { return c.Packaging.BentoPython }, "/opt/bento/bin/python"},
		{"DEPLOYER_BENTO_SCRIPT", "/opt/deployer/package.py", func(c Config) any { return c.Packaging.BentoScript }, "/opt/deployer/package.py"},
		{"DEPLOYER_BENTO_BUILD_TIMEOUT", "40m", func(c Config) any { return c.Packaging.BuildTimeout }, 40 * time.Minute},
		{"DEPLOYER_BENTO_ENV", "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,,MLFLOW_S3_ENDPOINT_URL", func(c Config) any { return c.Packaging.BentoEnv },
			[]string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL"}},
		{"DEPLOYER_SHADOW_HOLD_DEFAULT", "48h", func(c Config) any { return c.Policy.ShadowHoldDefault }, 48 * time.Hour},
		{"DEPLOYER_SHADOW_HOLD_MIN", "1h", func(c Config) any { return c.Policy.ShadowHoldMin }, time.Hour},
		{"DEPLOYER_SHADOW_HOLD_MAX", "48h", func(c Config) any { return c.Policy.ShadowHoldMax }, 48 * time.Hour},
		{"DEPLOYER_APPROVAL_TIMEOUT_MAX", "96h", func(c Config) any { return c.Policy.ApprovalTimeoutMax }, 96 * time.Hour},
		{"DEPLOYER_APPROVAL_TIMEOUT", "4h", func(c Config) any { return c.Policy.ApprovalTimeoutDefault }, 4 * time.Hour},
		{"DEPLOYER_ALLOW_APPROVAL_WAIVER", "true", func(c Config) any { return c.Policy.AllowApprovalWaiver }, true},
		{"DEPLOYER_CANARY_HOLD_DEFAULT", "30m", func(c Config) any { return c.Policy.CanaryHoldDefault }, 30 * time.Minute},
		{"DEPLOYER_CANARY_HOLD_MIN", "30s", func(c Config) any { return c.Policy.CanaryHoldMin }, 30 * time.Second},
		{"DEPLOYER_COMPENSATION_TIMEOUT", "2h", func(c Config) any { return c.Policy.CompensationTimeout }, 2 * time.Hour},
		{"DEPLOYER_SHADOW_MIN_DURATION", "12h", func(c Config) any { return c.Policy.Shadow.MinDuration }, 12 * time.Hour},
		{"DEPLOYER_SHADOW_MIN_REQUESTS", "5000", func(c Config) any { return c.Policy.Shadow.MinRequests }, int64(5000)},
		{"DEPLOYER_SHADOW_MAX_ERROR_RATE", "0.005", func(c Config) any { return c.Policy.Shadow.MaxErrorRate }, 0.005},
		{"DEPLOYER_SHADOW_MAX_P99_MS", "250.5", func(c Config) any { return c.Policy.Shadow.MaxP99MS }, 250.5},
		{"DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE", "true", func(c Config) any { return c.Policy.Evidence.AllowCallerSupplied }, true},
		{"DEPLOYER_SHADOW_EVIDENCE_MAX_AGE", "48h", func(c Config) any { return c.Policy.Evidence.MaxAge }, 48 * time.Hour},
		{"DEPLOYER_SHADOW_SAMPLE_EVERY", "1m", func(c Config) any { return c.Policy.Evidence.SampleEvery }, time.Minute},
		{"DEPLOYER_CANARY_MIN_STEPS", "2", func(c Config) any { return c.Policy.Canary.MinSteps }, 2},
		{"DEPLOYER_CANARY_MAX_FIRST_STEP", "10", func(c Config) any { return c.Policy.Canary.MaxFirstStep }, 10},
		{"DEPLOYER_CANARY_HOLD_MAX", "2h", func(c Config) any { return c.Policy.Canary.MaxHold }, 2 * time.Hour},
		{"DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING", "0.02", func(c Config) any { return c.Policy.Canary.MaxErrorRateCeiling }, 0.02},
		{"DEPLOYER_CANARY_MAX_P99_MS_CEILING", "500", func(c Config) any { return c.Policy.Canary.MaxP99MSCeiling }, 500.0},
		{"DEPLOYER_CANARY_MIN_REQUESTS_FLOOR", "100", func(c Config) any { return c.Policy.Canary.MinRequestsFloor }, 100.0},
		{"DEPLOYER_CANARY_SAMPLE_EVERY", "3s", func(c Config) any { return c.Policy.Canary.SampleEvery }, 3 * time.Second},
		{"DEPLOYER_CANARY_WARMUP", "5s", func(c Config) any { return c.Policy.Canary.Warmup }, 5 * time.Second},
		{"DEPLOYER_METRICS", "none", func(c Config) any { return c.Metrics.Kind }, "none"},
		{"DEPLOYER_PROMETHEUS_URL", "http://127.0.0.1:9090", func(c Config) any { return c.Metrics.URL }, "http://127.0.0.1:9090"},
		{"DEPLOYER_METRICS_TIMEOUT", "3s", func(c Config) any { return c.Metrics.Timeout }, 3 * time.Second},
		{"DEPLOYER_GOVERNANCE_ENVIRONMENTS", "shadow, production", func(c Config) any { return c.Policy.Governance.Environments },
			[]contract.Environment{"shadow", "production"}},
		{"DEPLOYER_REQUIRE_TEST_EVIDENCE", "false", func(c Config) any { return c.Policy.Governance.RequireTestEvidence }, false},
		{"DEPLOYER_MIN_COVERAGE", "0.8", func(c Config) any { return c.Policy.Governance.MinCoverage }, 0.8},
		{"DEPLOYER_REQUIRE_MODEL_CARD", "false", func(c Config) any { return c.Policy.Governance.RequireModelCard }, false},
		{"DEPLOYER_REQUIRE_PINNED", "false", func(c Config) any { return c.Policy.Governance.RequirePinned }, false},
		{"DEPLOYER_DRIFT_THRESHOLD", "0.25", func(c Config) any { return c.Policy.Drift.Threshold }, 0.25},
		{"DEPLOYER_MODEL_URI_SCHEMES", "runs, models, S3", func(c Config) any { return c.Policy.ModelURISchemes }, []string{"runs", "models", "s3"}},
		{"DEPLOYER_DRIFT_MIN_TOTAL", "50", func(c Config) any { return c.Policy.Drift.MinTotal }, 50.0},
		{"DEPLOYER_DRIFT_MIN_EXPECTED_PER_BIN", "2", func(c Config) any { return c.Policy.Drift.MinExpectedPerBin }, 2.0},
		{"DEPLOYER_CODEC_KEYS", "/secrets/codec.json", func(c Config) any { return c.Codec.Keys }, "/secrets/codec.json"},
		{"DEPLOYER_CODEC_ADDR", "0.0.0.0:9000", func(c Config) any { return c.Codec.Addr }, "0.0.0.0:9000"},
		{"DEPLOYER_CODEC_TOKEN", "t0k", func(c Config) any { return c.Codec.Token }, "t0k"},
		{"DEPLOYER_CODEC_ORIGINS", "https://ui.example/, http://127.0.0.1:8233", func(c Config) any { return c.Codec.Origins },
			[]string{"https://ui.example", "http://127.0.0.1:8233"}},
		{"DEPLOYER_DRIFT_REQUIRE_PROFILE", "none", func(c Config) any { return c.Policy.Drift.RequireProfile }, []contract.Environment(nil)},
		{"DEPLOYER_METRICS_ADDR", "127.0.0.1:9464", func(c Config) any { return c.Telemetry.MetricsAddr }, "127.0.0.1:9464"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317", func(c Config) any { return c.Telemetry.OTLPEndpoint }, "http://collector:4317"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4317", func(c Config) any { return c.Telemetry.OTLPEndpoint }, "http://collector:4317"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", func(c Config) any { return c.Telemetry.OTLPProtocol }, "http/protobuf"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", func(c Config) any { return c.Telemetry.OTLPProtocol }, "http/protobuf"},
		{"OTEL_SERVICE_NAME", "deployer-eu", func(c Config) any { return c.Telemetry.ServiceName }, "deployer-eu"},
		{"OTEL_SDK_DISABLED", "true", func(c Config) any { return c.Telemetry.TracesOff }, true},
		{"OTEL_TRACES_EXPORTER", "none", func(c Config) any { return c.Telemetry.TracesOff }, true},
	}
}

// TestTelemetryTracing: traces are exported only with an endpoint, the traces-specific variables
// win over the general ones, and OpenTelemetry's switches turn them off.
func TestTelemetryTracing(t *testing.T) {
	cases := []struct {
		name     string
		vars     map[string]string
		endpoint string
		protocol string
		tracing  bool
	}{
		{"nothing set", nil, "", "grpc", false},
		{"general endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, "http://c:4317", "grpc", true},
		{"traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/v1/traces", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "http://t:4318/v1/traces", "http/protobuf", true},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_SDK_DISABLED": "true"}, "http://c:4317", "grpc", false},
		{"traces exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_TRACES_EXPORTER": "none"}, "http://c:4317", "grpc", false},
		{"traces exporter otlp", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_TRACES_EXPORTER": "otlp"}, "http://c:4317", "grpc", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Telemetry
			if got.OTLPEndpoint != tc.endpoint || got.OTLPProtocol != tc.protocol || got.Tracing() != tc.tracing {
				t.Errorf("got %+v (tracing %v), want endpoint %q protocol %q tracing %v", got, got.Tracing(), tc.endpoint, tc.protocol, tc.tracing)
			}
		})
	}
}

// TestLedgerKeyringFollowsTheKey: the keyring defaults to the key's path with .pub.json.
func TestLedgerKeyringFollowsTheKey(t *testing.T) {
	c, err := Load(env(map[string]string{"DEPLOYER_LEDGER_KEY": "/secrets/ledger.jwk"}))
	if err != nil || c.LedgerKeyring != "/secrets/ledger.jwk.pub.json" {
		t.Fatalf("keyring %q, %v", c.LedgerKeyring, err)
	}
}

// TestLoadOverrides: each variable sets its field and only its field.
func TestLoadOverrides(t *testing.T) {
	cases := overrides()
	if len(cases) != 74 { // and the MLflow basic-auth pair, which goes together: TestLoadMLflowAuth
		t.Fatalf("%d variables covered, want all 74", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			got, err := Load(env(map[string]string{tc.key: tc.value}))
			if err != nil {
				t.Fatalf("Load(%s=%s): %v", tc.key, tc.value, err)
			}
			if v := tc.get(got); !reflect.DeepEqual(v, tc.want) {
				t.Errorf("%s=%s gave %#v, want %#v", tc.key, tc.value, v, tc.want)
			}
			// Putting the default back must give Defaults(): nothing else moved.
			def := Defaults()
			restored := got
			switch tc.key {
			case "TEMPORAL_ADDRESS":
				restored.TemporalAddress = def.TemporalAddress
			case "TEMPORAL_NAMESPACE":
				restored.TemporalNamespace = def.TemporalNamespace
			case "MLFLOW_TRACKING_URI":
				restored.MLflowTrackingURI = def.MLflowTrackingURI
			case "MLFLOW_TRACKING_TOKEN":
				restored.MLflowAuth = def.MLflowAuth
			case "DATABASE_URL":
				restored.DatabaseURL = def.DatabaseURL
			case "DEPLOYER_LEDGER_KEY", "DEPLOYER_LEDGER_KEYRING":
				restored.LedgerKey, restored.LedgerKeyring = def.LedgerKey, def.LedgerKeyring
			case "DEPLOYER_LOG_LEVEL":
				restored.LogLevel = def.LogLevel
			case "DEPLOYER_WORKER_STOP_TIMEOUT", "DEPLOYER_MAX_ACTIVITIES", "DEPLOYER_WORKFLOW_CACHE_SIZE":
				restored.StopTimeout, restored.MaxActivities, restored.WorkflowCacheSize = def.StopTimeout, def.MaxActivities, def.WorkflowCacheSize
			case "DEPLOYER_PROBE_TIMEOUT", "DEPLOYER_PROBE_ATTEMPTS", "DEPLOYER_PROBE_BACKOFF":
				restored.Probe = def.Probe
			case "DEPLOYER_OCI_REPOSITORY", "DEPLOYER_BASE_IMAGE", "DEPLOYER_OCI_INSECURE", "DEPLOYER_OCI_PUSH_ATTEMPTS",
				"DEPLOYER_OCI_PUSH_BACKOFF", "DEPLOYER_BENTOML_HOME", "DEPLOYER_BENTO_PYTHON", "DEPLOYER_BENTO_SCRIPT",
				"DEPLOYER_BENTO_BUILD_TIMEOUT", "DEPLOYER_BENTO_ENV":
				restored.Packaging = def.Packaging
			case "DEPLOYER_METRICS", "DEPLOYER_PROMETHEUS_URL", "DEPLOYER_METRICS_TIMEOUT":
				restored.Metrics = def.Metrics
			case "DEPLOYER_CODEC_KEYS", "DEPLOYER_CODEC_ADDR", "DEPLOYER_CODEC_TOKEN", "DEPLOYER_CODEC_ORIGINS":
				restored.Codec = def.Codec
			case "DEPLOYER_METRICS_ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER":
				restored.Telemetry = def.Telemetry
			default:
				restored.Policy = def.Policy
			}
			if !reflect.DeepEqual(restored, def) {
				t.Errorf("%s changed other fields: %+v", tc.key, got)
			}
		})
	}
}

// TestLoadAllOverridesTogether: every variable at once.
func TestLoadAllOverridesTogether(t *testing.T) {
	vars := map[string]string{}
	for _, tc := range overrides() {
		vars[tc.key] = tc.value
	}
	got, err := Load(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range overrides() {
		if v := tc.get(got); !reflect.DeepEqual(v, tc.want) {
			t.Errorf("%s: %#v, want %#v", tc.key, v, tc.want)
		}
	}
}

// TestLoadMetricsKind: a Prometheus URL alone turns the Prometheus source on; DEPLOYER_METRICS=none
// keeps it off even with a URL.
func TestLoadMetricsKind(t *testing.T) {
	cases := []struct {
		vars map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"DEPLOYER_PROMETHEUS_URL": "http://127.0.0.1:9090"}, true},
		{map[string]string{"DEPLOYER_METRICS": "prometheus", "DEPLOYER_PROMETHEUS_URL": "https://prom.internal"}, true},
		{map[string]string{"DEPLOYER_METRICS": "none", "DEPLOYER_PROMETHEUS_URL": "http://127.0.0.1:9090"}, false},
	}
	for _, tc := range cases {
		got, err := Load(env(tc.vars))
		if err != nil || got.Metrics.Configured() != tc.want {
			t.Errorf("Load(%v): configured %v (%v), want %v", tc.vars, got.Metrics.Configured(), err, tc.want)
		}
	}
}

func TestLoadAcceptedEdges(t *testing.T) {
	cases := []map[string]string{
		{"DEPLOYER_SHADOW_HOLD_DEFAULT": "1h", "DEPLOYER_SHADOW_HOLD_MIN": "1h"},  // default == min
		{"DEPLOYER_CANARY_HOLD_DEFAULT": "1m", "DEPLOYER_CANARY_HOLD_MIN": "60s"}, // default == min
		{"DEPLOYER_SHADOW_MAX_ERROR_RATE": "0"},                                   // [0,1] inclusive
		{"DEPLOYER_SHADOW_MAX_ERROR_RATE": "1"},                                   //
		{"DEPLOYER_PROBE_ATTEMPTS": "1"},                                          // minimum
		{"DEPLOYER_ALLOW_APPROVAL_WAIVER": "0"},                                   // strconv.ParseBool forms
		{"DEPLOYER_ALLOW_APPROVAL_WAIVER": "TRUE"},                                //
		{"DEPLOYER_SHADOW_HOLD_MIN": "0s", "DEPLOYER_SHADOW_HOLD_DEFAULT": "0s"},  // zero is not negative
		{"DEPLOYER_WORKERS": "4", "DATABASE_URL": "postgres://u@db/deployer"},     // several workers share PostgreSQL
		{"DEPLOYER_WORKERS": "2", "DATABASE_URL": "PostgreSQL://u@db/deployer"},   // the scheme in any case
	}
	for _, vars := range cases {
		if _, err := Load(env(vars)); err != nil {
			t.Errorf("Load(%v): %v", vars, err)
		}
	}
}

// TestLoadRejects: a bad value fails Load with an error naming the variable.
func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		key  string // the variable the error must name
		bug  string // non-empty: known bug; acceptance skips with this reason
	}{
		{"unparseable duration", map[string]string{"DEPLOYER_PROBE_TIMEOUT": "soon"}, "DEPLOYER_PROBE_TIMEOUT", ""},
		{"duration without unit", map[string]string{"DEPLOYER_PROBE_BACKOFF": "5"}, "DEPLOYER_PROBE_BACKOFF", ""},
		{"negative duration", map[string]string{"DEPLOYER_PROBE_BACKOFF": "-1s"}, "DEPLOYER_PROBE_BACKOFF", ""},
		{"workers 0", map[string]string{"DEPLOYER_WORKERS": "0"}, "DEPLOYER_WORKERS", ""},
		{"no activity slots", map[string]string{"DEPLOYER_MAX_ACTIVITIES": "0"}, "DEPLOYER_MAX_ACTIVITIES", ""},
		{"no workflow cache", map[string]string{"DEPLOYER_WORKFLOW_CACHE_SIZE": "0"}, "DEPLOYER_WORKFLOW_CACHE_SIZE", ""},
		{"several workers on the default SQLite file", map[string]string{"DEPLOYER_WORKERS": "2"}, "DEPLOYER_WORKERS", ""},
		{"several workers on a named SQLite file", map[string]string{"DEPLOYER_WORKERS": "3", "DATABASE_URL": "sqlite:/var/lib/td.db"}, "DEPLOYER_WORKERS", ""},
		{"negative stop timeout", map[string]string{"DEPLOYER_WORKER_STOP_TIMEOUT": "-1s"}, "DEPLOYER_WORKER_STOP_TIMEOUT", ""},
		{"negative shadow hold min", map[string]string{"DEPLOYER_SHADOW_HOLD_MIN": "-24h"}, "DEPLOYER_SHADOW_HOLD_MIN", ""},
		{"negative shadow min duration", map[string]string{"DEPLOYER_SHADOW_MIN_DURATION": "-1h"}, "DEPLOYER_SHADOW_MIN_DURATION", ""},
		{"unparseable approval timeout", map[string]string{"DEPLOYER_APPROVAL_TIMEOUT": "3 days"}, "DEPLOYER_APPROVAL_TIMEOUT", ""},
		{"approval timeout 0", map[string]string{"DEPLOYER_APPROVAL_TIMEOUT": "0s"}, "DEPLOYER_APPROVAL_TIMEOUT", ""},
		{"compensation timeout below 1m", map[string]string{"DEPLOYER_COMPENSATION_TIMEOUT": "30s"}, "DEPLOYER_COMPENSATION_TIMEOUT", ""},
		{"approver policy missing", map[string]string{"DEPLOYER_APPROVERS_FILE": "/nonexistent/approvers.json"}, "DEPLOYER_APPROVERS_FILE", ""},
		{"approver policy malformed", map[string]string{"DEPLOYER_APPROVERS_FILE": "testdata/approvers-malformed.json"}, "approvers[0].keys[0]", ""},
		{"non-integer attempts", map[string]string{"DEPLOYER_PROBE_ATTEMPTS": "five"}, "DEPLOYER_PROBE_ATTEMPTS", ""},
		{"fractional attempts", map[string]string{"DEPLOYER_PROBE_ATTEMPTS": "2.5"}, "DEPLOYER_PROBE_ATTEMPTS", ""},
		{"attempts 0", map[string]string{"DEPLOYER_PROBE_ATTEMPTS": "0"}, "DEPLOYER_PROBE_ATTEMPTS", ""},
		{"attempts negative", map[string]string{"DEPLOYER_PROBE_ATTEMPTS": "-3"}, "DEPLOYER_PROBE_ATTEMPTS", ""},
		{"shadow hold default below min", map[string]string{"DEPLOYER_SHADOW_HOLD_DEFAULT": "1h"}, "DEPLOYER_SHADOW_HOLD_DEFAULT", ""},
		{"shadow hold min above default", map[string]string{"DEPLOYER_SHADOW_HOLD_MIN": "48h"}, "DEPLOYER_SHADOW_HOLD_MIN", ""},
		{"canary default below min", map[string]string{"DEPLOYER_CANARY_HOLD_DEFAULT": "30s"}, "DEPLOYER_CANARY_HOLD_DEFAULT", ""},
		{"error rate 2", map[string]string{"DEPLOYER_SHADOW_MAX_ERROR_RATE": "2"}, "DEPLOYER_SHADOW_MAX_ERROR_RATE", ""},
		{"error rate negative", map[string]string{"DEPLOYER_SHADOW_MAX_ERROR_RATE": "-0.01"}, "DEPLOYER_SHADOW_MAX_ERROR_RATE", ""},
		{"error rate not a number", map[string]string{"DEPLOYER_SHADOW_MAX_ERROR_RATE": "1%"}, "DEPLOYER_SHADOW_MAX_ERROR_RATE", ""},
		{"error rate NaN", map[string]string{"DEPLOYER_SHADOW_MAX_ERROR_RATE": "NaN"}, "DEPLOYER_SHADOW_MAX_ERROR_RATE", ""},
		{"p99 not a number", map[string]string{"DEPLOYER_SHADOW_MAX_P99_MS": "fast"}, "DEPLOYER_SHADOW_MAX_P99_MS", ""},
		{"p99 NaN", map[string]string{"DEPLOYER_SHADOW_MAX_P99_MS": "NaN"}, "DEPLOYER_SHADOW_MAX_P99_MS", ""},
		{"p99 Inf", map[string]string{"DEPLOYER_SHADOW_MAX_P99_MS": "+Inf"}, "DEPLOYER_SHADOW_MAX_P99_MS", ""},
		{"sample every below 1s", map[string]string{"DEPLOYER_SHADOW_SAMPLE_EVERY": "100ms"}, "DEPLOYER_SHADOW_SAMPLE_EVERY", ""},
		{"evidence max age 0", map[string]string{"DEPLOYER_SHADOW_EVIDENCE_MAX_AGE": "0s"}, "DEPLOYER_SHADOW_EVIDENCE_MAX_AGE", ""},
		{"caller evidence not a bool", map[string]string{"DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE": "sure"}, "DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE", ""},
		{"canary min steps 0", map[string]string{"DEPLOYER_CANARY_MIN_STEPS": "0"}, "DEPLOYER_CANARY_MIN_STEPS", ""},
		{"canary first step 101", map[string]string{"DEPLOYER_CANARY_MAX_FIRST_STEP": "101"}, "DEPLOYER_CANARY_MAX_FIRST_STEP", ""},
		{"shadow hold max below default", map[string]string{"DEPLOYER_SHADOW_HOLD_MAX": "12h"}, "DEPLOYER_SHADOW_HOLD_MAX", ""},
		{"approval timeout max below default", map[string]string{"DEPLOYER_APPROVAL_TIMEOUT_MAX": "24h"}, "DEPLOYER_APPROVAL_TIMEOUT_MAX", ""},
		{"canary max hold below default", map[string]string{"DEPLOYER_CANARY_HOLD_MAX": "5m"}, "DEPLOYER_CANARY_HOLD_MAX", ""},
		{"canary error ceiling NaN", map[string]string{"DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING": "NaN"}, "DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING", ""},
		{"canary error ceiling 0", map[string]string{"DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING": "0"}, "DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING", ""},
		{"canary p99 ceiling 0", map[string]string{"DEPLOYER_CANARY_MAX_P99_MS_CEILING": "0"}, "DEPLOYER_CANARY_MAX_P99_MS_CEILING", ""},
		{"canary warm-up negative", map[string]string{"DEPLOYER_CANARY_WARMUP": "-1s"}, "DEPLOYER_CANARY_WARMUP", ""},
		{"canary sample every under 1s", map[string]string{"DEPLOYER_CANARY_SAMPLE_EVERY": "500ms"}, "DEPLOYER_CANARY_SAMPLE_EVERY", ""},
		{"canary min requests floor 0", map[string]string{"DEPLOYER_CANARY_MIN_REQUESTS_FLOOR": "0"}, "DEPLOYER_CANARY_MIN_REQUESTS_FLOOR", ""},
		{"unknown metrics kind", map[string]string{"DEPLOYER_METRICS": "datadog"}, "DEPLOYER_METRICS", ""},
		{"prometheus without URL", map[string]string{"DEPLOYER_METRICS": "prometheus"}, "DEPLOYER_PROMETHEUS_URL", ""},
		{"prometheus URL not http", map[string]string{"DEPLOYER_PROMETHEUS_URL": "127.0.0.1:9090"}, "DEPLOYER_PROMETHEUS_URL", ""},
		{"metrics timeout 0", map[string]string{"DEPLOYER_METRICS_TIMEOUT": "0s"}, "DEPLOYER_METRICS_TIMEOUT", ""},
		{"metrics address without port", map[string]string{"DEPLOYER_METRICS_ADDR": "127.0.0.1"}, "DEPLOYER_METRICS_ADDR", ""},
		{"otlp protocol unknown", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL", ""},
		{"traces exporter unknown", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER", ""},
		{"sdk disabled not a bool", map[string]string{"OTEL_SDK_DISABLED": "yes"}, "OTEL_SDK_DISABLED", ""},
		{"min requests not an integer", map[string]string{"DEPLOYER_SHADOW_MIN_REQUESTS": "1e3"}, "DEPLOYER_SHADOW_MIN_REQUESTS", ""},
		{"waiver not a bool", map[string]string{"DEPLOYER_ALLOW_APPROVAL_WAIVER": "yes"}, "DEPLOYER_ALLOW_APPROVAL_WAIVER", ""},
		{"push attempts 0", map[string]string{"DEPLOYER_OCI_PUSH_ATTEMPTS": "0"}, "DEPLOYER_OCI_PUSH_ATTEMPTS", ""},
		{"push attempts not an integer", map[string]string{"DEPLOYER_OCI_PUSH_ATTEMPTS": "many"}, "DEPLOYER_OCI_PUSH_ATTEMPTS", ""},
		{"negative push backoff", map[string]string{"DEPLOYER_OCI_PUSH_BACKOFF": "-1s"}, "DEPLOYER_OCI_PUSH_BACKOFF", ""},
		{"insecure not a bool", map[string]string{"DEPLOYER_OCI_INSECURE": "maybe"}, "DEPLOYER_OCI_INSECURE", ""},
		{"build timeout 0", map[string]string{"DEPLOYER_BENTO_BUILD_TIMEOUT": "0s"}, "DEPLOYER_BENTO_BUILD_TIMEOUT", ""},
		{"governance environment unknown", map[string]string{"DEPLOYER_GOVERNANCE_ENVIRONMENTS": "prod"}, "DEPLOYER_GOVERNANCE_ENVIRONMENTS", ""},
		{"governance environments only commas", map[string]string{"DEPLOYER_GOVERNANCE_ENVIRONMENTS": " , "}, "DEPLOYER_GOVERNANCE_ENVIRONMENTS", ""},
		{"coverage as a percent", map[string]string{"DEPLOYER_MIN_COVERAGE": "90"}, "DEPLOYER_MIN_COVERAGE", ""},
		{"model card switch not a bool", map[string]string{"DEPLOYER_REQUIRE_MODEL_CARD": "on"}, "DEPLOYER_REQUIRE_MODEL_CARD", ""},
		{"drift threshold 0", map[string]string{"DEPLOYER_DRIFT_THRESHOLD": "0"}, "DEPLOYER_DRIFT_THRESHOLD", ""},
		{"drift profile environment unknown", map[string]string{"DEPLOYER_DRIFT_REQUIRE_PROFILE": "prod"}, "DEPLOYER_DRIFT_REQUIRE_PROFILE", ""},
		{"model URI schemes none", map[string]string{"DEPLOYER_MODEL_URI_SCHEMES": " , "}, "DEPLOYER_MODEL_URI_SCHEMES", ""},
		{"model URI scheme written as a prefix", map[string]string{"DEPLOYER_MODEL_URI_SCHEMES": "runs:/"}, "DEPLOYER_MODEL_URI_SCHEMES", ""},
		{"first error kept", map[string]string{"DEPLOYER_PROBE_TIMEOUT": "x", "DEPLOYER_SHADOW_MAX_P99_MS": "y"}, "DEPLOYER_PROBE_TIMEOUT", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(env(tc.vars))
			if err == nil {
				t.Fatalf("Load(%v) accepted: %+v", tc.vars, got)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name %s", err, tc.key)
			}
		})
	}
}

// TestLoadApprovers: the approver policy file is read into the policy the workflow records.
func TestLoadApprovers(t *testing.T) {
	c, err := Load(env(map[string]string{"DEPLOYER_APPROVERS_FILE": "testdata/approvers.json"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Policy.Approvals.Configured() || fmt.Sprint(c.Policy.Approvals.Eligible("production")) != "[alice@example.com]" {
		t.Errorf("approver policy %+v", c.Policy.Approvals)
	}
}
