package rules

import (
	"fmt"
	"math"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// AnalysisCriteria judge a canary step on the metrics of its hold: absolute bars, bars relative to
// the stable workload over the same window, and the limits of patience (inconclusive extensions,
// metric-source errors). Every field is an input field with a safe default (DefaultAnalysis).
type AnalysisCriteria struct {
	MaxErrorRate         float64 `json:"max_error_rate"`          // canary error rate must be below (exclusive)
	MaxP99MS             float64 `json:"max_p99_ms"`              // canary p99 must be below (exclusive)
	MaxErrorRateIncrease float64 `json:"max_error_rate_increase"` // canary rate − stable rate may be at most this
	MaxP99Ratio          float64 `json:"max_p99_ratio"`           // canary p99 may be at most this × stable p99
	MinRequests          float64 `json:"min_requests"`            // fewer canary requests: inconclusive
	MaxExtensions        int     `json:"max_extensions"`          // inconclusive holds extended at most this often per step
	MaxSourceErrors      int     `json:"max_source_errors"`       // metric-source failures tolerated per step
	// P99ToleranceMS: the relative p99 bar fails only when the canary's p99 is also this much above
	// stable's. The latency histogram cannot tell finer differences apart: with bucket bounds at 10
	// and 25 ms a couple of requests at 11 ms put a p99 at 15 ms, "1.5× stable's 9.9 ms".
	P99ToleranceMS float64 `json:"p99_tolerance_ms,omitempty"`
}

// DefaultAnalysis are the analysis defaults: seed 000's production bars (1 %, 150 ms), the canary
// no worse than stable by half a point of error rate or 1.5× (and 25 ms, the widest bucket below
// 150 ms) in p99, Kayenta's 50 points.
func DefaultAnalysis() AnalysisCriteria {
	return AnalysisCriteria{MaxErrorRate: 0.01, MaxP99MS: 150, MaxErrorRateIncrease: 0.005, MaxP99Ratio: 1.5,
		MinRequests: 50, MaxExtensions: 3, MaxSourceErrors: 2, P99ToleranceMS: 25}
}

// CheckAnalysis validates criteria, naming the first bad field.
func CheckAnalysis(c AnalysisCriteria) (field, msg string) {
	switch {
	case !(c.MaxErrorRate > 0 && c.MaxErrorRate <= 1):
		return "max_error_rate", fmt.Sprintf("%g must be in (0, 1]", c.MaxErrorRate)
	case !(c.MaxP99MS > 0 && c.MaxP99MS <= 600000):
		return "max_p99_ms", fmt.Sprintf("%g must be in (0, 600000]", c.MaxP99MS)
	case !(c.MaxErrorRateIncrease >= 0 && c.MaxErrorRateIncrease <= 1):
		return "max_error_rate_increase", fmt.Sprintf("%g must be in [0, 1]", c.MaxErrorRateIncrease)
	case !(c.MaxP99Ratio >= 1 && c.MaxP99Ratio <= 100):
		return "max_p99_ratio", fmt.Sprintf("%g must be in [1, 100]", c.MaxP99Ratio)
	case !(c.MinRequests >= 1 && c.MinRequests <= 1e7):
		return "min_requests", fmt.Sprintf("%g must be in [1, 10000000]", c.MinRequests)
	case c.MaxExtensions < 0 || c.MaxExtensions > 100:
		return "max_extensions", fmt.Sprintf("%d must be in [0, 100]", c.MaxExtensions)
	case c.MaxSourceErrors < 0 || c.MaxSourceErrors > 100:
		return "max_source_errors", fmt.Sprintf("%d must be in [0, 100]", c.MaxSourceErrors)
	case !(c.P99ToleranceMS >= 0 && c.P99ToleranceMS <= 600000):
		return "p99_tolerance_ms", fmt.Sprintf("%g must be in [0, 600000]", c.P99ToleranceMS)
	}
	return "", ""
}

// CanaryVerdict is one analysis: passed, failed or inconclusive, with every reason and note.
type CanaryVerdict struct {
	Outcome  string   `json:"outcome"` // contract.VerdictPassed | VerdictFailed | VerdictInconclusive
	Failures []string `json:"failures,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// JudgeCanary judges the canary's sample against the criteria and against the stable workload's
// sample over the same window. Too few canary requests is inconclusive, unless the errors already
// seen break the error-rate bar over MinRequests whatever the remaining requests do (then failed).
// The relative bars apply only when the stable workload served MinRequests too; otherwise a note
// says they were not applied. Its p99 bars need MinRequests canary requests (JudgeCanaryP99 asks
// for more).
func JudgeCanary(canary, stable Sample, c AnalysisCriteria) CanaryVerdict {
	return judgeCanary(canary, stable, c, c.MinRequests)
}

// JudgeCanaryP99 is JudgeCanary with the p99 bars judged only once the canary served
// max(MinRequests, p99Min) requests (P99MinRequests from gates version 4, as CanaryEarlyFailure
// does): over fewer one slow request is the p99, and a healthy canary's one cold request failed
// its step at 85 and at 105 requests. A sample good on errors but short of that count is
// inconclusive (the hold is extended and its window grows).
func JudgeCanaryP99(canary, stable Sample, c AnalysisCriteria, p99Min float64) CanaryVerdict {
	return judgeCanary(canary, stable, c, math.Max(c.MinRequests, p99Min))
}

func judgeCanary(canary, stable Sample, c AnalysisCriteria, p99Min float64) CanaryVerdict {
	floor := math.Max(canary.Requests, c.MinRequests)
	if canary.NoData || canary.Requests < c.MinRequests {
		if canary.Errors > 0 && !(canary.Errors/floor < c.MaxErrorRate) {
			return CanaryVerdict{Outcome: contract.VerdictFailed, Failures: []string{fmt.Sprintf(
				"canary errors %g already break the error-rate bar %g over %g requests", canary.Errors, c.MaxErrorRate, c.MinRequests)}}
		}
		return CanaryVerdict{Outcome: contract.VerdictInconclusive, Notes: []string{fmt.Sprintf(
			"canary served %g requests, fewer than %g", canary.Requests, c.MinRequests)}}
	}
	var fails, notes []string
	if !(canary.ErrorRate < c.MaxErrorRate) {
		fails = append(fails, fmt.Sprintf("canary error rate %.4g is not below %g", canary.ErrorRate, c.MaxErrorRate))
	}
	fewForP99 := !canary.NoLatency && canary.Requests < p99Min
	switch {
	case canary.NoLatency:
		notes = append(notes, "canary has no latency data: p99 bars not judged")
	case fewForP99:
		notes = append(notes, fmt.Sprintf("canary served %g requests, fewer than the %g a p99 is judged on", canary.Requests, p99Min))
	case !(canary.P99MS < c.MaxP99MS):
		fails = append(fails, fmt.Sprintf("canary p99 %.4gms is not below %gms", canary.P99MS, c.MaxP99MS))
	}
	if stable.NoData || stable.Requests < c.MinRequests {
		notes = append(notes, fmt.Sprintf("stable served %g requests, fewer than %g: relative bars not applied", stable.Requests, c.MinRequests))
	} else {
		if inc := canary.ErrorRate - stable.ErrorRate; inc > c.MaxErrorRateIncrease {
			fails = append(fails, fmt.Sprintf("canary error rate %.4g exceeds stable's %.4g by %.4g, more than %g",
				canary.ErrorRate, stable.ErrorRate, inc, c.MaxErrorRateIncrease))
		}
		if !canary.NoLatency && !fewForP99 && !stable.NoLatency && stable.P99MS > 0 && canary.P99MS > stable.P99MS*c.MaxP99Ratio &&
			canary.P99MS-stable.P99MS > c.P99ToleranceMS {
			fails = append(fails, fmt.Sprintf("canary p99 %.4gms is above %g× stable's %.4gms (and more than %gms above it)",
				canary.P99MS, c.MaxP99Ratio, stable.P99MS, c.P99ToleranceMS))
		}
	}
	switch {
	case len(fails) > 0:
		return CanaryVerdict{Outcome: contract.VerdictFailed, Failures: fails, Notes: notes}
	case canary.NoLatency || fewForP99:
		return CanaryVerdict{Outcome: contract.VerdictInconclusive, Notes: notes}
	}
	return CanaryVerdict{Outcome: contract.VerdictPassed, Notes: notes}
}

// P99MinRequests is the fewest requests a p99 is judged on (before the hold ends always, at its end
// from gates version 4): 2 / (1 - 0.99), so that it takes at least two requests over a bar to
// fail it. Over 100 the p99 is the slowest request, and over 105 (Prometheus's increase()
// extrapolates the bucket counts) one cold request still put a healthy canary's p99 at 151.5 ms
// against a 150 ms bar, and its stable's p99 at 24 ms.
const P99MinRequests = 200

// P99MinRequestsGatesV3 is the floor runs at gates version 3 judged the end of a hold with (they
// replay with it).
const P99MinRequestsGatesV3 = 100

// CanaryEarlyFailure says whether a sample taken during a canary step's hold already breaks an
// absolute bar, so the step can fail before its hold ends. Like JudgeCanary it counts errors
// against at least MinRequests (the rate over MinRequests is too high whatever the remaining
// requests do) and judges the p99 only once max(MinRequests, P99MinRequests) were served with
// a latency histogram; the relative bars wait for the end of the hold. Whenever it fails,
// JudgeCanary fails the same sample.
func CanaryEarlyFailure(canary Sample, c AnalysisCriteria) []string {
	if canary.NoData || canary.Requests <= 0 {
		return nil
	}
	var fails []string
	floor := math.Max(canary.Requests, c.MinRequests)
	if rate := canary.Errors / floor; !(rate < c.MaxErrorRate) {
		fails = append(fails, fmt.Sprintf("canary errors %g of %g requests: error rate over at least %g requests is %.4g, not below %g",
			canary.Errors, canary.Requests, c.MinRequests, rate, c.MaxErrorRate))
	}
	if !canary.NoLatency && canary.Requests >= math.Max(c.MinRequests, P99MinRequests) && !(canary.P99MS < c.MaxP99MS) {
		fails = append(fails, fmt.Sprintf("canary p99 %.4gms over %g requests is not below %gms", canary.P99MS, canary.Requests, c.MaxP99MS))
	}
	return fails
}

// CheckCanaryPolicy bounds a rollout by the worker's policy: at least minSteps steps and a first
// step of at most maxFirst percent (a straight cut-over is no canary).
func CheckCanaryPolicy(steps []int, minSteps, maxFirst int) error {
	if len(steps) < minSteps {
		return fmt.Errorf("%d step(s) %v; the policy needs at least %d", len(steps), steps, minSteps)
	}
	if len(steps) > 0 && steps[0] > maxFirst {
		return fmt.Errorf("first step is %d%%; the policy allows at most %d%%", steps[0], maxFirst)
	}
	return nil
}
