package workflows

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

type invalidCase struct {
	name   string
	field  string // the message must start with "field: "
	mut    func(*contract.Input)
	policy func(*config.Policy) // nil: the default policy
	bug    string               // non-empty: known bug; an acceptance skips with this reason
}

func intp(v int) *int           { return &v }
func int64p(v int64) *int64     { return &v }
func boolp(v bool) *bool        { return &v }
func floatp(v float64) *float64 { return &v }

func invalidInputs() []invalidCase {
	th := func(min, max *float64) map[string]contract.Threshold {
		return map[string]contract.Threshold{"auc": {Min: min, Max: max}}
	}
	return []invalidCase{
		// Required fields.
		{"model_uri missing", "model_uri", func(in *contract.Input) { in.ModelURI = "" }, nil, ""},
		{"model_uri blank", "model_uri", func(in *contract.Input) { in.ModelURI = "   " }, nil, ""},
		{"experiment_id missing", "experiment_id", func(in *contract.Input) { in.ExperimentID = "" }, nil, ""},
		{"validation_metrics missing", "validation_metrics", func(in *contract.Input) { in.ValidationMetrics = nil }, nil, ""},
		{"success_criteria_met missing", "success_criteria_met", func(in *contract.Input) { in.SuccessCriteriaMet = nil }, nil, ""},
		{"deployment_name missing", "deployment_name", func(in *contract.Input) { in.DeploymentName = "" }, nil, ""},
		// model_uri.
		{"model_uri ftp scheme", "model_uri", func(in *contract.Input) { in.ModelURI = "ftp://host/model" }, nil, ""},
		{"model_uri bare run id", "model_uri", func(in *contract.Input) { in.ModelURI = "abc123" }, nil, ""},
		{"model_uri leading space", "model_uri", func(in *contract.Input) { in.ModelURI = " runs:/abc/model" }, nil, ""},
		// experiment_id becomes part of the bento tag.
		{"experiment_id uppercase", "experiment_id", func(in *contract.Input) { in.ExperimentID = "Exp42" }, nil, ""},
		{"experiment_id with space", "experiment_id", func(in *contract.Input) { in.ExperimentID = "4 2" }, nil, ""},
		{"experiment_id leading dash", "experiment_id", func(in *contract.Input) { in.ExperimentID = "-42" }, nil, ""},
		{"experiment_id with colon", "experiment_id", func(in *contract.Input) { in.ExperimentID = "42:1" }, nil, ""},
		{"experiment_id 64 chars", "experiment_id", func(in *contract.Input) { in.ExperimentID = strings.Repeat("4", 64) }, nil, ""},
		// deployment_name is a DNS-1123 label with room for suffixes.
		{"deployment_name uppercase", "deployment_name", func(in *contract.Input) { in.DeploymentName = "Fraud-Detector" }, nil, ""},
		{"deployment_name underscore", "deployment_name", func(in *contract.Input) { in.DeploymentName = "fraud_detector" }, nil, ""},
		{"deployment_name leading dash", "deployment_name", func(in *contract.Input) { in.DeploymentName = "-fraud" }, nil, ""},
		// found by FuzzNormalize: its Services would be no DNS-1035 labels
		{"deployment_name leading digit", "deployment_name", func(in *contract.Input) { in.DeploymentName = "9fraud" }, nil, ""},
		{"deployment_name trailing dash", "deployment_name", func(in *contract.Input) { in.DeploymentName = "fraud-" }, nil, ""},
		{"deployment_name dot", "deployment_name", func(in *contract.Input) { in.DeploymentName = "fraud.detector" }, nil, ""},
		{"deployment_name 41 chars", "deployment_name", func(in *contract.Input) { in.DeploymentName = strings.Repeat("a", 41) }, nil, ""},
		// Metrics and thresholds.
		{"validation_metrics NaN", "validation_metrics.auc", func(in *contract.Input) { in.ValidationMetrics["auc"] = math.NaN() }, nil, ""},
		{"validation_metrics +Inf", "validation_metrics.auc", func(in *contract.Input) { in.ValidationMetrics["auc"] = math.Inf(1) }, nil, ""},
		{"threshold with neither min nor max", "validation_thresholds.auc", func(in *contract.Input) { in.ValidationThresholds = th(nil, nil) }, nil, ""},
		{"threshold min above max", "validation_thresholds.auc", func(in *contract.Input) { in.ValidationThresholds = th(floatp(0.9), floatp(0.8)) }, nil, ""},
		// Model name.
		{"registered_model_name disagrees with models:/ URI", "registered_model_name", func(in *contract.Input) {
			in.ModelURI, in.RegisteredModelName = "models:/fraud-model/3", "other-model"
		}, nil, ""},
		{"registered_model_name disagrees with models:/@alias URI", "registered_model_name", func(in *contract.Input) {
			in.ModelURI, in.RegisteredModelName = "models:/fraud-model@champion", "other-model"
		}, nil, ""},
		{"registered_model_name with slash", "registered_model_name", func(in *contract.Input) { in.RegisteredModelName = "team/model" }, nil, ""},
		{"registered_model_name with @", "registered_model_name", func(in *contract.Input) { in.RegisteredModelName = "model@prod" }, nil, ""},
		{"models:/ URI with empty model name", "model_uri", func(in *contract.Input) { in.ModelURI = "models:/@champion" }, nil,
			"a models:/@alias URI with an empty model name is accepted and the model name silently falls back to deployment_name"},
		// Environment and action.
		{"target_environment prod", "target_environment", func(in *contract.Input) { in.TargetEnvironment = "prod" }, nil, ""},
		{"target_environment capitalised", "target_environment", func(in *contract.Input) { in.TargetEnvironment = "Production" }, nil, ""},
		{"deployment_action yolo", "deployment_action", func(in *contract.Input) { in.DeploymentAction = "yolo" }, nil, ""},
		// Sizes.
		{"resources.cpu lots", "resources.cpu", func(in *contract.Input) { in.Resources = map[string]string{"cpu": "lots", "memory": "4Gi"} }, nil, ""},
		{"resources.memory -1Gi", "resources.memory", func(in *contract.Input) { in.Resources = map[string]string{"cpu": "2", "memory": "-1Gi"} }, nil, ""},
		{"resources.cpu 0", "resources.cpu", func(in *contract.Input) { in.Resources = map[string]string{"cpu": "0", "memory": "4Gi"} }, nil, ""},
		{"resources missing memory", "resources.memory", func(in *contract.Input) { in.Resources = map[string]string{"cpu": "2"} }, nil, ""},
		{"resources missing cpu", "resources.cpu", func(in *contract.Input) { in.Resources = map[string]string{"memory": "4Gi"} }, nil, ""},
		{"max_batch_size 0", "max_batch_size", func(in *contract.Input) { in.MaxBatchSize = intp(0) }, nil, ""},
		{"max_batch_size -1", "max_batch_size", func(in *contract.Input) { in.MaxBatchSize = intp(-1) }, nil, ""},
		{"max_latency_ms -5", "max_latency_ms", func(in *contract.Input) { in.MaxLatencyMS = intp(-5) }, nil, ""},
		{"max_latency_ms 0", "max_latency_ms", func(in *contract.Input) { in.MaxLatencyMS = intp(0) }, nil, ""},
		// Shadow evidence.
		{"shadow_mode_error_rate 1.5", "shadow_mode_error_rate", func(in *contract.Input) { in.ShadowModeErrorRate = floatp(1.5) }, nil, ""},
		{"shadow_mode_error_rate -0.1", "shadow_mode_error_rate", func(in *contract.Input) { in.ShadowModeErrorRate = floatp(-0.1) }, nil, ""},
		{"shadow_mode_error_rate NaN", "shadow_mode_error_rate", func(in *contract.Input) { in.ShadowModeErrorRate = floatp(math.NaN()) }, nil, ""},
		{"shadow_mode_requests -1", "shadow_mode_requests", func(in *contract.Input) { in.ShadowModeRequests = int64p(-1) }, nil, ""},
		{"shadow_mode_duration_hours -1", "shadow_mode_duration_hours", func(in *contract.Input) { in.ShadowModeDurationHours = floatp(-1) }, nil, ""},
		{"shadow_mode_duration_hours NaN", "shadow_mode_duration_hours", func(in *contract.Input) { in.ShadowModeDurationHours = floatp(math.NaN()) }, nil, ""},
		{"shadow_mode_latency_p99_ms -1", "shadow_mode_latency_p99_ms", func(in *contract.Input) { in.ShadowModeLatencyP99MS = floatp(-1) }, nil, ""},
		// Holds and timeouts.
		{"shadow_hold 1h below policy minimum", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "1h" }, nil, ""},
		{"shadow_hold just below 24h", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "23h59m59s" }, nil, ""},
		{"shadow_hold 2h under the default minimum", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "2h" }, nil, ""},
		{"shadow_hold 30m under a lowered 1h minimum", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "30m" },
			func(p *config.Policy) { p.ShadowHoldMin = time.Hour }, ""},
		{"shadow_hold soon", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "soon" }, nil, ""},
		// A hold or a wait holds the environment's lock: the policy bounds them.
		{"shadow_hold above the 7-day maximum", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "168h1s" }, nil, ""},
		{"shadow_hold of ten years", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "87600h" }, nil, ""},
		{"approval_timeout above the 7-day maximum", "approval_timeout", func(in *contract.Input) { in.ApprovalTimeout = "169h" }, nil, ""},
		{"approval_timeout above a lowered maximum", "approval_timeout", func(in *contract.Input) { in.ApprovalTimeout = "5h" },
			func(p *config.Policy) { p.ApprovalTimeoutMax = 4 * time.Hour; p.ApprovalTimeoutDefault = time.Hour }, ""},
		{"shadow_hold without unit", "shadow_hold", func(in *contract.Input) { in.ShadowHold = "24" }, nil, ""},
		{"canary_hold 10s below 1m", "canary_hold", func(in *contract.Input) { in.CanaryHold = "10s" }, nil, ""},
		{"canary_hold garbage", "canary_hold", func(in *contract.Input) { in.CanaryHold = "ten minutes" }, nil, ""},
		{"approval_timeout x", "approval_timeout", func(in *contract.Input) { in.ApprovalTimeout = "x" }, nil, ""},
		{"approval_timeout 0s", "approval_timeout", func(in *contract.Input) { in.ApprovalTimeout = "0s" }, nil, ""},
		{"approval_timeout negative", "approval_timeout", func(in *contract.Input) { in.ApprovalTimeout = "-1h" }, nil, ""},
		// Approval and rollout.
		{"require_approval false without waiver", "require_approval", func(in *contract.Input) { in.RequireApproval = boolp(false) }, nil, ""},
		{"allowed_approvers empty entry", "allowed_approvers[1]", func(in *contract.Input) { in.AllowedApprovers = []string{"alice@example.com", ""} }, nil, ""},
		{"allowed_approvers blank entry", "allowed_approvers[0]", func(in *contract.Input) { in.AllowedApprovers = []string{"  "} }, nil, ""},
		{"canary_steps duplicate", "canary_steps", func(in *contract.Input) { in.CanarySteps = []int{5, 5, 100} }, nil, ""},
		{"canary_steps empty", "canary_steps", func(in *contract.Input) { in.CanarySteps = []int{} }, nil, ""},
		{"canary_steps not ending at 100", "canary_steps", func(in *contract.Input) { in.CanarySteps = []int{5, 20, 50} }, nil, ""},
		{"canary_steps above 100", "canary_steps", func(in *contract.Input) { in.CanarySteps = []int{50, 150} }, nil, ""},
		// The model's reach: the registry's own schemes by default, never credentials or a query.
		{"model_uri file:// by default", "model_uri", func(in *contract.Input) { in.ModelURI = "file:///etc/models/m" }, nil, ""},
		{"model_uri bare path by default", "model_uri", func(in *contract.Input) { in.ModelURI = "/etc/models/m" }, nil, ""},
		{"model_uri https by default", "model_uri", func(in *contract.Input) { in.ModelURI = "https://attacker.example/m" }, nil, ""},
		{"model_uri s3 by default", "model_uri", func(in *contract.Input) { in.ModelURI = "s3://bucket/m" }, nil, ""},
		{"model_uri HTTP in capitals", "model_uri", func(in *contract.Input) { in.ModelURI = "HTTP://h/m" }, nil, ""},
		{"model_uri with a query", "model_uri", func(in *contract.Input) { in.ModelURI = "runs:/abc/model?token=secret" }, nil, ""},
		{"model_uri with a fragment", "model_uri", func(in *contract.Input) { in.ModelURI = "models:/fraud-detector/1#x" }, nil, ""},
		{"model_uri with credentials, s3 allowed", "model_uri", func(in *contract.Input) { in.ModelURI = "s3://key:secret@bucket/m" },
			func(p *config.Policy) { p.ModelURISchemes = append(p.ModelURISchemes, "s3") }, ""},
		{"model_uri with a user, https allowed", "model_uri", func(in *contract.Input) { in.ModelURI = "https://user@h/m" },
			func(p *config.Policy) { p.ModelURISchemes = append(p.ModelURISchemes, "https") }, ""},
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, tc := range invalidInputs() {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInput()
			tc.mut(&in)
			p := config.DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			r, err := Normalize(in, p)
			wantInvalid(t, err, tc.field)
			if r.ModelURI != "" || r.Environment != "" || r.CanarySteps != nil {
				t.Errorf("a rejected input still returned a request: %+v", r)
			}
		})
	}
}

// TestNormalizeRequiredFieldOrder: with every required field missing, the first is named.
func TestNormalizeRequiredFieldOrder(t *testing.T) {
	_, err := Normalize(contract.Input{}, config.DefaultPolicy())
	wantInvalid(t, err, "model_uri")
}
