package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// fakeCompleter records heartbeats and completions by task token; a unit-test double of the
// Temporal client (the real one completes the holds of the end-to-end tests).
type fakeCompleter struct {
	mu        sync.Mutex
	beats     map[string][]holdCheckpoint
	done      map[string]completion
	beatErr   func(token string) error
	completed chan string
}

type completion struct {
	m   ShadowMeasurement
	err error
}

func newFakeCompleter() *fakeCompleter {
	return &fakeCompleter{beats: map[string][]holdCheckpoint{}, done: map[string]completion{}, completed: make(chan string, 16)}
}

func (f *fakeCompleter) RecordActivityHeartbeat(_ context.Context, token []byte, details ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beats[string(token)] = append(f.beats[string(token)], details[0].(holdCheckpoint))
	if f.beatErr != nil {
		return f.beatErr(string(token))
	}
	return nil
}

func (f *fakeCompleter) CompleteActivity(_ context.Context, token []byte, result any, err error) error {
	f.mu.Lock()
	c := completion{err: err}
	if m, ok := result.(ShadowMeasurement); ok {
		c.m = m
	}
	f.done[string(token)] = c
	f.mu.Unlock()
	f.completed <- string(token)
	return nil
}

func (f *fakeCompleter) completion(t *testing.T, token string) completion {
	t.Helper()
	select {
	case got := <-f.completed:
		if got != token {
			t.Fatalf("completed %q, want %q", got, token)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s never completed", token)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done[token]
}

// runHolds parks one hold per token on Holds with fast ticks and returns the completer and a stop.
func runHolds(t *testing.T, src *fakeSource, c *fakeCompleter, hold time.Duration, tokens ...string) (*Holds, func()) {
	t.Helper()
	h := NewHolds(&Activities{Metrics: src}, c)
	h.tick, h.beat = 5*time.Millisecond, 20*time.Millisecond
	req := ShadowHoldRequest{Workload: rules.Workload{DeploymentName: "fraud", Environment: "shadow", Role: "shadow"},
		From: time.Now(), Hold: hold, Every: 30 * time.Millisecond, Criteria: config.DefaultPolicy().Shadow}
	for _, tok := range tokens {
		h.park([]byte(tok), req, holdCheckpoint{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { h.Run(ctx); close(stopped) }()
	stop := func() { cancel(); <-stopped }
	t.Cleanup(stop)
	return h, stop
}

// TestHolds: parked holds are sampled, heartbeat their counters by task token and are completed
// at their end (or early on a broken hard limit); a cancelled hold is reported cancelled, a hold
// Temporal no longer knows is dropped, and a stopping worker hands every hold over.
func TestHolds(t *testing.T) {
	good := func(int, time.Time, time.Time) (rules.Sample, error) {
		return rules.Sample{Requests: 500, P99MS: 20}, nil
	}
	t.Run("a hold runs to its end, beating its counters", func(t *testing.T) {
		c := newFakeCompleter()
		h, _ := runHolds(t, &fakeSource{fn: good}, c, 200*time.Millisecond, "a")
		got := c.completion(t, "a")
		if got.err != nil || got.m.Samples < 3 || got.m.Last.Requests != 500 || len(got.m.EarlyFailure) != 0 {
			t.Errorf("completed with %+v", got)
		}
		c.mu.Lock()
		beats := c.beats["a"]
		c.mu.Unlock()
		if len(beats) < 3 || beats[len(beats)-1].Samples == 0 {
			t.Errorf("heartbeats %+v: want several, carrying the samples taken", beats)
		}
		if h.Len() != 0 {
			t.Errorf("%d holds still parked", h.Len())
		}
	})
	t.Run("a broken hard limit completes the hold early", func(t *testing.T) {
		c := newFakeCompleter()
		runHolds(t, &fakeSource{fn: func(int, time.Time, time.Time) (rules.Sample, error) {
			return rules.Sample{Requests: 1200, Errors: 60, ErrorRate: 0.05, P99MS: 20}, nil
		}}, c, time.Hour, "a")
		if got := c.completion(t, "a"); got.err != nil || len(got.m.EarlyFailure) == 0 {
			t.Errorf("completed with %+v, want an early failure", got)
		}
	})
	t.Run("a cancelled hold is reported cancelled", func(t *testing.T) {
		c := newFakeCompleter()
		c.beatErr = func(string) error { return temporal.NewCanceledError() }
		runHolds(t, &fakeSource{fn: good}, c, time.Hour, "a")
		var canceled *temporal.CanceledError
		if got := c.completion(t, "a"); !errors.As(got.err, &canceled) {
			t.Errorf("completed with %+v, want cancelled", got)
		}
	})
	t.Run("a hold Temporal no longer knows is dropped", func(t *testing.T) {
		c := newFakeCompleter()
		c.beatErr = func(tok string) error {
			if tok == "gone" {
				return serviceerror.NewNotFound("workflow execution already completed")
			}
			return nil
		}
		h, _ := runHolds(t, &fakeSource{fn: good}, c, time.Hour, "gone", "kept")
		for deadline := time.Now().Add(5 * time.Second); h.Len() != 1; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d holds parked, want the one still known", h.Len())
			}
		}
	})
	t.Run("a stopping worker hands its holds over", func(t *testing.T) {
		c := newFakeCompleter()
		h, stop := runHolds(t, &fakeSource{fn: good}, c, time.Hour, "a", "b")
		time.Sleep(50 * time.Millisecond)
		stop()
		for _, tok := range []string{"a", "b"} {
			var app *temporal.ApplicationError
			if got := c.done[tok]; !errors.As(got.err, &app) || app.Type() != ErrHoldHandedOver || app.NonRetryable() {
				t.Errorf("%s completed with %+v, want a retryable %s", tok, got, ErrHoldHandedOver)
			}
		}
		if h.Len() != 0 {
			t.Errorf("%d holds still parked", h.Len())
		}
	})
}

// TestHoldShadowParks: on a worker with Holds, the hold's activity returns at once, pending
// (its slot and goroutine free), and the hold is parked.
func TestHoldShadowParks(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	acts := &Activities{Metrics: &fakeSource{fn: func(int, time.Time, time.Time) (rules.Sample, error) { return rules.Sample{}, nil }}}
	acts.Holds = NewHolds(acts, newFakeCompleter())
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.HoldShadow, ShadowHoldRequest{From: time.Now(), Hold: time.Hour, Every: time.Minute})
	if err == nil || acts.Holds.Len() != 1 {
		t.Fatalf("got %v with %d parked, want the activity pending and one hold parked", err, acts.Holds.Len())
	}
}
