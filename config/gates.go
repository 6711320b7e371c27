package config

import (
	"fmt"
	"net/url"
	"time"

	"github.com/temporaldeployer/temporaldeployer/redact"
)

// EvidencePolicy says which shadow evidence the Production rung accepts and how the shadow hold
// measures it.
type EvidencePolicy struct {
	// AllowCallerSupplied lets the input's shadow_mode_* stand in for measured evidence, recorded as
	// caller-supplied (DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE, default false).
	AllowCallerSupplied bool `json:"allow_caller_supplied"`
	// MaxAge bounds how old recorded measured evidence may be (DEPLOYER_SHADOW_EVIDENCE_MAX_AGE, 168h).
	MaxAge time.Duration `json:"max_age"`
	// SampleEvery is how often the shadow hold samples the metrics (DEPLOYER_SHADOW_SAMPLE_EVERY, 5m).
	SampleEvery time.Duration `json:"sample_every"`
}

// CanaryPolicy bounds what a request may ask of the canary.
type CanaryPolicy struct {
	MinSteps     int           `json:"min_steps"`      // DEPLOYER_CANARY_MIN_STEPS, 3
	MaxFirstStep int           `json:"max_first_step"` // DEPLOYER_CANARY_MAX_FIRST_STEP, 25 (percent)
	MaxHold      time.Duration `json:"max_hold"`       // DEPLOYER_CANARY_HOLD_MAX, 1h per step
	// The loosest analysis a request may ask for: its bars may be tighter, never looser.
	MaxErrorRateCeiling float64 `json:"max_error_rate_ceiling"` // DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING, 0.05
	MaxP99MSCeiling     float64 `json:"max_p99_ms_ceiling"`     // DEPLOYER_CANARY_MAX_P99_MS_CEILING, 1000
	MinRequestsFloor    float64 `json:"min_requests_floor"`     // DEPLOYER_CANARY_MIN_REQUESTS_FLOOR, 20
	// SampleEvery is how often a canary step's hold samples the metrics for a hard limit already
	// broken (DEPLOYER_CANARY_SAMPLE_EVERY, 10s): a failing canary is rolled back before its hold ends.
	SampleEvery time.Duration `json:"sample_every"`
	// Warmup is how long after each weight step the canary's requests are not judged
	// (DEPLOYER_CANARY_WARMUP, 30s; at most half the step's hold): a new server's first requests queue behind its cold first
	// prediction, and a few slow ones are a healthy canary's p99 over a hundred requests.
	Warmup time.Duration `json:"warmup"`
}

// MetricsConfig configures the metrics source the gates measure with. With none, runs that need
// measurement (a shadow hold, a canary) fail with BackendNotConfigured.
type MetricsConfig struct {
	Kind    string        // DEPLOYER_METRICS: "" (prometheus when DEPLOYER_PROMETHEUS_URL is set), "prometheus", "none"
	URL     string        // DEPLOYER_PROMETHEUS_URL, e.g. http://127.0.0.1:9090
	Timeout time.Duration // DEPLOYER_METRICS_TIMEOUT: bound on one query, default 10s
}

// Configured reports whether the worker gets a metrics source.
func (m MetricsConfig) Configured() bool { return m.Kind == "prometheus" }

// DefaultEvidence is the evidence policy with no environment overrides.
func DefaultEvidence() EvidencePolicy {
	return EvidencePolicy{MaxAge: 7 * 24 * time.Hour, SampleEvery: 5 * time.Minute}
}

// DefaultCanary is the canary policy with no environment overrides.
func DefaultCanary() CanaryPolicy {
	return CanaryPolicy{MinSteps: 3, MaxFirstStep: 25, MaxHold: time.Hour,
		MaxErrorRateCeiling: 0.05, MaxP99MSCeiling: 1000, MinRequestsFloor: 20, SampleEvery: 10 * time.Second, Warmup: 30 * time.Second}
}

func (r *reader) gates(p *Policy, m *MetricsConfig) {
	r.bool("DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE", &p.Evidence.AllowCallerSupplied)
	r.dur("DEPLOYER_SHADOW_EVIDENCE_MAX_AGE", &p.Evidence.MaxAge)
	r.dur("DEPLOYER_SHADOW_SAMPLE_EVERY", &p.Evidence.SampleEvery)
	r.int("DEPLOYER_CANARY_MIN_STEPS", &p.Canary.MinSteps)
	r.int("DEPLOYER_CANARY_MAX_FIRST_STEP", &p.Canary.MaxFirstStep)
	r.dur("DEPLOYER_CANARY_HOLD_MAX", &p.Canary.MaxHold)
	r.float("DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING", &p.Canary.MaxErrorRateCeiling)
	r.float("DEPLOYER_CANARY_MAX_P99_MS_CEILING", &p.Canary.MaxP99MSCeiling)
	r.float("DEPLOYER_CANARY_MIN_REQUESTS_FLOOR", &p.Canary.MinRequestsFloor)
	r.dur("DEPLOYER_CANARY_SAMPLE_EVERY", &p.Canary.SampleEvery)
	r.dur("DEPLOYER_CANARY_WARMUP", &p.Canary.Warmup)
	r.str("DEPLOYER_METRICS", &m.Kind)
	r.str("DEPLOYER_PROMETHEUS_URL", &m.URL)
	r.dur("DEPLOYER_METRICS_TIMEOUT", &m.Timeout)
	if m.Kind == "" && m.URL != "" {
		m.Kind = "prometheus"
	}
}

func (c Config) validateGates() error {
	p, m := c.Policy, c.Metrics
	switch {
	case p.Evidence.MaxAge <= 0:
		return fmt.Errorf("DEPLOYER_SHADOW_EVIDENCE_MAX_AGE must be positive")
	case p.Evidence.SampleEvery < time.Second:
		return fmt.Errorf("DEPLOYER_SHADOW_SAMPLE_EVERY must be at least 1s, got %s", p.Evidence.SampleEvery)
	case p.Canary.SampleEvery < time.Second:
		return fmt.Errorf("DEPLOYER_CANARY_SAMPLE_EVERY must be at least 1s, got %s", p.Canary.SampleEvery)
	case p.Canary.Warmup < 0:
		return fmt.Errorf("DEPLOYER_CANARY_WARMUP must not be negative, got %s", p.Canary.Warmup)
	case p.Canary.MinSteps < 1:
		return fmt.Errorf("DEPLOYER_CANARY_MIN_STEPS must be at least 1, got %d", p.Canary.MinSteps)
	case p.Canary.MaxFirstStep < 1 || p.Canary.MaxFirstStep > 100:
		return fmt.Errorf("DEPLOYER_CANARY_MAX_FIRST_STEP must be within 1..100, got %d", p.Canary.MaxFirstStep)
	case p.Canary.MaxHold < p.CanaryHoldDefault:
		return fmt.Errorf("DEPLOYER_CANARY_HOLD_MAX (%s) is below DEPLOYER_CANARY_HOLD_DEFAULT (%s)", p.Canary.MaxHold, p.CanaryHoldDefault)
	case !(p.Canary.MaxErrorRateCeiling > 0 && p.Canary.MaxErrorRateCeiling <= 1):
		return fmt.Errorf("DEPLOYER_CANARY_MAX_ERROR_RATE_CEILING must be within (0,1]")
	case !(p.Canary.MaxP99MSCeiling > 0 && p.Canary.MaxP99MSCeiling <= 600000):
		return fmt.Errorf("DEPLOYER_CANARY_MAX_P99_MS_CEILING must be within (0,600000]")
	case !(p.Canary.MinRequestsFloor >= 1):
		return fmt.Errorf("DEPLOYER_CANARY_MIN_REQUESTS_FLOOR must be at least 1")
	case m.Kind != "" && m.Kind != "prometheus" && m.Kind != "none":
		return fmt.Errorf("DEPLOYER_METRICS must be prometheus or none, got %q", m.Kind)
	case m.Kind == "prometheus" && m.URL == "":
		return fmt.Errorf("DEPLOYER_METRICS=prometheus needs DEPLOYER_PROMETHEUS_URL")
	case m.Timeout <= 0:
		return fmt.Errorf("DEPLOYER_METRICS_TIMEOUT must be positive")
	}
	if m.Kind == "prometheus" {
		if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("DEPLOYER_PROMETHEUS_URL=%q is not an http(s) URL", redact.URL(m.URL))
		}
	}
	return nil
}
