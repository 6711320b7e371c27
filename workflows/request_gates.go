package workflows

import (
	"fmt"
	"math"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// applyGates applies the measured-gates policy: caller-supplied shadow evidence only where the
// policy allows it, the canary bounded (steps, first step, hold), and the canary analysis bars,
// which may be tighter than the policy's ceilings but never looser.
func (r *Request) applyGates(in contract.Input, p config.Policy) (string, string) {
	r.CallerShadow = callerShadowField(in) != ""
	if r.CallerShadow && !p.Evidence.AllowCallerSupplied {
		return callerShadowField(in), "caller-supplied shadow evidence is not accepted by this worker's policy " +
			"(DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE=false); Production uses the shadow evidence the deployer measured"
	}
	if err := rules.CheckCanaryPolicy(r.CanarySteps, p.Canary.MinSteps, p.Canary.MaxFirstStep); err != nil {
		return "canary_steps", err.Error()
	}
	if r.CanaryHold > p.Canary.MaxHold {
		return "canary_hold", fmt.Sprintf("%s is above the policy maximum %s (DEPLOYER_CANARY_HOLD_MAX)", r.CanaryHold, p.Canary.MaxHold)
	}
	return r.applyAnalysis(in.CanaryAnalysis, p.Canary)
}

// callerShadowField names the first shadow_mode_* field that carries evidence, "" when none does:
// seed 000's defaults (0 h, 0 requests, error rate 1.0, p99 999 ms) claim nothing.
func callerShadowField(in contract.Input) string {
	switch {
	case in.ShadowModeDurationHours != nil && *in.ShadowModeDurationHours != 0:
		return "shadow_mode_duration_hours"
	case in.ShadowModeRequests != nil && *in.ShadowModeRequests != 0:
		return "shadow_mode_requests"
	case in.ShadowModeErrorRate != nil && *in.ShadowModeErrorRate != 1:
		return "shadow_mode_error_rate"
	case in.ShadowModeLatencyP99MS != nil && *in.ShadowModeLatencyP99MS != 999:
		return "shadow_mode_latency_p99_ms"
	}
	return ""
}

// applyAnalysis fills the analysis bars: defaults (no looser than the policy), then the input's.
func (r *Request) applyAnalysis(in *contract.CanaryAnalysis, p config.CanaryPolicy) (string, string) {
	c := rules.DefaultAnalysis()
	c.MaxErrorRate = math.Min(c.MaxErrorRate, p.MaxErrorRateCeiling)
	c.MaxP99MS = math.Min(c.MaxP99MS, p.MaxP99MSCeiling)
	c.MinRequests = math.Max(c.MinRequests, p.MinRequestsFloor)
	if in != nil {
		setF(&c.MaxErrorRate, in.MaxErrorRate)
		setF(&c.MaxP99MS, in.MaxP99MS)
		setF(&c.MaxErrorRateIncrease, in.MaxErrorRateIncrease)
		setF(&c.MaxP99Ratio, in.MaxP99Ratio)
		setF(&c.MinRequests, in.MinRequests)
		setI(&c.MaxExtensions, in.MaxExtensions)
		setI(&c.MaxSourceErrors, in.MaxSourceErrors)
		setF(&c.P99ToleranceMS, in.P99ToleranceMS)
	}
	if f, m := rules.CheckAnalysis(c); f != "" {
		return "canary_analysis." + f, m
	}
	switch {
	case c.MaxErrorRate > p.MaxErrorRateCeiling:
		return "canary_analysis.max_error_rate", fmt.Sprintf("%g is looser than the policy ceiling %g", c.MaxErrorRate, p.MaxErrorRateCeiling)
	case c.MaxP99MS > p.MaxP99MSCeiling:
		return "canary_analysis.max_p99_ms", fmt.Sprintf("%g is looser than the policy ceiling %g", c.MaxP99MS, p.MaxP99MSCeiling)
	case c.MinRequests < p.MinRequestsFloor:
		return "canary_analysis.min_requests", fmt.Sprintf("%g is below the policy floor %g", c.MinRequests, p.MinRequestsFloor)
	}
	r.Analysis = c
	return "", ""
}

func setF(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

func setI(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}
