package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
)

// holdCounter counts the HoldShadow activities running in this worker: a run is parked once its
// hold runs.
type holdCounter struct {
	interceptor.WorkerInterceptorBase
	now, most atomic.Int64
}

func (h *holdCounter) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &holdInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

func (h *holdCounter) read() (int64, int64) { return h.now.Load(), h.most.Load() }

type holdInbound struct {
	interceptor.ActivityInboundInterceptorBase
	h *holdCounter
}

func (i *holdInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if activity.GetInfo(ctx).ActivityType.Name != "HoldShadow" {
		return i.Next.ExecuteActivity(ctx, in)
	}
	n := i.h.now.Add(1)
	for m := i.h.most.Load(); n > m && !i.h.most.CompareAndSwap(m, n); m = i.h.most.Load() {
	}
	defer i.h.now.Add(-1)
	return i.Next.ExecuteActivity(ctx, in)
}

// counters is an SDK metrics handler that sums each counter over its tags (e.g.
// temporal_workflow_task_execution_failed); gauges and timers are dropped.
type counters struct {
	mu     sync.Mutex
	counts map[string]int64
}

var _ client.MetricsHandler = (*counters)(nil)

func (c *counters) WithTags(map[string]string) client.MetricsHandler { return c }

func (c *counters) Counter(name string) client.MetricsCounter {
	return counterFunc(func(d int64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.counts == nil {
			c.counts = map[string]int64{}
		}
		c.counts[name] += d
	})
}

func (c *counters) Gauge(string) client.MetricsGauge { return gaugeFunc(func(float64) {}) }
func (c *counters) Timer(string) client.MetricsTimer { return timerFunc(func(time.Duration) {}) }

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
