package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// ShadowHoldRequest asks the shadow hold to measure the shadow workload over [From, From+Hold],
// sampling every Every and stopping early when a sample already breaks a hard limit.
type ShadowHoldRequest struct {
	Workload rules.Workload        `json:"workload"`
	From     time.Time             `json:"from"`
	Hold     time.Duration         `json:"hold"`
	Every    time.Duration         `json:"every"`
	Criteria config.ShadowCriteria `json:"criteria"`
	// Drift, when set (gates v7), judges the shadow's input drift at the end of the hold.
	Drift *DriftRequest `json:"drift,omitempty"`
}

// ShadowMeasurement is what the hold measured: the last sample (over the whole hold when it ran
// to its end), how many samples it took, how many the metrics source failed, and why it stopped
// early, if it did.
type ShadowMeasurement struct {
	Last         rules.Sample `json:"last"`
	Samples      int          `json:"samples"`
	SourceErrors int          `json:"source_errors"`
	EarlyFailure []string     `json:"early_failure,omitempty"`
	// Drift is the input drift judgement over the hold's window (a hold that stopped early on its
	// criteria has none).
	Drift *DriftMeasurement `json:"drift,omitempty"`
}

// holdCheckpoint is kept in the heartbeat details, so a hold retried after a worker dies carries
// on with its counters (the window always starts at From).
type holdCheckpoint struct {
	Samples      int          `json:"samples"`
	SourceErrors int          `json:"source_errors"`
	Last         rules.Sample `json:"last"`
}

// heartbeatPeriod is how often a hold waiting in its activity heartbeats (a canary step's; a
// shadow hold on a worker without Holds): well inside the holds' heartbeat timeout (1 min).
const heartbeatPeriod = 20 * time.Second

// sleepBeating waits until t, heartbeating the checkpoint so the wait is seen alive and can be
// cancelled.
func sleepBeating(ctx context.Context, t time.Time, cp any) error {
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, cp)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(d, heartbeatPeriod)):
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CanaryMeasureRequest names the canary and the stable workload to compare over [From, To].
type CanaryMeasureRequest struct {
	Canary rules.Workload `json:"canary"`
	Stable rules.Workload `json:"stable"`
	From   time.Time      `json:"from"`
	To     time.Time      `json:"to"`
}

// CanaryMeasurement is both samples, or why the metrics source could not give them. A source
// failure is a result, not an activity error: the workflow counts it against its limit and never
// takes it for a pass.
type CanaryMeasurement struct {
	Canary      rules.Sample `json:"canary"`
	Stable      rules.Sample `json:"stable"`
	SourceError string       `json:"source_error,omitempty"`
	// From WatchCanary: the samples taken during the hold and, when one already broke a hard
	// limit, its failures (the samples are then over [From, Canary.End], not the whole hold).
	Samples      int      `json:"samples,omitempty"`
	EarlyFailure []string `json:"early_failure,omitempty"`
}

// MeasureCanary samples the canary and the stable workload over the same window.
func (a *Activities) MeasureCanary(ctx context.Context, r CanaryMeasureRequest) (CanaryMeasurement, error) {
	if a.Metrics == nil {
		return CanaryMeasurement{}, notConfigured("metrics", "the canary analysis")
	}
	return a.measureCanary(ctx, r.Canary, r.Stable, r.From, r.To), nil
}

func (a *Activities) measureCanary(ctx context.Context, canary, stable rules.Workload, from, to time.Time) CanaryMeasurement {
	c, err := a.Metrics.Sample(ctx, canary, from, to)
	if err != nil {
		return CanaryMeasurement{SourceError: fmt.Sprintf("sample %s: %v", canary, err)}
	}
	s, err := a.Metrics.Sample(ctx, stable, from, to)
	if err != nil {
		return CanaryMeasurement{Canary: c, SourceError: fmt.Sprintf("sample %s: %v", stable, err)}
	}
	return CanaryMeasurement{Canary: c, Stable: s}
}

// CanaryWatchRequest is a canary step's hold: [From, To] at one weight, sampled every Every and
// judged against Criteria's absolute bars on the way.
type CanaryWatchRequest struct {
	CanaryMeasureRequest
	Every    time.Duration          `json:"every"`
	Criteria rules.AnalysisCriteria `json:"criteria"`
}

// WatchCanary holds a canary step until To in one heartbeating activity (an abort cancels it at
// the next heartbeat), sampling the canary over [From, now] every Every. A sample that already
// breaks a hard limit (rules.CanaryEarlyFailure) ends the hold at once with both samples; source
// errors on the way are skipped (the final measurement reports its own). Otherwise it returns
// both samples over the whole window for the workflow to judge. A retry (a worker died) watches
// the same window.
func (a *Activities) WatchCanary(ctx context.Context, r CanaryWatchRequest) (CanaryMeasurement, error) {
	if a.Metrics == nil {
		return CanaryMeasurement{}, notConfigured("metrics", "the canary analysis")
	}
	if r.Every <= 0 {
		return CanaryMeasurement{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"canary hold of %s: sampling interval %s must be positive", r.Canary, r.Every), contract.ErrInvalidInput, nil)
	}
	samples := 0
	for time.Now().Before(r.To) {
		if err := sleepBeating(ctx, minTime(time.Now().Add(r.Every), r.To), samples); err != nil {
			return CanaryMeasurement{}, err
		}
		if !time.Now().Before(r.To) {
			break
		}
		if time.Since(r.From) < time.Second { // still warming up: nothing to judge yet
			continue
		}
		m := a.measureCanary(ctx, r.Canary, r.Stable, r.From, time.Now())
		samples++
		if m.SourceError != "" {
			a.logger().Warn("canary sample failed", "workload", r.Canary.String(), "error", m.SourceError)
			continue
		}
		if fails := rules.CanaryEarlyFailure(m.Canary, r.Criteria); len(fails) > 0 {
			m.Samples, m.EarlyFailure = samples, fails
			return m, nil
		}
	}
	m := a.measureCanary(ctx, r.Canary, r.Stable, r.From, r.To)
	m.Samples = samples + 1
	return m, nil
}

// EvidenceRequest asks for the newest passed, measured shadow evidence of a model version that is
// not older than NotBefore.
type EvidenceRequest struct {
	ModelName    string    `json:"model_name"`
	ModelVersion string    `json:"model_version"`
	NotBefore    time.Time `json:"not_before"`
}

// FoundEvidence is recorded shadow evidence and the ledger entry it came from.
type FoundEvidence struct {
	Found      bool                 `json:"found"`
	Evidence   rules.ShadowEvidence `json:"evidence"`
	Key        string               `json:"key,omitempty"`
	WorkflowID string               `json:"workflow_id,omitempty"`
	DecidedAt  time.Time            `json:"decided_at"`
}

// FindShadowEvidence reads the evidence ledger for measured shadow evidence of the version.
func (a *Activities) FindShadowEvidence(ctx context.Context, r EvidenceRequest) (FoundEvidence, error) {
	d, found, err := a.Store.LatestEvidence(ctx, store.EvidenceQuery{ModelName: r.ModelName, ModelVersion: r.ModelVersion,
		Gate: contract.GateShadowCriteria, Source: contract.SourceMeasured, Verdict: contract.VerdictPassed, NotBefore: r.NotBefore})
	if err != nil || !found {
		return FoundEvidence{}, err
	}
	raw, err := json.Marshal(d.Inputs["evidence"])
	if err != nil {
		return FoundEvidence{}, fmt.Errorf("ledger entry %s: evidence: %w", d.Key, err)
	}
	var ev rules.ShadowEvidence
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Source != contract.SourceMeasured {
		return FoundEvidence{}, fmt.Errorf("ledger entry %s holds no measured shadow evidence (%v)", d.Key, err)
	}
	return FoundEvidence{Found: true, Evidence: ev, Key: d.Key, WorkflowID: d.WorkflowID, DecidedAt: d.DecidedAt}, nil
}

// TagRequest sets tags on a registry version.
type TagRequest struct {
	ModelName string            `json:"model_name"`
	Version   string            `json:"version"`
	Tags      map[string]string `json:"tags"`
}

// TagVersion sets tags on a registry version (the measured shadow evidence, for MLflow's readers).
func (a *Activities) TagVersion(ctx context.Context, r TagRequest) error {
	return registryError(fmt.Sprintf("tag %s v%s", r.ModelName, r.Version), a.Registry.SetTags(ctx, r.ModelName, r.Version, r.Tags))
}
