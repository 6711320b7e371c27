package main

import (
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

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
