// Package rules holds the deployer's judgements as pure functions, apart from measurement (argo
// rollouts splits metric providers from utils/evaluate the same way): the success gate, the stage
// ladder, environment settings, canary steps, the shadow criteria and the canary analysis, with the
// evidence types they judge. It imports no Temporal and no backend, so activities can return
// measured evidence and the workflow can judge it, without an import cycle.
package rules

import "time"

// Workload names one workload's series in the metrics source: a deployment's role in an
// environment (stable, canary or shadow).
type Workload struct {
	DeploymentName string `json:"deployment_name"`
	Environment    string `json:"environment"`
	Role           string `json:"role"`
}

func (w Workload) String() string { return w.DeploymentName + "/" + w.Environment + "/" + w.Role }

// Sample is what one workload served over a window, as the metrics source measured it. Requests
// and errors count predict calls; an error is a 5xx answer. NoData says the source had no series or
// no requests for the workload in the window: it is never a pass. NoLatency says there were
// requests (and so an error rate) but no latency histogram to take a p99 from (a server whose every
// request in the window fell in the first scrape of its histogram's series): the p99 is unknown,
// never a pass. Numbers are JSON-safe (no NaN): with NoData, ErrorRate and P99MS are 0 and mean
// nothing; with NoLatency, P99MS is 0 and means nothing.
type Sample struct {
	Workload    Workload  `json:"workload"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Requests    float64   `json:"requests"`
	Errors      float64   `json:"errors"`
	ModelErrors float64   `json:"model_errors"` // of Errors, those the model server counted as model failures
	ErrorRate   float64   `json:"error_rate"`
	P99MS       float64   `json:"p99_ms"`
	NoData      bool      `json:"no_data"`
	NoLatency   bool      `json:"no_latency,omitempty"`
}
