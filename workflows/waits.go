package workflows

import (
	"fmt"
	"math"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// listenForSignals keeps the latest abort and, while approval is awaited, the first approval
// from an allowed approver. Everything else is noted in the status, never silently dropped; a
// payload that does not decode too (the SDK would drop it with a log line).
func (w *run) listenForSignals(ctx workflow.Context) {
	approveCh := workflow.GetSignalChannel(ctx, contract.SignalApprove)
	abortCh := workflow.GetSignalChannel(ctx, contract.SignalAbort)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(approveCh, func(c workflow.ReceiveChannel, _ bool) {
				s, err := receive[contract.ApproveSignal](ctx, c)
				switch {
				case err != nil && w.gates >= gatesApprovalsSigned:
					_ = w.rejectApproval(ctx, contract.ApproveSignal{}, viaSignal, &approval.Rejection{Code: approval.RejectMalformed,
						Detail: "payload does not decode: " + err.Error()})
					return
				case err != nil:
					w.ignoreSignal(ctx, contract.SignalApprove, "approval ignored: payload does not decode: "+err.Error())
					return
				}
				if w.gates >= gatesApprovalsSigned {
					_, _ = w.judgeApproval(ctx, s, viaSignal) // a rejection is noted; a signal has no answer
					return
				}
				w.onApprove(ctx, s)
			})
			sel.AddReceive(abortCh, func(c workflow.ReceiveChannel, _ bool) {
				s, err := receive[contract.AbortSignal](ctx, c)
				if err != nil {
					if workflow.GetVersion(ctx, changeAbortUndecodable, workflow.DefaultVersion, abortUndecodableHonoured) == workflow.DefaultVersion {
						w.ignoreSignal(ctx, contract.SignalAbort, "abort ignored: payload does not decode: "+err.Error())
						return
					}
					s = contract.AbortSignal{Reason: "an abort whose payload does not decode (" + err.Error() + ")"}
				}
				w.onAbort(ctx, s)
			})
			sel.Select(ctx)
		}
	})
}

// receive takes the next signal off c as it was sent and decodes it.
func receive[T any](ctx workflow.Context, c workflow.ReceiveChannel) (T, error) {
	var raw converter.RawValue
	c.Receive(ctx, &raw)
	return decodeSignal[T](raw.Payload())
}

// decodeSignal decodes a signal's payload: no payload is the zero value; one that does not decode
// is an error and the zero value, never a half-filled signal.
func decodeSignal[T any](p *commonpb.Payload) (T, error) {
	var v, zero T
	if p == nil {
		return zero, nil
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return zero, err
	}
	return v, nil
}

// onAbort keeps the first abort; later ones are noted as ignored.
func (w *run) onAbort(ctx workflow.Context, s contract.AbortSignal) {
	if s.RequestedBy == "" {
		s.RequestedBy = "unknown"
	}
	if w.abort != nil {
		w.ignoreSignal(ctx, contract.SignalAbort, fmt.Sprintf("abort by %q ignored: already aborting", s.RequestedBy))
		return
	}
	w.abort = &s
	w.status.Abort = &s
	workflow.GetLogger(ctx).Warn("abort received", "by", s.RequestedBy, "reason", s.Reason)
}

func (w *run) onApprove(ctx workflow.Context, s contract.ApproveSignal) {
	reason := ""
	switch {
	case w.status.WaitingFor != waitApproval:
		reason = "no approval is awaited now"
	case s.Approver == "":
		reason = "approver is empty"
	case len(w.req.AllowedApprovers) > 0 && !slices.Contains(w.req.AllowedApprovers, s.Approver):
		reason = "approver is not in allowed_approvers"
	case w.approval != nil:
		reason = "already approved"
	}
	if reason != "" {
		w.ignoreSignal(ctx, contract.SignalApprove, fmt.Sprintf("approval by %q ignored: %s", s.Approver, reason))
		return
	}
	w.approval = &s
	w.status.Approval = &s
}

// ignoredSignalsNoted bounds what the status keeps of ignored signals: the first ones are noted
// in full, the rest only counted, so a flood of signals cannot grow the status without bound.
const ignoredSignalsNoted = 20

func (w *run) ignoreSignal(ctx workflow.Context, name, detail string) {
	w.status.IgnoredSignals++
	if w.status.IgnoredSignals <= ignoredSignalsNoted {
		w.outcome(ctx, name+"_signal", "", "ignored", detail)
	}
	workflow.GetLogger(ctx).Warn("signal ignored", "signal", name, "detail", detail, "ignored", w.status.IgnoredSignals)
}

// What a run can be waiting for, as shown by the status query.
const (
	waitApproval   = contract.WaitingForApproval
	waitShadowHold = "shadow_hold"
	waitCanaryHold = "canary_hold"
	waitActivity   = "activity"
)

// wait blocks until done() holds or d passes, returning whether done() held. An abort ends any
// wait at once with the Aborted error.
func (w *run) wait(ctx workflow.Context, what, summary string, d time.Duration, done func() bool) (bool, error) {
	until := workflow.Now(ctx).Add(d)
	w.status.WaitingFor, w.status.WaitingUntil = what, &until
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("waiting for %s until %s", what, until.Format(time.RFC3339)))
	defer func() {
		w.status.WaitingFor, w.status.WaitingUntil = "", nil
		workflow.SetCurrentDetails(ctx, "")
	}()
	ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      d,
		TimerOptions: workflow.TimerOptions{Summary: summary},
	}, func() bool { return w.abort != nil || done() })
	if err != nil {
		return false, err
	}
	if w.abort != nil {
		return false, w.abortError()
	}
	return ok, nil
}

// hold is a durable, abortable timer.
func (w *run) hold(ctx workflow.Context, what, summary string, d time.Duration) error {
	_, err := w.wait(ctx, what, summary, d, func() bool { return false })
	return err
}

// measuredHold runs a hold's measuring activity, the status showing the run waiting for what
// until the hold ends. The hold only reads (metrics, the registry): from gates version 8 an abort
// cancels it and goes on to the compensation at once, without waiting for the cancelled hold to
// learn of it from its next heartbeat (20 s in its activity, 2 min parked), since a straggler that only
// reads cannot undo what the compensation puts back.
func (w *run) measuredHold(ctx workflow.Context, what string, until time.Time, opts workflow.ActivityOptions, fn, arg, result any) error {
	w.status.WaitingFor, w.status.WaitingUntil = what, &until
	defer func() { w.status.WaitingFor, w.status.WaitingUntil = "", nil }()
	return w.execActivity(ctx, opts, w.gates >= gatesMeasured && w.gates < gatesFastAbort, fn, arg, result)
}

// exec runs an activity and waits for it; an abort cancels the activity and, once the activity
// has really stopped (on measured gates), returns the Aborted error. During compensation nothing
// aborts and every activity retries until it succeeds. result may be nil.
func (w *run) exec(ctx workflow.Context, opts workflow.ActivityOptions, fn any, arg any, result any) error {
	return w.execActivity(ctx, opts, w.gates >= gatesMeasured, fn, arg, result)
}

// execActivity is exec, waitStop saying whether an abort waits until the cancelled activity has
// really stopped (an activity that changes things must not act after the compensation).
func (w *run) execActivity(ctx workflow.Context, opts workflow.ActivityOptions, waitStop bool, fn any, arg any, result any) error {
	if w.compensating {
		opts.RetryPolicy.MaximumAttempts = 0 // unlimited until the compensation's deadline, if any
		opts.RetryPolicy.MaximumInterval = time.Minute
		if !w.compensateBy.IsZero() { // bounded by time, not by a count of attempts
			opts.ScheduleToCloseTimeout = max(w.compensateBy.Sub(workflow.Now(ctx)), time.Minute)
			opts.RetryPolicy.MaximumAttempts = math.MaxInt32
		}
	}
	opts.WaitForCancellation = waitStop
	actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, opts))
	defer cancel()
	fut := workflow.ExecuteActivity(actx, fn, arg)
	abortable := w.abort == nil && !w.compensating
	if err := workflow.Await(ctx, func() bool { return fut.IsReady() || (abortable && w.abort != nil) }); err != nil {
		return err
	}
	if !fut.IsReady() {
		cancel()
		if opts.WaitForCancellation { // a straggler must not act after the compensation that follows
			_ = fut.Get(ctx, nil)
		}
		return w.abortError()
	}
	return fut.Get(ctx, result)
}

var nonRetryable = []string{
	contract.ErrInvalidInput, contract.ErrSuccessCriteriaNotMet, contract.ErrPromotionDenied,
	contract.ErrShadowCriteriaNotMet, contract.ErrApprovalTimeout, contract.ErrAborted,
	contract.ErrHealthCheckFailed, contract.ErrConcurrentDeployment, contract.ErrBackendNotConfigured,
	contract.ErrModelNotFound, contract.ErrRegistryRejected, contract.ErrNoKnownGood, contract.ErrRolloutFailed,
	contract.ErrAnalysisFailed,
}

func retry(attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: nonRetryable,
	}
}

// short is for registry and store calls.
func short(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: retry(10), Summary: summary}
}

// long is for cluster rollouts and packaging, which heartbeat while they wait. Ten attempts back
// off over about two and a half minutes: an API server restarting (30 s down in
// TestAPIServerOutage) is ridden out; five attempts gave up after some 15 s and rolled back.
func long(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: time.Minute,
		RetryPolicy: retry(10), Summary: summary}
}

// holding is for a measured hold: one activity as long as the hold, heartbeating its counters;
// a retry (a worker died) resumes the same window.
func holding(summary string, hold time.Duration) workflow.ActivityOptions {
	p := retry(20)
	p.MaximumInterval = time.Minute
	return workflow.ActivityOptions{StartToCloseTimeout: hold + time.Hour, HeartbeatTimeout: time.Minute,
		RetryPolicy: p, Summary: summary}
}

// shadowHolding is holding for the shadow's hold (a day or more, parked by the worker's holds,
// which beat every activities.ParkedBeat): a worker that died is noticed within 5 minutes, and the
// retry resumes the same window, so a late notice delays samples, not the verdict. Thousands of
// parked holds cost the Temporal server a heartbeat each per ParkedBeat, not per 20 s. Timeouts are
// not part of what a replay compares.
func shadowHolding(summary string, hold time.Duration) workflow.ActivityOptions {
	o := holding(summary, hold)
	o.HeartbeatTimeout = 5 * time.Minute
	return o
}

// probing is for health checks; the prober retries inside one attempt, heartbeating, so a worker
// that dies mid-probe is noticed within the heartbeat timeout, not the attempt's 5 minutes.
func probing(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute, HeartbeatTimeout: time.Minute,
		RetryPolicy: retry(3), Summary: summary}
}
