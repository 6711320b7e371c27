package activities

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// asyncCompleter is what Holds needs of the Temporal client: heartbeats and completions of an
// activity by its task token (client.Client has both).
type asyncCompleter interface {
	RecordActivityHeartbeat(ctx context.Context, taskToken []byte, details ...any) error
	CompleteActivity(ctx context.Context, taskToken []byte, result any, err error) error
}

// ParkedBeat is how often a parked shadow hold heartbeats: well inside the 5-minute heartbeat
// timeout the workflow gives shadow holds, and 83 heartbeats a second for 10,000 parked holds.
const ParkedBeat = 2 * time.Minute

// ErrHoldHandedOver is the retryable error a stopping worker completes its parked holds with:
// Temporal retries each at once on a worker that runs, with its window and its counters.
const ErrHoldHandedOver = "HoldHandedOver"

// Holds keeps this worker's parked shadow holds. HoldShadow hands each hold over (its activity
// returns ErrResultPending, which frees its goroutine and its activity slot); Holds samples it
// every r.Every, heartbeats its checkpoint by task token every ParkedBeat and completes it by
// token at its end, or at the first sample breaking a hard limit. A hold whose run was cancelled
// (an abort) is reported cancelled; one Temporal no longer knows (its run ended, it timed out) is
// dropped. A worker that dies leaves its holds to time out on their heartbeats and be retried
// elsewhere; one that stops hands them over at once (Run's end).
type Holds struct {
	a      *Activities
	c      asyncCompleter
	beat   time.Duration
	tick   time.Duration
	sem    chan struct{} // samples, heartbeats and completions in flight
	mu     sync.Mutex
	parked map[string]*parkedHold
}

type parkedHold struct {
	token      []byte
	r          ShadowHoldRequest
	cp         holdCheckpoint
	nextSample time.Time
	nextBeat   time.Time
	busy       bool // a step runs: only it reads or writes the fields above (under mu: busy itself)
}

// NewHolds returns the parked holds of a's worker, completed through c.
func NewHolds(a *Activities, c asyncCompleter) *Holds {
	return &Holds{a: a, c: c, beat: ParkedBeat, tick: time.Second, sem: make(chan struct{}, 16), parked: map[string]*parkedHold{}}
}

// Len is how many holds are parked.
func (h *Holds) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.parked)
}

func (h *Holds) park(token []byte, r ShadowHoldRequest, cp holdCheckpoint) {
	now := time.Now()
	p := &parkedHold{token: slices.Clone(token), r: r, cp: cp, nextSample: minTime(now.Add(r.Every), r.From.Add(r.Hold)), nextBeat: now}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.parked[string(token)] = p
}

// Run drives the parked holds until ctx ends, then waits for the steps in flight and hands every
// hold over (ErrHoldHandedOver), so that none waits for its heartbeat timeout to move on.
func (h *Holds) Run(ctx context.Context) {
	t := time.NewTicker(h.tick)
	defer t.Stop()
	for ctx.Err() == nil {
		for _, p := range h.due(time.Now()) {
			h.sem <- struct{}{}
			go func() {
				defer func() { <-h.sem }()
				h.step(ctx, p)
			}()
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	for range cap(h.sem) {
		h.sem <- struct{}{}
	}
	h.handOver()
}

// due marks busy and returns the holds with a sample, a heartbeat or their end due.
func (h *Holds) due(now time.Time) []*parkedHold {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*parkedHold
	for _, p := range h.parked {
		if !p.busy && (!now.Before(p.nextBeat) || !now.Before(p.nextSample)) {
			p.busy = true
			out = append(out, p)
		}
	}
	return out
}

// step does what is due for one hold: its end, a sample, a heartbeat.
func (h *Holds) step(ctx context.Context, p *parkedHold) {
	now, end := time.Now(), p.r.From.Add(p.r.Hold)
	switch {
	case !now.Before(end):
		m, err := h.a.endShadow(ctx, p.r, p.cp)
		h.complete(ctx, p, m, err)
		return
	case !now.Before(p.nextSample):
		if early := h.a.sampleShadow(ctx, p.r, &p.cp); early != nil {
			h.complete(ctx, p, *early, nil)
			return
		}
		p.nextSample = minTime(now.Add(p.r.Every), end)
	}
	if !now.Before(p.nextBeat) {
		err := h.c.RecordActivityHeartbeat(ctx, p.token, p.cp)
		var canceled *temporal.CanceledError
		switch {
		case errors.As(err, &canceled):
			h.complete(ctx, p, ShadowMeasurement{}, temporal.NewCanceledError())
			return
		case gone(err):
			h.drop(p)
			return
		case err != nil:
			h.a.logger().Warn("shadow hold heartbeat failed; retried", "workload", p.r.Workload.String(), "error", err)
		default:
			p.nextBeat = now.Add(h.beat)
		}
	}
	h.release(p)
}

// complete reports the hold's end; a completion that fails is tried again at the next tick.
func (h *Holds) complete(ctx context.Context, p *parkedHold, m ShadowMeasurement, err error) {
	var result any = m
	if err != nil {
		result = nil
	}
	if cerr := h.c.CompleteActivity(ctx, p.token, result, err); cerr != nil && !gone(cerr) {
		h.a.logger().Warn("shadow hold completion failed; retried", "workload", p.r.Workload.String(), "error", cerr)
		h.release(p)
		return
	}
	h.drop(p)
}

func (h *Holds) handOver() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.mu.Lock()
	parked := h.parked
	h.parked = map[string]*parkedHold{}
	h.mu.Unlock()
	for _, p := range parked {
		err := temporal.NewApplicationError("worker stopping: the shadow hold is handed over to another worker", ErrHoldHandedOver)
		if cerr := h.c.CompleteActivity(ctx, p.token, nil, err); cerr != nil && !gone(cerr) {
			h.a.logger().Warn("shadow hold not handed over: it is retried after its heartbeat timeout", "workload", p.r.Workload.String(), "error", cerr)
		}
	}
}

func (h *Holds) release(p *parkedHold) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p.busy = false
}

func (h *Holds) drop(p *parkedHold) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.parked, string(p.token))
}

// gone: Temporal no longer has the activity (its run ended, it timed out and was retried).
func gone(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
