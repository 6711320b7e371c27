// Package config reads the worker's configuration from the environment. Every variable and its
// default is listed here, in one place, and documented in the README.
package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/governance"
	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
	"github.com/temporaldeployer/temporaldeployer/seal"
)

// Config is the worker's configuration.
type Config struct {
	TemporalAddress   string                 // TEMPORAL_ADDRESS, default 127.0.0.1:7233
	TemporalNamespace string                 // TEMPORAL_NAMESPACE, default "default"
	MLflowTrackingURI string                 // MLFLOW_TRACKING_URI, default http://127.0.0.1:5000; credentials in it are refused
	MLflowAuth        mlflowauth.Credentials // MLflow's MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD (config/secrets.go)
	DatabaseURL       string                 // DATABASE_URL: a SQLite path (default .cache/deployer.db) or postgres:// URL
	LogLevel          string                 // DEPLOYER_LOG_LEVEL: debug | info | warn | error, default info
	// LedgerKey (DEPLOYER_LEDGER_KEY, default .cache/ledger/worker.jwk) is the worker's Ed25519
	// signing key (a private JWK; in a cluster a mounted Secret) that seals every evidence-ledger
	// entry. When the file is absent the worker creates it. LedgerKeyring (DEPLOYER_LEDGER_KEYRING,
	// default <LedgerKey>.pub.json) holds the public keys that verify the ledger; the worker adds
	// its key to it.
	LedgerKey     string
	LedgerKeyring string
	// ApproversFile (DEPLOYER_APPROVERS_FILE, default none) is the approver policy, a JSON file (a
	// mounted Secret or ConfigMap in a cluster); a malformed one stops the worker at start.
	ApproversFile string
	// Workers (DEPLOYER_WORKERS, default 1) is how many workers serve the task queue. A SQLite file
	// belongs to one worker: its environment locks and known-good rows are not seen by another, so
	// more than one worker needs a PostgreSQL DATABASE_URL (validate refuses SQLite).
	Workers int
	// StopTimeout (DEPLOYER_WORKER_STOP_TIMEOUT, default 30s) is how long a stopping worker (SIGTERM)
	// lets in-flight activities finish before cancelling them; a cancelled one is retried elsewhere.
	StopTimeout time.Duration
	// MaxActivities (DEPLOYER_MAX_ACTIVITIES, default 1000, the SDK's) is how many activities the
	// worker runs at once. A shadow hold takes a slot only for a moment (activities/holds.go parks
	// it); a canary step's hold takes one for its minutes.
	MaxActivities int
	// WorkflowCacheSize (DEPLOYER_WORKFLOW_CACHE_SIZE, default 1000; the SDK's is 10,000) is how
	// many runs the worker keeps in memory between their tasks; one evicted is replayed from its
	// history (a few hundred events) when it next has work. A deployer's runs are few and mostly
	// wait: 1,000 keeps a worker of 10,000 parked runs under 256 MB (TestParkedHolds).
	WorkflowCacheSize int
	Probe             ProbeConfig
	Packaging         PackagingConfig
	Cluster           ClusterConfig
	Metrics           MetricsConfig
	Codec             CodecConfig
	Telemetry         TelemetryConfig
	Policy            Policy
}

// PackagingConfig configures the BentoML packager and the OCI registry its images go to. With no
// OCI repository the worker has no packager (runs that deploy fail with BackendNotConfigured).
// Relative paths are taken from the worker's working directory.
type PackagingConfig struct {
	OCIRepository string        // DEPLOYER_OCI_REPOSITORY, e.g. 127.0.0.1:5001/models; default "" (no packager)
	BaseImage     string        // DEPLOYER_BASE_IMAGE: image the bento layer goes on; default "" (none: bento layer only)
	OCIInsecure   bool          // DEPLOYER_OCI_INSECURE: plain HTTP to the registry, default false (loopback is plain HTTP anyway)
	PushAttempts  int           // DEPLOYER_OCI_PUSH_ATTEMPTS: tries per registry call, default 5
	PushBackoff   time.Duration // DEPLOYER_OCI_PUSH_BACKOFF: first wait between tries, doubling, default 1s
	BentoMLHome   string        // DEPLOYER_BENTOML_HOME: BentoML's model and bento store, default .cache/bentoml
	BentoPython   string        // DEPLOYER_BENTO_PYTHON: Python with bentoml and mlflow, default .cache/venv/bin/python
	BentoScript   string        // DEPLOYER_BENTO_SCRIPT: the build script, default infra/bento/package.py
	BuildTimeout  time.Duration // DEPLOYER_BENTO_BUILD_TIMEOUT: bound on one bento build, default 15m
	BentoEnv      []string      // DEPLOYER_BENTO_ENV: more of the worker's variables the build gets, by name (config/bentoenv.go); default none
}

// Configured reports whether the worker gets a packager.
func (p PackagingConfig) Configured() bool { return p.OCIRepository != "" }

// ProbeConfig tunes health probes.
type ProbeConfig struct {
	AttemptTimeout time.Duration // DEPLOYER_PROBE_TIMEOUT, default 5s per attempt
	Attempts       int           // DEPLOYER_PROBE_ATTEMPTS, default 5
	Backoff        time.Duration // DEPLOYER_PROBE_BACKOFF, default 1s, doubling per attempt
}

// Policy is the organisation's rollout policy. The workflow reads it once, through a local
// activity, so it is recorded in history and replays deterministically.
type Policy struct {
	ShadowHoldDefault      time.Duration `json:"shadow_hold_default"`      // DEPLOYER_SHADOW_HOLD_DEFAULT, 24h
	ShadowHoldMin          time.Duration `json:"shadow_hold_min"`          // DEPLOYER_SHADOW_HOLD_MIN, 24h
	ShadowHoldMax          time.Duration `json:"shadow_hold_max"`          // DEPLOYER_SHADOW_HOLD_MAX, 168h
	ApprovalTimeoutDefault time.Duration `json:"approval_timeout_default"` // DEPLOYER_APPROVAL_TIMEOUT, 72h
	ApprovalTimeoutMax     time.Duration `json:"approval_timeout_max"`     // DEPLOYER_APPROVAL_TIMEOUT_MAX, 168h
	AllowApprovalWaiver    bool          `json:"allow_approval_waiver"`    // DEPLOYER_ALLOW_APPROVAL_WAIVER, false
	CanaryHoldDefault      time.Duration `json:"canary_hold_default"`      // DEPLOYER_CANARY_HOLD_DEFAULT, 10m
	CanaryHoldMin          time.Duration `json:"canary_hold_min"`          // DEPLOYER_CANARY_HOLD_MIN, 1m
	// CompensationTimeout bounds how long a failed run's compensation keeps retrying (an API server
	// down, a restore that cannot roll out) before it gives up with CompensationFailed for an
	// operator; DEPLOYER_COMPENSATION_TIMEOUT, 6h. 0 (policies recorded before it): unbounded.
	CompensationTimeout time.Duration  `json:"compensation_timeout"`
	Shadow              ShadowCriteria `json:"shadow"`
	Evidence            EvidencePolicy `json:"evidence"`
	Canary              CanaryPolicy   `json:"canary"`
	// Approvals is the approver policy read from DEPLOYER_APPROVERS_FILE (README "Approvals"): who
	// may approve which environment with which keys, how many, how old. Empty: no one can approve.
	Approvals approval.Policy `json:"approvals"`
	// Governance is the registry evidence gates (config/governance.go). Policies recorded before
	// them decode to the zero value, which runs that old never read.
	Governance governance.Policy `json:"governance"`
	// Drift is the shadow hold's input drift gate (config/governance.go); zero in older policies.
	Drift DriftPolicy `json:"drift"`
	// ModelURISchemes are the model_uri schemes a run may name (config/reach.go); empty in
	// policies recorded before it, which runs that old never read.
	ModelURISchemes []string `json:"model_uri_schemes"`
	// Backends says which optional backends this worker has; filled in by the worker, not the env.
	Backends Backends `json:"backends"`
}

// ShadowCriteria are the bars a shadow run must clear before Production (seed 000).
type ShadowCriteria struct {
	MinDuration  time.Duration `json:"min_duration"`   // DEPLOYER_SHADOW_MIN_DURATION, 24h
	MinRequests  int64         `json:"min_requests"`   // DEPLOYER_SHADOW_MIN_REQUESTS, 1000
	MaxErrorRate float64       `json:"max_error_rate"` // DEPLOYER_SHADOW_MAX_ERROR_RATE, 0.01 (exclusive)
	MaxP99MS     float64       `json:"max_p99_ms"`     // DEPLOYER_SHADOW_MAX_P99_MS, 150 (exclusive)
}

// Backends records which optional backends the worker was configured with.
type Backends struct {
	Packager bool `json:"packager"`
	Cluster  bool `json:"cluster"`
	Metrics  bool `json:"metrics"`
}

// Defaults returns the configuration with no environment variables set.
func Defaults() Config {
	return Config{
		TemporalAddress:   "127.0.0.1:7233",
		TemporalNamespace: "default",
		MLflowTrackingURI: "http://127.0.0.1:5000",
		DatabaseURL:       ".cache/deployer.db",
		LedgerKey:         ".cache/ledger/worker.jwk",
		LedgerKeyring:     seal.KeyringPath(".cache/ledger/worker.jwk"),
		LogLevel:          "info",
		StopTimeout:       30 * time.Second,
		MaxActivities:     1000,
		WorkflowCacheSize: 1000,
		Workers:           1,
		Probe:             ProbeConfig{AttemptTimeout: 5 * time.Second, Attempts: 5, Backoff: time.Second},
		Packaging:         DefaultPackaging(),
		Cluster:           DefaultCluster(),
		Metrics:           MetricsConfig{Timeout: 10 * time.Second},
		Codec:             DefaultCodec(),
		Telemetry:         TelemetryConfig{OTLPProtocol: OTLPGRPC},
		Policy:            DefaultPolicy(),
	}
}

// DefaultPackaging is the packaging configuration with no environment overrides.
func DefaultPackaging() PackagingConfig {
	return PackagingConfig{
		PushAttempts: 5,
		PushBackoff:  time.Second,
		BentoMLHome:  ".cache/bentoml",
		BentoPython:  ".cache/venv/bin/python",
		BentoScript:  "infra/bento/package.py",
		BuildTimeout: 15 * time.Minute,
	}
}

// DefaultPolicy is the policy with no environment overrides.
func DefaultPolicy() Policy {
	return Policy{
		ShadowHoldDefault:      24 * time.Hour,
		ShadowHoldMin:          24 * time.Hour,
		ShadowHoldMax:          7 * 24 * time.Hour,
		ApprovalTimeoutDefault: 72 * time.Hour,
		ApprovalTimeoutMax:     7 * 24 * time.Hour,
		CanaryHoldDefault:      10 * time.Minute,
		CanaryHoldMin:          time.Minute,
		CompensationTimeout:    6 * time.Hour,
		Shadow: ShadowCriteria{
			MinDuration:  24 * time.Hour,
			MinRequests:  1000,
			MaxErrorRate: 0.01,
			MaxP99MS:     150,
		},
		Evidence:        DefaultEvidence(),
		Canary:          DefaultCanary(),
		Governance:      governance.DefaultPolicy(),
		Drift:           DefaultDrift(),
		ModelURISchemes: DefaultModelURISchemes(),
	}
}

// Load reads the configuration through getenv (os.Getenv in production, a map in tests).
func Load(getenv func(string) string) (Config, error) {
	c := Defaults()
	r := reader{getenv: getenv}
	r.str("TEMPORAL_ADDRESS", &c.TemporalAddress)
	r.str("TEMPORAL_NAMESPACE", &c.TemporalNamespace)
	r.str("MLFLOW_TRACKING_URI", &c.MLflowTrackingURI)
	r.mlflowAuth(&c.MLflowAuth)
	r.str("DATABASE_URL", &c.DatabaseURL)
	r.str("DEPLOYER_LEDGER_KEY", &c.LedgerKey)
	if r.getenv("DEPLOYER_LEDGER_KEYRING") == "" && r.getenv("DEPLOYER_LEDGER_KEY") != "" {
		c.LedgerKeyring = seal.KeyringPath(c.LedgerKey)
	}
	r.str("DEPLOYER_LEDGER_KEYRING", &c.LedgerKeyring)
	r.str("DEPLOYER_LOG_LEVEL", &c.LogLevel)
	r.int("DEPLOYER_WORKERS", &c.Workers)
	r.dur("DEPLOYER_WORKER_STOP_TIMEOUT", &c.StopTimeout)
	r.int("DEPLOYER_MAX_ACTIVITIES", &c.MaxActivities)
	r.int("DEPLOYER_WORKFLOW_CACHE_SIZE", &c.WorkflowCacheSize)
	r.dur("DEPLOYER_PROBE_TIMEOUT", &c.Probe.AttemptTimeout)
	r.int("DEPLOYER_PROBE_ATTEMPTS", &c.Probe.Attempts)
	r.dur("DEPLOYER_PROBE_BACKOFF", &c.Probe.Backoff)
	r.cluster(&c.Cluster)
	r.codec(&c.Codec)
	k := &c.Packaging
	r.str("DEPLOYER_OCI_REPOSITORY", &k.OCIRepository)
	r.str("DEPLOYER_BASE_IMAGE", &k.BaseImage)
	r.bool("DEPLOYER_OCI_INSECURE", &k.OCIInsecure)
	r.int("DEPLOYER_OCI_PUSH_ATTEMPTS", &k.PushAttempts)
	r.dur("DEPLOYER_OCI_PUSH_BACKOFF", &k.PushBackoff)
	r.str("DEPLOYER_BENTOML_HOME", &k.BentoMLHome)
	r.str("DEPLOYER_BENTO_PYTHON", &k.BentoPython)
	r.str("DEPLOYER_BENTO_SCRIPT", &k.BentoScript)
	r.dur("DEPLOYER_BENTO_BUILD_TIMEOUT", &k.BuildTimeout)
	r.bentoEnv(&k.BentoEnv)
	p := &c.Policy
	r.dur("DEPLOYER_SHADOW_HOLD_DEFAULT", &p.ShadowHoldDefault)
	r.dur("DEPLOYER_SHADOW_HOLD_MIN", &p.ShadowHoldMin)
	r.dur("DEPLOYER_SHADOW_HOLD_MAX", &p.ShadowHoldMax)
	r.dur("DEPLOYER_APPROVAL_TIMEOUT", &p.ApprovalTimeoutDefault)
	r.dur("DEPLOYER_APPROVAL_TIMEOUT_MAX", &p.ApprovalTimeoutMax)
	r.bool("DEPLOYER_ALLOW_APPROVAL_WAIVER", &p.AllowApprovalWaiver)
	r.dur("DEPLOYER_CANARY_HOLD_DEFAULT", &p.CanaryHoldDefault)
	r.dur("DEPLOYER_CANARY_HOLD_MIN", &p.CanaryHoldMin)
	r.dur("DEPLOYER_COMPENSATION_TIMEOUT", &p.CompensationTimeout)
	r.dur("DEPLOYER_SHADOW_MIN_DURATION", &p.Shadow.MinDuration)
	r.int64("DEPLOYER_SHADOW_MIN_REQUESTS", &p.Shadow.MinRequests)
	r.float("DEPLOYER_SHADOW_MAX_ERROR_RATE", &p.Shadow.MaxErrorRate)
	r.float("DEPLOYER_SHADOW_MAX_P99_MS", &p.Shadow.MaxP99MS)
	r.gates(p, &c.Metrics)
	r.governance(&p.Governance)
	r.drift(&p.Drift)
	r.schemes(&p.ModelURISchemes)
	r.approvers(&c.ApproversFile, &p.Approvals)
	r.telemetry(&c.Telemetry)
	if r.err != nil {
		return Config{}, r.err
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	switch {
	case c.Workers < 1:
		return fmt.Errorf("DEPLOYER_WORKERS must be at least 1, got %d", c.Workers)
	case c.Workers > 1 && !postgresURL(c.DatabaseURL):
		return fmt.Errorf("DEPLOYER_WORKERS=%d: several workers need one shared PostgreSQL store (DATABASE_URL=postgres://…); "+
			"a SQLite file is per worker, so environment locks and known-good rows would not be shared", c.Workers)
	case c.MaxActivities < 1:
		return fmt.Errorf("DEPLOYER_MAX_ACTIVITIES must be at least 1, got %d", c.MaxActivities)
	case c.WorkflowCacheSize < 1:
		return fmt.Errorf("DEPLOYER_WORKFLOW_CACHE_SIZE must be at least 1, got %d", c.WorkflowCacheSize)
	case c.StopTimeout < 0:
		return fmt.Errorf("DEPLOYER_WORKER_STOP_TIMEOUT: %s is negative", c.StopTimeout)
	case c.Probe.Attempts < 1:
		return fmt.Errorf("DEPLOYER_PROBE_ATTEMPTS must be at least 1, got %d", c.Probe.Attempts)
	case c.Packaging.PushAttempts < 1:
		return fmt.Errorf("DEPLOYER_OCI_PUSH_ATTEMPTS must be at least 1, got %d", c.Packaging.PushAttempts)
	case c.Packaging.BuildTimeout <= 0:
		return fmt.Errorf("DEPLOYER_BENTO_BUILD_TIMEOUT must be positive")
	case c.Policy.ShadowHoldDefault < c.Policy.ShadowHoldMin:
		return fmt.Errorf("DEPLOYER_SHADOW_HOLD_DEFAULT (%s) is below DEPLOYER_SHADOW_HOLD_MIN (%s)",
			c.Policy.ShadowHoldDefault, c.Policy.ShadowHoldMin)
	case c.Policy.CanaryHoldDefault < c.Policy.CanaryHoldMin:
		return fmt.Errorf("DEPLOYER_CANARY_HOLD_DEFAULT (%s) is below DEPLOYER_CANARY_HOLD_MIN (%s)",
			c.Policy.CanaryHoldDefault, c.Policy.CanaryHoldMin)
	case c.Policy.CompensationTimeout < time.Minute:
		return fmt.Errorf("DEPLOYER_COMPENSATION_TIMEOUT (%s) must be at least 1m", c.Policy.CompensationTimeout)
	case c.Policy.ApprovalTimeoutDefault <= 0:
		return fmt.Errorf("DEPLOYER_APPROVAL_TIMEOUT must be positive")
	case c.Policy.ShadowHoldMax < c.Policy.ShadowHoldDefault:
		return fmt.Errorf("DEPLOYER_SHADOW_HOLD_MAX (%s) is below DEPLOYER_SHADOW_HOLD_DEFAULT (%s)",
			c.Policy.ShadowHoldMax, c.Policy.ShadowHoldDefault)
	case c.Policy.ApprovalTimeoutMax < c.Policy.ApprovalTimeoutDefault:
		return fmt.Errorf("DEPLOYER_APPROVAL_TIMEOUT_MAX (%s) is below DEPLOYER_APPROVAL_TIMEOUT (%s)",
			c.Policy.ApprovalTimeoutMax, c.Policy.ApprovalTimeoutDefault)
	case !(c.Policy.Shadow.MaxErrorRate >= 0 && c.Policy.Shadow.MaxErrorRate <= 1):
		return fmt.Errorf("DEPLOYER_SHADOW_MAX_ERROR_RATE must be within [0,1]")
	case !(c.Policy.Shadow.MaxP99MS > 0) || math.IsInf(c.Policy.Shadow.MaxP99MS, 0):
		return fmt.Errorf("DEPLOYER_SHADOW_MAX_P99_MS must be a positive number")
	}
	if err := c.validateMLflow(); err != nil {
		return err
	}
	if err := c.Telemetry.validate(); err != nil {
		return err
	}
	if err := validateSchemes(c.Policy.ModelURISchemes); err != nil {
		return err
	}
	if err := c.validateGovernance(); err != nil {
		return err
	}
	return c.validateGates()
}

// postgresURL says whether a DATABASE_URL names PostgreSQL (the store's postgres:// and
// postgresql:// schemes); anything else is a SQLite file.
func postgresURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// reader parses variables, keeping the first error.
type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) raw(key string) (string, bool) {
	v := r.getenv(key)
	return v, v != "" && r.err == nil
}

func (r *reader) fail(key, v string, err error) {
	r.err = fmt.Errorf("%s=%q: %w", key, v, err)
}

// approvers reads the approver policy file named by DEPLOYER_APPROVERS_FILE.
func (r *reader) approvers(path *string, dst *approval.Policy) {
	const key = "DEPLOYER_APPROVERS_FILE"
	r.str(key, path)
	if *path == "" || r.err != nil {
		return
	}
	p, err := approval.Load(*path)
	if err != nil {
		r.err = fmt.Errorf("%s=%s: %w", key, *path, err)
		return
	}
	*dst = p
}

func (r *reader) str(key string, dst *string) {
	if v, ok := r.raw(key); ok {
		*dst = v
	}
}

func (r *reader) dur(key string, dst *time.Duration) {
	if v, ok := r.raw(key); ok {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = fmt.Errorf("negative duration")
		}
		if err != nil {
			r.fail(key, v, err)
			return
		}
		*dst = d
	}
}

func (r *reader) int(key string, dst *int) {
	var n int64 = int64(*dst)
	r.int64(key, &n)
	*dst = int(n)
}

func (r *reader) int64(key string, dst *int64) {
	if v, ok := r.raw(key); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			r.fail(key, v, err)
			return
		}
		*dst = n
	}
}

func (r *reader) float(key string, dst *float64) {
	if v, ok := r.raw(key); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = fmt.Errorf("not a finite number")
		}
		if err != nil {
			r.fail(key, v, err)
			return
		}
		*dst = f
	}
}

func (r *reader) bool(key string, dst *bool) {
	if v, ok := r.raw(key); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.fail(key, v, err)
			return
		}
		*dst = b
	}
}
