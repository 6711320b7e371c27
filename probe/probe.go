// Package probe checks that a deployed endpoint really answers: HTTP health checks with a
// per-attempt timeout, bounded retries with backoff, the measured response time, a check that
// the metrics URL answers, and a synthetic inference with the model's recorded input example.
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
	// PredictURL, when set, makes the probe send a synthetic inference once the workload is ready:
	// POST PredictBody ({"rows": [...]}, e.g. packaging.Artifact.InputExample) must answer 200 with
	// {"predictions": [...]}, one prediction a row. Without a body (the model has no input example
	// or signature) the probe checks readiness only and says so in Result.Inference.
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
	// Inference is the synthetic inference's outcome; nil when the target has no PredictURL.
	Inference *InferenceResult `json:"inference,omitempty"`
}

// InferenceResult is what the synthetic inference found (of its last attempt).
type InferenceResult struct {
	URL string `json:"url"`
	// Checked is false when no request could be sent: no body to send (Note says so), or the
	// workload never became ready.
	Checked      bool          `json:"checked"`
	OK           bool          `json:"ok"`
	StatusCode   int           `json:"status_code,omitempty"`
	RowsSent     int           `json:"rows_sent"`
	Predictions  int           `json:"predictions"` // items in the answer's "predictions" array
	ResponseTime time.Duration `json:"response_time"`
	Attempts     int           `json:"attempts"`
	Error        string        `json:"error,omitempty"`
	Note         string        `json:"note,omitempty"`
}

// Prober checks an endpoint. An unhealthy endpoint is a Result with Healthy false, not an error;
// an error means the probe itself could not run (bad URL, cancelled).
type Prober interface {
	Check(ctx context.Context, t Target) (Result, error)
}
