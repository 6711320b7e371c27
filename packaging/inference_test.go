package packaging_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/probe"
)

// wantInputExample checks that art carries the input example tests/realparts/log_model.py logs
// with its model: two rows of the double columns f0, f1, f2, as objects; the manifest too.
func wantInputExample(t *testing.T, art packaging.Artifact) {
	t.Helper()
	if art.InputExampleSource != packaging.ExampleFromInputExample {
		t.Fatalf("input example source %q, want %q (example %s)", art.InputExampleSource, packaging.ExampleFromInputExample, art.InputExample)
	}
	var body struct {
		Rows []map[string]float64 `json:"rows"`
	}
	if err := json.Unmarshal(art.InputExample, &body); err != nil || len(body.Rows) != 2 {
		t.Fatalf("input example %s: %v; want two rows of f0, f1, f2", art.InputExample, err)
	}
	for i, r := range body.Rows {
		if _, ok := r["f2"]; len(r) != 3 || !ok {
			t.Fatalf("input example row %d: %v, want f0, f1, f2", i, r)
		}
	}
	if got := art.Manifest[packaging.ManifestInputExample]; got != string(art.InputExample) ||
		art.Manifest[packaging.ManifestInputExampleSource] != art.InputExampleSource {
		t.Fatalf("manifest input example %q (%q), want the artifact's %s", got, art.Manifest[packaging.ManifestInputExampleSource], art.InputExample)
	}
}

// probeServed runs the real prober on a served bento with the artifact's input example, the way
// the workflow's health check does, and checks the verdict: healthy, or (the fault switch on)
// unhealthy because the inference fails although /readyz answers 200.
func probeServed(t *testing.T, url string, art packaging.Artifact, wantHealthy bool) {
	t.Helper()
	p, err := probe.NewHTTP(10*time.Second, 2, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	target := probe.Target{HealthURL: url + "/readyz", MetricsURL: url + "/metrics",
		PredictURL: url + "/predict", PredictBody: art.InputExample}
	res, err := p.Check(context.Background(), target)
	if err != nil {
		t.Fatalf("probe %s: %v", url, err)
	}
	b, _ := json.Marshal(res)
	t.Logf("probe result: %s", b)
	inf := res.Inference
	if inf == nil || !inf.Checked || inf.RowsSent != 2 {
		t.Fatalf("probe sent no inference of 2 rows: %s", b)
	}
	if wantHealthy {
		if !res.Healthy || !inf.OK || inf.Predictions != 2 || inf.StatusCode != http.StatusOK {
			t.Fatalf("want healthy with 2 predictions: %s", b)
		}
		return
	}
	if res.Healthy || inf.OK || inf.StatusCode != http.StatusInternalServerError || res.StatusCode != http.StatusOK {
		t.Fatalf("want unhealthy: /readyz 200 but predict 500: %s", b)
	}
	if !strings.Contains(res.Error, "POST "+target.PredictURL) || !strings.Contains(res.Error, "HTTP 500") {
		t.Fatalf("error %q does not name the predict URL and its answer", res.Error)
	}
}
