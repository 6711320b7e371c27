package workflows

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/temporal"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
)

// FuzzNormalize decodes any bytes as the workflow input and normalizes them as a run at the
// current gates version does. It must never panic; a refusal is InvalidInput naming a field; an
// accepted request derives Kubernetes names and labels the API server accepts, for every
// environment and role, and a canary ladder that only goes up to 100 %.
// `make fuzz` runs it long; `make test` briefly (infra/scripts/test.sh). Seeds: f.Add below and
// testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(seedExampleJSON))
	for _, s := range []string{`{}`, `null`, `[]`, `"x"`, `{"deployment_name": 5}`, `{"model_uri":"runs:/a/m","experiment_id":"42",` +
		`"validation_metrics":{"auc":0.9},"success_criteria_met":true,"deployment_name":"fraud","canary_steps":[5,20,100]}`,
		// accepted before gates version 4, though its Services ("9fraud-staging") are no DNS-1035 labels
		`{"model_uri":"runs:/a/m","experiment_id":"42","validation_metrics":{},"success_criteria_met":true,"deployment_name":"9fraud"}`} {
		f.Add([]byte(s))
	}
	p := config.DefaultPolicy()
	p.Backends = config.Backends{Packager: true, Cluster: true, Metrics: true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in contract.Input
		if err := json.Unmarshal(raw, &in); err != nil {
			if json.Valid(raw) {
				t.Fatalf("valid JSON %q failed to decode (problems are kept for Normalize): %v", raw, err)
			}
			return // not JSON: the SDK's converter refuses it before the workflow runs
		}
		r, err := normalizeAt(in, p, gatesLatest)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkNames(t, r.DeploymentName)
		last := 0
		for _, s := range r.CanarySteps {
			if s <= last || s > 100 {
				t.Fatalf("canary steps %v accepted", r.CanarySteps)
			}
			last = s
		}
	})
}

// checkRefusal: a refusal is a non-retryable InvalidInput whose message starts with a field name.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != contract.ErrInvalidInput || !app.NonRetryable() {
		t.Fatalf("refusal %v is not a non-retryable InvalidInput", err)
	}
	field, _, ok := strings.Cut(app.Message(), ": ")
	if !ok || field == "" {
		t.Fatalf("refusal %q does not start with a field name", app.Message())
	}
}

// checkNames: every object name a request leads to is a DNS-1035 label (Services need it) and
// every label value is valid.
func checkNames(t *testing.T, name string) {
	t.Helper()
	for _, env := range []contract.Environment{contract.EnvStaging, contract.EnvShadow, contract.EnvProduction} {
		e := string(env)
		for _, n := range []string{kube.ServiceName(name, e), kube.WorkloadName(name, e, kube.RoleStable),
			kube.WorkloadName(name, e, kube.RoleCanary), kube.RoleServiceName(name, e, kube.RoleCanary),
			kube.RoleServiceName(name, e, kube.RoleStable)} {
			if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
				t.Fatalf("deployment_name %q accepted, but %q is no DNS-1035 label: %v", name, n, errs)
			}
		}
		if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
			t.Fatalf("deployment_name %q accepted, but is no label value: %v", name, errs)
		}
	}
}

// FuzzSignalPayload decodes any payload as the approve and abort signals do: never a panic, and
// a payload that does not decode is an error (which the run notes), never a half-filled signal.
func FuzzSignalPayload(f *testing.F) {
	for _, s := range []string{`{"approver":"alice@example.com","comment":"ok"}`, `{"reason":"x","requested_by":"bob"}`,
		`null`, `"yes"`, `{"approver":42}`, `[1,2]`, `{`, ``} {
		f.Add([]byte(s), "json/plain")
	}
	f.Add([]byte{0xff, 0x00}, "binary/plain")
	f.Add([]byte{}, "binary/null")
	f.Fuzz(func(t *testing.T, data []byte, encoding string) {
		p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(encoding)}, Data: data}
		if a, err := decodeSignal[contract.ApproveSignal](p); err != nil && a != (contract.ApproveSignal{}) {
			t.Fatalf("approve %q (%s): error %v with a half-filled %+v", data, encoding, err, a)
		}
		if b, err := decodeSignal[contract.AbortSignal](p); err != nil && b != (contract.AbortSignal{}) {
			t.Fatalf("abort %q (%s): error %v with a half-filled %+v", data, encoding, err, b)
		}
	})
}
