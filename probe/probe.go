// Package probe checks that a deployed endpoint really answers: HTTP health checks with a
// per-attempt timeout, bounded retries with backoff, the measured response time, and a check that
// the metrics URL answers.
package probe

import (
	"context"
	"encoding/json"
	"time"
)

// Target is what to probe.
type Target struct {
	HealthURL  string `json:"health_url"`
	MetricsURL string `json:"metrics_url,omitempty"`
	// PredictURL and PredictBody, when set, make the probe send a synthetic inference once the
	// workload is ready: POST PredictBody ({"rows": [...]}) must answer 200 with one prediction a row.
	PredictURL  string          `json:"predict_url,omitempty"`
	PredictBody json.RawMessage `json:"predict_body,omitempty"`
}

// Result is what a probe found.
type Result struct {
	Healthy        bool          `json:"healthy"`
	StatusCode     int           `json:"status_code"`
	ResponseTime   time.Duration `json:"response_time"`
	Attempts       int           `json:"attempts"`
	MetricsChecked bool          `json:"metrics_checked"`
	MetricsOK      bool          `json:"metrics_ok"`
	Error          string        `json:"error,omitempty"`
}

// Prober checks an endpoint. An unhealthy endpoint is a Result with Healthy false, not an error;
// an error means the probe itself could not run (bad URL, cancelled).
type Prober interface {
	Check(ctx context.Context, t Target) (Result, error)
}
