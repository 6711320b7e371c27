package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// ShadowEvidence is what a shadow run showed, and where the numbers came from.
type ShadowEvidence struct {
	DurationHours float64 `json:"duration_hours"`
	Requests      int64   `json:"requests"`
	ErrorRate     float64 `json:"error_rate"`
	LatencyP99MS  float64 `json:"latency_p99_ms"`
	Source        string  `json:"source"` // contract.SourceMeasured | contract.SourceCallerSupplied
	// Measured evidence also says which window it covers, how many samples the hold took and
	// whether the metrics source had any data at all.
	HeldFrom *time.Time `json:"held_from,omitempty"`
	HeldTo   *time.Time `json:"held_to,omitempty"`
	Samples  int        `json:"samples,omitempty"`
	NoData   bool       `json:"no_data,omitempty"`
	// NoLatency: requests were measured but no latency histogram (the p99 is unknown).
	NoLatency bool `json:"no_latency,omitempty"`
}

// MeasuredShadow turns the hold's measurement of the shadow workload over [from, s.End] into
// shadow evidence. The duration is what was really held, not what was asked for.
func MeasuredShadow(s Sample, from time.Time, samples int) ShadowEvidence {
	to := s.End
	e := ShadowEvidence{
		DurationHours: to.Sub(from).Hours(), Requests: int64(math.Round(s.Requests)),
		ErrorRate: s.ErrorRate, LatencyP99MS: s.P99MS, Source: contract.SourceMeasured,
		HeldFrom: &from, HeldTo: &to, Samples: samples, NoData: s.NoData, NoLatency: s.NoLatency,
	}
	if e.DurationHours < 0 {
		e.DurationHours = 0
	}
	return e
}

// ShadowCriteria is seed 000's bar for Production: at least MinDuration and MinRequests, error
// rate and p99 strictly below their maxima. Evidence without data never passes.
func ShadowCriteria(e ShadowEvidence, c config.ShadowCriteria) Verdict {
	var fails []string
	if e.NoData {
		fails = append(fails, "the metrics source had no data for the shadow workload")
	} else if e.NoLatency {
		fails = append(fails, "the metrics source had no latency data for the shadow workload")
	}
	// Each bar is written so that NaN evidence fails it (a metrics query with no samples).
	if minH := c.MinDuration.Hours(); !(e.DurationHours >= minH) {
		fails = append(fails, fmt.Sprintf("shadow duration %gh is below %gh", e.DurationHours, minH))
	}
	if e.Requests < c.MinRequests || e.Requests <= 0 {
		fails = append(fails, fmt.Sprintf("shadow requests %d are below %d", e.Requests, max(c.MinRequests, 1)))
	}
	if !(e.ErrorRate < c.MaxErrorRate) {
		fails = append(fails, fmt.Sprintf("shadow error rate %g is not below %g", e.ErrorRate, c.MaxErrorRate))
	}
	if !(e.LatencyP99MS < c.MaxP99MS) {
		fails = append(fails, fmt.Sprintf("shadow p99 latency %gms is not below %gms", e.LatencyP99MS, c.MaxP99MS))
	}
	return verdict(fails)
}

// ShadowEarlyFailure says whether a sample taken during the hold already breaks a hard limit, so
// the hold can stop before its end. It needs enough requests to judge: the error rate counts
// against at least MinRequests (whatever the remaining requests do, the rate over MinRequests is
// already too high), and p99 is judged only once MinRequests were served.
func ShadowEarlyFailure(s Sample, c config.ShadowCriteria) []string {
	if s.NoData || s.Requests <= 0 {
		return nil
	}
	var fails []string
	floor := math.Max(s.Requests, float64(c.MinRequests))
	if rate := s.Errors / floor; !(rate < c.MaxErrorRate) {
		fails = append(fails, fmt.Sprintf("shadow errors %g of %g requests: error rate over at least %d requests is %.4g, not below %g",
			s.Errors, s.Requests, c.MinRequests, rate, c.MaxErrorRate))
	}
	if !s.NoLatency && s.Requests >= float64(c.MinRequests) && !(s.P99MS < c.MaxP99MS) {
		fails = append(fails, fmt.Sprintf("shadow p99 latency %gms over %g requests is not below %gms", s.P99MS, s.Requests, c.MaxP99MS))
	}
	return fails
}
