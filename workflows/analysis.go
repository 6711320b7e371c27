package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// stepAnalysis is the state of one canary step's analysis: its window starts when the weight was
// set and grows with each inconclusive extension.
type stepAnalysis struct {
	env          contract.Environment
	weight       int
	rounds       int
	extensions   int
	sourceErrors int
}

// analyseStep holds the canary at its weight and judges it on the metrics of the hold, against
// the absolute bars and against the stable workload over the same window. Inconclusive (too few
// requests) extends the hold up to MaxExtensions; metric-source failures are tolerated up to
// MaxSourceErrors and never count as a pass. A failed analysis returns AnalysisFailed with the
// numbers, and the run's compensation puts stable back at 100 %.
func (w *run) analyseStep(ctx workflow.Context, env contract.Environment, weight int, ro kube.Rollout) error {
	if w.gates >= gatesCanaryWatched {
		return w.watchStep(ctx, env, weight, ro)
	}
	return w.analyseTimedStep(ctx, env, weight, ro)
}

// watchStep probes the canary at once, then holds it at its weight in WatchCanary, which judges
// the window after the policy's warm-up, sampling it every policy interval and returns at the first sample that already breaks a hard
// limit, else with the whole hold's samples. Each return is judged as a timed step's would be
// (inconclusive extends the hold, source errors count against their limit).
func (w *run) watchStep(ctx workflow.Context, env contract.Environment, weight int, ro kube.Rollout) error {
	if err := w.canaryInference(ctx, weight, ro); err != nil {
		return err
	}
	st := &stepAnalysis{env: env, weight: weight}
	start := workflow.Now(ctx).UTC()
	from := start.Add(min(w.policy.Canary.Warmup, w.req.CanaryHold/2)) // the warm-up's requests are served, not judged
	for {
		until := workflow.Now(ctx).UTC().Add(w.req.CanaryHold) // the first round: start + the hold
		req := activities.CanaryWatchRequest{CanaryMeasureRequest: activities.CanaryMeasureRequest{
			Canary: w.workload(env, kube.RoleCanary), Stable: w.workload(env, kube.RoleStable), From: from, To: until},
			Every: w.policy.Canary.SampleEvery, Criteria: w.req.Analysis}
		summary := fmt.Sprintf("canary hold at %d%% for %s, watched every %s", weight, w.req.CanaryHold, req.Every)
		if st.rounds > 0 {
			summary = fmt.Sprintf("canary hold at %d%% extended (%d) for %s: inconclusive or metrics unavailable", weight, st.rounds, w.req.CanaryHold)
		}
		st.rounds++
		var m activities.CanaryMeasurement
		if err := w.measuredHold(ctx, waitCanaryHold, until, holding(summary, w.req.CanaryHold), a.WatchCanary, req, &m); err != nil {
			return err
		}
		if len(m.EarlyFailure) > 0 {
			req.To = m.Canary.End
		}
		done, err := w.judgeStep(ctx, st, req.CanaryMeasureRequest, m)
		if done || err != nil {
			return err
		}
	}
}

// analyseTimedStep is the step of runs at gatesMeasured: a timer hold, then one measurement.
func (w *run) analyseTimedStep(ctx workflow.Context, env contract.Environment, weight int, ro kube.Rollout) error {
	st := &stepAnalysis{env: env, weight: weight}
	from := workflow.Now(ctx).UTC()
	for {
		summary := fmt.Sprintf("canary hold at %d%% for %s", weight, w.req.CanaryHold)
		if st.rounds > 0 {
			summary = fmt.Sprintf("canary hold at %d%% extended (%d) for %s: inconclusive or metrics unavailable", weight, st.rounds, w.req.CanaryHold)
		}
		if err := w.hold(ctx, waitCanaryHold, summary, w.req.CanaryHold); err != nil {
			return err
		}
		st.rounds++
		if st.rounds == 1 {
			if err := w.canaryInference(ctx, weight, ro); err != nil {
				return err
			}
		}
		req := activities.CanaryMeasureRequest{Canary: w.workload(env, kube.RoleCanary), Stable: w.workload(env, kube.RoleStable),
			From: from, To: workflow.Now(ctx).UTC()}
		var m activities.CanaryMeasurement
		if err := w.exec(ctx, short(fmt.Sprintf("canary analysis at %d%%: measure canary and stable", weight)), a.MeasureCanary, req, &m); err != nil {
			return err
		}
		done, err := w.judgeStep(ctx, st, req, m)
		if done || err != nil {
			return err
		}
	}
}

// judgeStep judges one measurement and records the verdict; done says the step is decided.
func (w *run) judgeStep(ctx workflow.Context, st *stepAnalysis, req activities.CanaryMeasureRequest, m activities.CanaryMeasurement) (bool, error) {
	c := w.req.Analysis
	inputs := map[string]any{"weight": st.weight, "round": st.rounds, "window_s": req.To.Sub(req.From).Seconds(),
		"canary": compact(m.Canary), "stable": compact(m.Stable), "criteria": c}
	if m.Samples > 0 {
		inputs["samples"], inputs["stopped_early"] = m.Samples, len(m.EarlyFailure) > 0
	}
	var v rules.CanaryVerdict
	if m.SourceError != "" {
		st.sourceErrors++
		v = rules.CanaryVerdict{Outcome: contract.VerdictInconclusive, Notes: []string{"metrics source: " + m.SourceError}}
		if st.sourceErrors > c.MaxSourceErrors {
			v = rules.CanaryVerdict{Outcome: contract.VerdictFailed, Failures: []string{fmt.Sprintf(
				"metrics source failed %d times (limit %d), last: %s", st.sourceErrors, c.MaxSourceErrors, m.SourceError)}}
		}
	} else {
		switch {
		case w.gates >= gatesP99Tail:
			v = rules.JudgeCanaryP99(m.Canary, m.Stable, c, rules.P99MinRequests)
		case w.gates >= gatesOwnedOnly:
			v = rules.JudgeCanaryP99(m.Canary, m.Stable, c, rules.P99MinRequestsGatesV3)
		default:
			v = rules.JudgeCanary(m.Canary, m.Stable, c)
		}
		if v.Outcome == contract.VerdictInconclusive {
			st.extensions++
			if st.extensions > c.MaxExtensions {
				v = rules.CanaryVerdict{Outcome: contract.VerdictFailed, Failures: append([]string{fmt.Sprintf(
					"still inconclusive after %d extensions", c.MaxExtensions)}, v.Notes...)}
			}
		}
	}
	inputs["verdict"] = v
	reason := strings.Join(append(append([]string(nil), v.Failures...), v.Notes...), "; ")
	d := w.decision(ctx, contract.GateCanaryAnalysis, v.Outcome, reason, contract.SourceMeasured, "", inputs)
	if err := w.record(ctx, store.Change{Decisions: []store.Decision{d}}); err != nil {
		return true, err
	}
	switch v.Outcome {
	case contract.VerdictPassed:
		w.outcome(ctx, NodeDeployToEndpoint, contract.StageProduction, "ok", fmt.Sprintf("canary analysis at %d%% passed: %s", st.weight, numbers(m)))
		return true, nil
	case contract.VerdictFailed:
		return true, contract.NewError(contract.ErrAnalysisFailed, "canary analysis failed at %d%%: %s (%s)",
			st.weight, strings.Join(v.Failures, "; "), numbers(m))
	}
	return false, nil
}

// canaryInference checks the canary answers a synthetic prediction before its metrics are judged.
func (w *run) canaryInference(ctx workflow.Context, weight int, ro kube.Rollout) error {
	res, err := w.probe(ctx, fmt.Sprintf("canary inference at %d%%", weight), w.target(ro))
	if err != nil {
		return err
	}
	if res.Healthy {
		return nil
	}
	d := w.decision(ctx, contract.GateCanaryAnalysis, contract.VerdictFailed, res.Error, contract.SourceProbe, "",
		map[string]any{"weight": weight, "probe": res})
	if err := w.record(ctx, store.Change{Decisions: []store.Decision{d}}); err != nil {
		return err
	}
	return contract.NewError(contract.ErrAnalysisFailed, "canary analysis failed at %d%%: the canary failed its probe: %s", weight, res.Error)
}

// compact is a sample as the ledger keeps it: the numbers, not the window's timestamps.
func compact(s rules.Sample) map[string]any {
	return map[string]any{"requests": s.Requests, "errors": s.Errors, "model_errors": s.ModelErrors,
		"error_rate": s.ErrorRate, "p99_ms": s.P99MS, "no_data": s.NoData, "no_latency": s.NoLatency}
}

func numbers(m activities.CanaryMeasurement) string {
	f := func(s rules.Sample) string {
		switch {
		case s.NoData:
			return "no data"
		case s.NoLatency:
			return fmt.Sprintf("%.0f requests, %.0f errors, error rate %.4g, no latency data", s.Requests, s.Errors, s.ErrorRate)
		}
		return fmt.Sprintf("%.0f requests, %.0f errors, error rate %.4g, p99 %.4gms", s.Requests, s.Errors, s.ErrorRate, s.P99MS)
	}
	return "canary " + f(m.Canary) + "; stable " + f(m.Stable)
}
