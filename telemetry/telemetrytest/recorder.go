// Package telemetrytest has a metrics handler for unit tests that keeps what was recorded.
package telemetrytest

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Recorder is a client.MetricsHandler that keeps counters and timer records by series,
// "name{k=v,…}" with the tags sorted.
type Recorder struct {
	mu     *sync.Mutex
	tags   map[string]string
	counts map[string]int64
	timers map[string][]time.Duration
}

var _ client.MetricsHandler = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{mu: &sync.Mutex{}, counts: map[string]int64{}, timers: map[string][]time.Duration{}}
}

func (r *Recorder) series(name string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(r.tags)) {
		kv = append(kv, k+"="+r.tags[k])
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

// WithTags returns a handler recording into the same Recorder with tags added.
func (r *Recorder) WithTags(tags map[string]string) client.MetricsHandler {
	c := *r
	c.tags = maps.Clone(r.tags)
	if c.tags == nil {
		c.tags = map[string]string{}
	}
	maps.Copy(c.tags, tags)
	return &c
}

// Counter adds to the series' count.
func (r *Recorder) Counter(name string) client.MetricsCounter {
	return counterFunc(func(d int64) { r.mu.Lock(); r.counts[r.series(name)] += d; r.mu.Unlock() })
}

// Gauge records nothing.
func (r *Recorder) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }

// Timer appends to the series' records.
func (r *Recorder) Timer(name string) client.MetricsTimer {
	return timerFunc(func(d time.Duration) {
		r.mu.Lock()
		r.timers[r.series(name)] = append(r.timers[r.series(name)], d)
		r.mu.Unlock()
	})
}

// Counts returns the counters recorded whose series starts with prefix.
func (r *Recorder) Counts(prefix string) map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int64{}
	for k, v := range r.counts {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// Timers returns the timer records whose series starts with prefix.
func (r *Recorder) Timers(prefix string) map[string][]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]time.Duration{}
	for k, v := range r.timers {
		if strings.HasPrefix(k, prefix) {
			out[k] = slices.Clone(v)
		}
	}
	return out
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
