package activities

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// fakeSource answers samples from a function of the call number; a unit-test double of
// metrics.Source (the real Prometheus backend has its own tests against a real server).
type fakeSource struct {
	mu    sync.Mutex
	calls int
	fn    func(n int, start, end time.Time) (rules.Sample, error)
}

func (f *fakeSource) Sample(_ context.Context, w rules.Workload, start, end time.Time) (rules.Sample, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	s, err := f.fn(n, start, end)
	s.Workload = w
	return s, err
}

func holdShadow(t *testing.T, src *fakeSource, hold, every time.Duration) (ShadowMeasurement, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	acts := &Activities{Metrics: src}
	env.RegisterActivity(acts)
	req := ShadowHoldRequest{Workload: rules.Workload{DeploymentName: "fraud", Environment: "shadow", Role: "shadow"},
		From: time.Now(), Hold: hold, Every: every, Criteria: config.DefaultPolicy().Shadow}
	v, err := env.ExecuteActivity(acts.HoldShadow, req)
	if err != nil {
		return ShadowMeasurement{}, err
	}
	var m ShadowMeasurement
	if err := v.Get(&m); err != nil {
		t.Fatal(err)
	}
	return m, nil
}

// TestHoldShadow: one activity samples the whole hold (the history pays for one activity, not one
// per sample), tolerates source errors, stops early on a broken hard limit, and ends with a
// sample over the whole window.
func TestHoldShadow(t *testing.T) {
	good := func(int, time.Time, time.Time) (rules.Sample, error) {
		return rules.Sample{Requests: 500, Errors: 0, P99MS: 20}, nil
	}
	t.Run("samples periodically, then the whole window", func(t *testing.T) {
		src := &fakeSource{fn: good}
		m, err := holdShadow(t, src, 400*time.Millisecond, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if src.calls < 3 || m.Samples != src.calls || len(m.EarlyFailure) != 0 {
			t.Errorf("calls %d, measurement %+v", src.calls, m)
		}
	})
	t.Run("source errors are counted, not passed", func(t *testing.T) {
		src := &fakeSource{fn: func(n int, s, e time.Time) (rules.Sample, error) {
			if n <= 2 {
				return rules.Sample{}, errors.New("connection refused")
			}
			return good(n, s, e)
		}}
		m, err := holdShadow(t, src, 400*time.Millisecond, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if m.SourceErrors != 2 || m.Samples != src.calls-2 {
			t.Errorf("calls %d, measurement %+v", src.calls, m)
		}
	})
	t.Run("a broken hard limit stops the hold early", func(t *testing.T) {
		src := &fakeSource{fn: func(int, time.Time, time.Time) (rules.Sample, error) {
			return rules.Sample{Requests: 1200, Errors: 60, ErrorRate: 0.05, P99MS: 20}, nil
		}}
		start := time.Now()
		m, err := holdShadow(t, src, time.Hour, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.EarlyFailure) == 0 || src.calls != 1 || time.Since(start) > 30*time.Minute {
			t.Errorf("calls %d, measurement %+v", src.calls, m)
		}
	})
	t.Run("the final sample failing is an error, for Temporal to retry", func(t *testing.T) {
		src := &fakeSource{fn: func(int, time.Time, time.Time) (rules.Sample, error) { return rules.Sample{}, errors.New("503") }}
		_, err := holdShadow(t, src, 150*time.Millisecond, 100*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "final shadow sample") {
			t.Errorf("got %v, want the final sample's error", err)
		}
	})
	t.Run("no metrics source", func(t *testing.T) {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestActivityEnvironment()
		acts := &Activities{}
		env.RegisterActivity(acts)
		_, err := env.ExecuteActivity(acts.HoldShadow, ShadowHoldRequest{Hold: time.Second, Every: time.Second})
		if err == nil || !strings.Contains(err.Error(), "BackendNotConfigured") {
			t.Errorf("got %v, want BackendNotConfigured", err)
		}
	})
}

// TestMeasureCanarySourceErrors: a failing metrics source is a result the workflow counts.
func TestMeasureCanarySourceErrors(t *testing.T) {
	src := &fakeSource{fn: func(n int, _, _ time.Time) (rules.Sample, error) {
		if n == 2 {
			return rules.Sample{}, errors.New("timeout")
		}
		return rules.Sample{Requests: 10}, nil
	}}
	a := &Activities{Metrics: src}
	m, err := a.MeasureCanary(context.Background(), CanaryMeasureRequest{
		Canary: rules.Workload{Role: "canary"}, Stable: rules.Workload{Role: "stable"}, From: time.Now(), To: time.Now()})
	if err != nil || !strings.Contains(m.SourceError, "timeout") || m.Canary.Requests != 10 {
		t.Errorf("got %+v, %v", m, err)
	}
}

func watchCanary(t *testing.T, src *fakeSource, hold, every time.Duration) CanaryMeasurement {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	acts := &Activities{Metrics: src}
	env.RegisterActivity(acts)
	from := time.Now().Add(-time.Second) // past the warm-up: every sample on the way is judged
	req := CanaryWatchRequest{CanaryMeasureRequest: CanaryMeasureRequest{
		Canary: rules.Workload{DeploymentName: "fraud", Environment: "production", Role: "canary"},
		Stable: rules.Workload{DeploymentName: "fraud", Environment: "production", Role: "stable"},
		From:   from, To: from.Add(time.Second + hold)}, Every: every, Criteria: rules.DefaultAnalysis()}
	v, err := env.ExecuteActivity(acts.WatchCanary, req)
	if err != nil {
		t.Fatal(err)
	}
	var m CanaryMeasurement
	if err := v.Get(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWatchCanary: a canary step's hold is one activity sampling on the way; a sample that
// already breaks a hard limit ends it at once, source errors on the way are skipped, and a good
// canary is measured over the whole window at the end.
func TestWatchCanary(t *testing.T) {
	good := func(n int, start, end time.Time) (rules.Sample, error) {
		return rules.Sample{Start: start, End: end, Requests: rules.P99MinRequests, P99MS: 20}, nil
	}
	t.Run("good canary: held to the end, final window whole", func(t *testing.T) {
		start := time.Now()
		src := &fakeSource{fn: good}
		m := watchCanary(t, src, 1200*time.Millisecond, 500*time.Millisecond)
		if took := time.Since(start); took < time.Second || len(m.EarlyFailure) != 0 || m.Samples != 3 || m.SourceError != "" {
			t.Fatalf("after %s: %+v", took, m)
		}
		if w := m.Canary.End.Sub(m.Canary.Start); w < 1100*time.Millisecond {
			t.Fatalf("final window %s, want the whole hold", w)
		}
	})
	t.Run("failing canary: stopped at the first bad sample", func(t *testing.T) {
		start := time.Now()
		src := &fakeSource{fn: func(n int, start, end time.Time) (rules.Sample, error) {
			if n%2 == 1 && n >= 3 { // the canary's second sample is slow
				return rules.Sample{Start: start, End: end, Requests: rules.P99MinRequests, P99MS: 400}, nil
			}
			return good(n, start, end)
		}}
		m := watchCanary(t, src, time.Minute, 300*time.Millisecond)
		if took := time.Since(start); took > 10*time.Second || len(m.EarlyFailure) != 1 || m.Samples != 2 || m.Canary.P99MS != 400 {
			t.Fatalf("after %s: %+v", took, m)
		}
	})
	t.Run("source errors on the way are skipped", func(t *testing.T) {
		src := &fakeSource{fn: func(n int, start, end time.Time) (rules.Sample, error) {
			if n <= 2 {
				return rules.Sample{}, errors.New("prometheus down")
			}
			return good(n, start, end)
		}}
		m := watchCanary(t, src, 1200*time.Millisecond, 500*time.Millisecond)
		if len(m.EarlyFailure) != 0 || m.SourceError != "" || m.Canary.Requests != rules.P99MinRequests {
			t.Fatalf("%+v", m)
		}
	})
}
