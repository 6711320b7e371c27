package workflows

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// minimalInput has only the five required fields.
func minimalInput() contract.Input {
	met := true
	return contract.Input{
		ModelURI:           "runs:/abc123/model",
		ExperimentID:       "42",
		ValidationMetrics:  map[string]float64{"auc": 0.91},
		SuccessCriteriaMet: &met,
		DeploymentName:     "fraud-detector",
	}
}

// wantInvalid asserts err is a non-retryable InvalidInput ApplicationError whose message starts
// with "field: ".
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want InvalidInput naming %s", field)
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		t.Fatalf("%v (%T) is not an ApplicationError", err, err)
	}
	if app.Type() != contract.ErrInvalidInput {
		t.Errorf("type %q, want %q", app.Type(), contract.ErrInvalidInput)
	}
	if !app.NonRetryable() {
		t.Errorf("InvalidInput is retryable")
	}
	if !strings.HasPrefix(app.Message(), field+": ") {
		t.Errorf("message %q does not start with %q", app.Message(), field+": ")
	}
}

func TestNormalizeDefaults(t *testing.T) {
	in := minimalInput()
	r, err := Normalize(in, config.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Environment", r.Environment, contract.EnvStaging},
		{"Action", r.Action, contract.ActionDeploy},
		{"Resources", r.Resources, map[string]string{"cpu": "2", "memory": "4Gi"}},
		{"MaxBatchSize", r.MaxBatchSize, 100},
		{"MaxLatencyMS", r.MaxLatencyMS, 100},
		{"ShadowHold", r.ShadowHold, 24 * time.Hour},
		{"ApprovalTimeout", r.ApprovalTimeout, 72 * time.Hour},
		{"CanaryHold", r.CanaryHold, 10 * time.Minute},
		{"CanarySteps", r.CanarySteps, []int{5, 20, 50, 100}},
		{"RequireApproval", r.RequireApproval, true},
		{"RequestedBy", r.RequestedBy, "unknown"},
		{"Shadow", r.Shadow, rules.ShadowEvidence{DurationHours: 0, Requests: 0, ErrorRate: 1.0, LatencyP99MS: 999, Source: "caller-supplied"}},
		{"ModelName", r.ModelName, "fraud-detector"},
		{"Input", r.Input, in},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	// The seed's default shadow evidence must never clear the Production bar.
	if v := rules.ShadowCriteria(r.Shadow, config.DefaultPolicy().Shadow); v.Passed {
		t.Errorf("default shadow evidence passes the shadow criteria: %+v", v)
	}
}

// TestNormalizeFollowsPolicyDefaults: the hold and timeout defaults come from the policy.
func TestNormalizeFollowsPolicyDefaults(t *testing.T) {
	p := config.DefaultPolicy()
	p.ShadowHoldDefault, p.ApprovalTimeoutDefault, p.CanaryHoldDefault = 48*time.Hour, time.Hour, 30*time.Minute
	r, err := Normalize(minimalInput(), p)
	if err != nil {
		t.Fatal(err)
	}
	if r.ShadowHold != 48*time.Hour || r.ApprovalTimeout != time.Hour || r.CanaryHold != 30*time.Minute {
		t.Errorf("holds %s/%s/%s, want the policy's 48h/1h/30m", r.ShadowHold, r.ApprovalTimeout, r.CanaryHold)
	}
}

// TestNormalizeAccepts: valid inputs beyond the minimum and what they normalize to.
func TestNormalizeAccepts(t *testing.T) {
	lowMin := config.DefaultPolicy()
	lowMin.ShadowHoldMin = time.Hour
	permissive := config.DefaultPolicy() // caller-supplied shadow evidence allowed, any canary
	permissive.Evidence.AllowCallerSupplied, permissive.Canary.MinSteps, permissive.Canary.MaxFirstStep = true, 1, 100
	waiver := config.DefaultPolicy()
	waiver.AllowApprovalWaiver = true
	no := false
	h, n, e, p99 := 30.5, int64(5000), 0.002, 80.0
	cases := []struct {
		name   string
		policy config.Policy
		mut    func(*contract.Input)
		check  func(Request) bool
	}{
		{"models:/name/3 names the model", config.DefaultPolicy(),
			func(in *contract.Input) { in.ModelURI = "models:/fraud-model/3" },
			func(r Request) bool { return r.ModelName == "fraud-model" }},
		{"models:/name@alias names the model", config.DefaultPolicy(),
			func(in *contract.Input) { in.ModelURI = "models:/fraud-model@champion" },
			func(r Request) bool { return r.ModelName == "fraud-model" }},
		{"models:/name/Stage names the model", config.DefaultPolicy(),
			func(in *contract.Input) { in.ModelURI = "models:/fraud-model/Production" },
			func(r Request) bool { return r.ModelName == "fraud-model" }},
		{"registered_model_name agreeing with models:/", config.DefaultPolicy(),
			func(in *contract.Input) { in.ModelURI, in.RegisteredModelName = "models:/fraud-model/3", "fraud-model" },
			func(r Request) bool { return r.ModelName == "fraud-model" }},
		{"MLflow 3 logged-model URI falls back to deployment_name", config.DefaultPolicy(),
			func(in *contract.Input) { in.ModelURI = "models:/m-0123abcd" },
			func(r Request) bool { return r.ModelName == "fraud-detector" }},
		{"registered_model_name with a runs:/ URI", config.DefaultPolicy(),
			func(in *contract.Input) { in.RegisteredModelName = "Fraud Model v2" },
			func(r Request) bool { return r.ModelName == "Fraud Model v2" }},
		{"deployment_name of 40 characters", config.DefaultPolicy(),
			func(in *contract.Input) { in.DeploymentName = strings.Repeat("a", 40) },
			func(r Request) bool { return r.ModelName == strings.Repeat("a", 40) }},
		{"experiment_id with - _ .", config.DefaultPolicy(),
			func(in *contract.Input) { in.ExperimentID = "exp_1.a-b" },
			func(r Request) bool { return r.ExperimentID == "exp_1.a-b" }},
		{"shadow_hold 2h under a 1h policy minimum", lowMin,
			func(in *contract.Input) { in.ShadowHold = "2h" },
			func(r Request) bool { return r.ShadowHold == 2*time.Hour }},
		{"shadow_hold 48h", config.DefaultPolicy(),
			func(in *contract.Input) { in.ShadowHold = "48h" },
			func(r Request) bool { return r.ShadowHold == 48*time.Hour }},
		{"shadow_hold exactly the minimum", config.DefaultPolicy(),
			func(in *contract.Input) { in.ShadowHold = "1440m" },
			func(r Request) bool { return r.ShadowHold == 24*time.Hour }},
		{"shadow_hold exactly the maximum", config.DefaultPolicy(),
			func(in *contract.Input) { in.ShadowHold = "168h" },
			func(r Request) bool { return r.ShadowHold == 168*time.Hour }},
		{"approval_timeout exactly the maximum", config.DefaultPolicy(),
			func(in *contract.Input) { in.ApprovalTimeout = "168h" },
			func(r Request) bool { return r.ApprovalTimeout == 168*time.Hour }},
		{"no maximum in a policy recorded before maxima existed", config.Policy{ShadowHoldDefault: 24 * time.Hour,
			ShadowHoldMin: 24 * time.Hour, ApprovalTimeoutDefault: 72 * time.Hour, CanaryHoldDefault: 10 * time.Minute,
			CanaryHoldMin: time.Minute, Canary: config.DefaultCanary(), Evidence: config.DefaultEvidence(), Shadow: config.DefaultPolicy().Shadow},
			func(in *contract.Input) { in.ShadowHold = "1000h"; in.ApprovalTimeout = "1000h" },
			func(r Request) bool { return r.ShadowHold == 1000*time.Hour && r.ApprovalTimeout == 1000*time.Hour }},
		{"canary_hold exactly the minimum", config.DefaultPolicy(),
			func(in *contract.Input) { in.CanaryHold = "60s" },
			func(r Request) bool { return r.CanaryHold == time.Minute }},
		{"approval_timeout 90m", config.DefaultPolicy(),
			func(in *contract.Input) { in.ApprovalTimeout = "90m" },
			func(r Request) bool { return r.ApprovalTimeout == 90*time.Minute }},
		{"require_approval false with AllowApprovalWaiver", waiver,
			func(in *contract.Input) { in.RequireApproval = &no },
			func(r Request) bool { return !r.RequireApproval }},
		{"canary_steps [100] where the policy allows a cut-over", permissive,
			func(in *contract.Input) { in.CanarySteps = []int{100} },
			func(r Request) bool { return reflect.DeepEqual(r.CanarySteps, []int{100}) }},
		{"production promote", config.DefaultPolicy(),
			func(in *contract.Input) { in.TargetEnvironment, in.DeploymentAction = "production", "promote" },
			func(r Request) bool {
				return r.Environment == contract.EnvProduction && r.Action == contract.ActionPromote
			}},
		{"rollback", config.DefaultPolicy(),
			func(in *contract.Input) { in.DeploymentAction = "rollback" },
			func(r Request) bool { return r.Action == contract.ActionRollback }},
		{"resources replaced, extra keys kept", config.DefaultPolicy(),
			func(in *contract.Input) {
				in.Resources = map[string]string{"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}
			},
			func(r Request) bool {
				return reflect.DeepEqual(r.Resources, map[string]string{"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"})
			}},
		{"sizes", config.DefaultPolicy(),
			func(in *contract.Input) { b, l := 1, 2500; in.MaxBatchSize, in.MaxLatencyMS = &b, &l },
			func(r Request) bool { return r.MaxBatchSize == 1 && r.MaxLatencyMS == 2500 }},
		{"shadow evidence", permissive,
			func(in *contract.Input) {
				in.ShadowModeDurationHours, in.ShadowModeRequests, in.ShadowModeErrorRate, in.ShadowModeLatencyP99MS = &h, &n, &e, &p99
			},
			func(r Request) bool {
				return r.Shadow == rules.ShadowEvidence{DurationHours: 30.5, Requests: 5000, ErrorRate: 0.002, LatencyP99MS: 80, Source: "caller-supplied"}
			}},
		{"shadow error rate bounds 0 and 1", permissive,
			func(in *contract.Input) { z := 0.0; in.ShadowModeErrorRate = &z },
			func(r Request) bool { return r.Shadow.ErrorRate == 0 }},
		{"requested_by", config.DefaultPolicy(),
			func(in *contract.Input) { in.RequestedBy = "ci@example.com" },
			func(r Request) bool { return r.RequestedBy == "ci@example.com" }},
		{"empty validation_metrics is the gate's call, not Normalize's", config.DefaultPolicy(),
			func(in *contract.Input) { in.ValidationMetrics = map[string]float64{} },
			func(r Request) bool { return len(r.ValidationMetrics) == 0 }},
	}
	for _, scheme := range []string{"s3://b/m", "gs://b/m", "file:///m", "/abs/m", "mlflow-artifacts:/1/m", "dbfs:/m", "https://h/m", "wasbs://c@a/m", "abfss://c@a/m", "hdfs://n/m"} {
		cases = append(cases, struct {
			name   string
			policy config.Policy
			mut    func(*contract.Input)
			check  func(Request) bool
		}{"model_uri " + scheme + " where the policy allows it", anySchemePolicy(),
			func(in *contract.Input) { in.ModelURI = scheme },
			func(r Request) bool { return r.ModelURI == scheme && r.ModelName == "fraud-detector" }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInput()
			tc.mut(&in)
			r, err := Normalize(in, tc.policy)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.check(r) {
				t.Errorf("unexpected request %+v", r)
			}
		})
	}
}

// TestNormalizeCopiesCallerSlices: the request does not alias the input's canary steps.
func TestNormalizeCopiesCallerSlices(t *testing.T) {
	in := minimalInput()
	in.CanarySteps = []int{10, 50, 100}
	r, err := Normalize(in, config.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	in.CanarySteps[0] = 99
	if r.CanarySteps[0] != 10 {
		t.Errorf("CanarySteps aliases the input: %v", r.CanarySteps)
	}
}

// seedExampleJSON is seed 000's ModelDeployerInput with every field, optional ones at the seed's
// defaults, as a training pipeline would send it.
const seedExampleJSON = `{
  "model_uri": "models:/fraud-detector/3",
  "experiment_id": "42",
  "validation_metrics": {"auc": 0.91, "precision": 0.88, "recall": 0.84},
  "success_criteria_met": true,
  "deployment_name": "fraud-detector",
  "shap_analysis_id": "shap-42-001",
  "target_environment": "staging",
  "resources": {"cpu": "2", "memory": "4Gi"},
  "max_batch_size": 100,
  "max_latency_ms": 100,
  "deployment_action": "deploy",
  "shadow_mode_duration_hours": 0,
  "shadow_mode_requests": 0,
  "shadow_mode_error_rate": 1.0,
  "shadow_mode_latency_p99_ms": 999
}`

// normalizeJSON decodes raw as the workflow's argument is decoded, then normalizes it.
func normalizeJSON(t *testing.T, raw string) (Request, error) {
	t.Helper()
	var in contract.Input
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatalf("json.Unmarshal must not fail (problems are kept for Normalize): %v", err)
	}
	return Normalize(in, config.DefaultPolicy())
}

func TestRequestSeedExampleJSON(t *testing.T) {
	r, err := normalizeJSON(t, seedExampleJSON)
	if err != nil {
		t.Fatal(err)
	}
	if r.ModelURI != "models:/fraud-detector/3" || r.ExperimentID != "42" || r.DeploymentName != "fraud-detector" ||
		r.ShapAnalysisID != "shap-42-001" || r.ModelName != "fraud-detector" || !*r.SuccessCriteriaMet {
		t.Errorf("required fields: %+v", r.Input)
	}
	if !reflect.DeepEqual(r.ValidationMetrics, map[string]float64{"auc": 0.91, "precision": 0.88, "recall": 0.84}) {
		t.Errorf("validation_metrics %v", r.ValidationMetrics)
	}
	// Every optional field carried the seed default, so the request equals the minimal one's.
	min, err := Normalize(minimalInput(), config.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	r.Input, min.Input = contract.Input{}, contract.Input{}
	r.ModelName, min.ModelName = "", ""
	if !reflect.DeepEqual(r, min) {
		t.Errorf("seed example normalized to\n%+v\nwant the defaults\n%+v", r, min)
	}
}

// TestRequestJSONRoundTrip: an Input marshals and decodes back to itself.
func TestRequestJSONRoundTrip(t *testing.T) {
	in := minimalInput()
	in.CanarySteps, in.ShadowHold, in.RequireApproval = []int{10, 100}, "48h", boolp(true)
	in.ValidationThresholds = map[string]contract.Threshold{"auc": {Min: floatp(0.8)}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back contract.Input
	if err := json.Unmarshal(b, &back); err != nil || back.DecodeError() != "" {
		t.Fatalf("decode %s: %v %q", b, err, back.DecodeError())
	}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, in)
	}
}

func TestRequestJSONDecodeErrors(t *testing.T) {
	withField := func(extra string) string {
		return `{"model_uri":"runs:/a/m","experiment_id":"42","validation_metrics":{"auc":0.9},` +
			`"success_criteria_met":true,"deployment_name":"fraud-detector",` + extra + `}`
	}
	cases := []struct{ name, raw, field string }{
		{"unknown field target_enviroment", withField(`"target_enviroment":"production"`), "target_enviroment"},
		{"wrong type max_batch_size", withField(`"max_batch_size":"lots"`), "max_batch_size"},
		{"wrong type before required fields", `{"model_uri":"runs:/a/m","max_batch_size":"lots"}`, "max_batch_size"},
		{"fractional max_batch_size", withField(`"max_batch_size":1.5`), "max_batch_size"},
		{"success_criteria_met as string", `{"model_uri":"runs:/a/m","success_criteria_met":"yes"}`, "success_criteria_met"},
		{"validation_metrics value as string", `{"validation_metrics":{"auc":"high"}}`, "validation_metrics"},
		{"validation_metrics as array", `{"validation_metrics":[0.9]}`, "validation_metrics"},
		{"resources value as number", withField(`"resources":{"cpu":2,"memory":"4Gi"}`), "resources"},
		{"canary_steps with a string", withField(`"canary_steps":[5,"x",100]`), "canary_steps"},
		{"require_approval as string", withField(`"require_approval":"false"`), "require_approval"},
		{"null input", `null`, "model_uri"},
		{"empty object", `{}`, "model_uri"},
		{"explicit null required field", `{"model_uri":"runs:/a/m","experiment_id":"42","validation_metrics":null}`, "validation_metrics"},
		{"resources empty object", withField(`"resources":{}`), "resources.cpu"},
		{"canary_steps empty array", withField(`"canary_steps":[]`), "canary_steps"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := normalizeJSON(t, tc.raw)
			wantInvalid(t, err, tc.field)
		})
	}
}

// TestRequestJSONDecodeErrorsDirect: bytes json.Unmarshal would refuse before UnmarshalJSON (a
// syntax error) are still kept and reported if a caller hands them to UnmarshalJSON itself.
func TestRequestJSONDecodeErrorsDirect(t *testing.T) {
	var in contract.Input
	if err := in.UnmarshalJSON([]byte(`{"model_uri":`)); err != nil {
		t.Fatalf("UnmarshalJSON failed: %v", err)
	}
	_, err := Normalize(in, config.DefaultPolicy())
	wantInvalid(t, err, "input")
}

// TestRequestJSONNotAnObject: the argument must be a JSON object.
func TestRequestJSONNotAnObject(t *testing.T) {
	for _, raw := range []string{`[1]`, `"deploy"`, `42`, `true`} {
		t.Run(raw, func(t *testing.T) {
			_, err := normalizeJSON(t, raw)
			wantInvalid(t, err, "input")
		})
	}
}

// TestP99ToleranceByVersion: the relative p99 bar's tolerance is 25 ms (or the input's) from gates
// version 5; runs before it replay with none.
func TestP99ToleranceByVersion(t *testing.T) {
	five := 5.0
	with := input()
	with.CanaryAnalysis = &contract.CanaryAnalysis{P99ToleranceMS: &five}
	for _, tc := range []struct {
		name    string
		in      contract.Input
		version workflow.Version
		want    float64
	}{
		{"default", input(), gatesLatest, 25},
		{"input", with, gatesLatest, 5},
		{"gates version 4 replays without", input(), gatesP99Tail, 0},
	} {
		r, err := normalizeAt(tc.in, config.DefaultPolicy(), tc.version)
		if err != nil || r.Analysis.P99ToleranceMS != tc.want {
			t.Errorf("%s: tolerance %g (%v), want %g", tc.name, r.Analysis.P99ToleranceMS, err, tc.want)
		}
	}
}

// anySchemePolicy lets runs name every scheme MLflow knows.
func anySchemePolicy() config.Policy {
	p := config.DefaultPolicy()
	p.ModelURISchemes = []string{"runs", "models", "mlflow-artifacts", "s3", "gs", "file", "dbfs", "https", "wasbs", "abfss", "hdfs"}
	return p
}
