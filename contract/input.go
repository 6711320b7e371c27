package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Input is the workflow's one JSON argument: seed 000's ModelDeployerInput plus project additions,
// each with a safe default. Pointer fields distinguish "absent" (default applies) from a zero value.
type Input struct {
	// Required.
	ModelURI           string             `json:"model_uri"`
	ExperimentID       string             `json:"experiment_id"`
	ValidationMetrics  map[string]float64 `json:"validation_metrics"`
	SuccessCriteriaMet *bool              `json:"success_criteria_met"`
	DeploymentName     string             `json:"deployment_name"`

	// Optional, seed 000 defaults.
	ShapAnalysisID          string            `json:"shap_analysis_id,omitempty"`
	TargetEnvironment       Environment       `json:"target_environment,omitempty"`
	Resources               map[string]string `json:"resources,omitempty"`
	MaxBatchSize            *int              `json:"max_batch_size,omitempty"`
	MaxLatencyMS            *int              `json:"max_latency_ms,omitempty"`
	DeploymentAction        Action            `json:"deployment_action,omitempty"`
	ShadowModeDurationHours *float64          `json:"shadow_mode_duration_hours,omitempty"`
	ShadowModeRequests      *int64            `json:"shadow_mode_requests,omitempty"`
	ShadowModeErrorRate     *float64          `json:"shadow_mode_error_rate,omitempty"`
	ShadowModeLatencyP99MS  *float64          `json:"shadow_mode_latency_p99_ms,omitempty"`

	// Project additions.
	// RegisteredModelName names the registry model a non-registry URI is registered under.
	// Defaults to deployment_name; with a models:/ URI it must match the URI's name if given.
	RegisteredModelName string `json:"registered_model_name,omitempty"`
	// ValidationThresholds: metric name → bounds the validation_metrics must meet (gate evidence).
	ValidationThresholds map[string]Threshold `json:"validation_thresholds,omitempty"`
	// ShadowHold is how long the shadow rung holds (Go duration, e.g. "24h"). Defaults to the
	// worker policy's default (24h) and may not be below the policy minimum (24h unless lowered).
	ShadowHold string `json:"shadow_hold,omitempty"`
	// ApprovalTimeout bounds the wait for `approve` before Production. Defaults to the policy's.
	ApprovalTimeout string `json:"approval_timeout,omitempty"`
	// RequireApproval: Production waits for `approve`. Defaults to true; false only if policy allows.
	RequireApproval *bool `json:"require_approval,omitempty"`
	// AllowedApprovers, if set, is the list of approvers whose `approve` counts.
	AllowedApprovers []string `json:"allowed_approvers,omitempty"`
	// CanarySteps are the production traffic weights in percent. Defaults to [5,20,50,100].
	CanarySteps []int `json:"canary_steps,omitempty"`
	// CanaryHold is the hold after each canary step. Defaults to the policy's.
	CanaryHold string `json:"canary_hold,omitempty"`
	// CanaryAnalysis tunes the analysis between canary steps; absent fields take safe defaults and
	// every bar is bounded by the worker's policy (tighter is fine, looser is refused).
	CanaryAnalysis *CanaryAnalysis `json:"canary_analysis,omitempty"`
	// RequestedBy names who asked for the run, for the evidence ledger. Defaults to "unknown".
	RequestedBy string `json:"requested_by,omitempty"`

	// decodeErr keeps a JSON decoding problem so the workflow can fail with InvalidInput naming the
	// field instead of failing its task forever.
	decodeErr string
}

// CanaryAnalysis are the analysis bars a request may set (see the README for defaults).
type CanaryAnalysis struct {
	MaxErrorRate         *float64 `json:"max_error_rate,omitempty"`
	MaxP99MS             *float64 `json:"max_p99_ms,omitempty"`
	MaxErrorRateIncrease *float64 `json:"max_error_rate_increase,omitempty"`
	MaxP99Ratio          *float64 `json:"max_p99_ratio,omitempty"`
	MinRequests          *float64 `json:"min_requests,omitempty"`
	MaxExtensions        *int     `json:"max_extensions,omitempty"`
	MaxSourceErrors      *int     `json:"max_source_errors,omitempty"`
	P99ToleranceMS       *float64 `json:"p99_tolerance_ms,omitempty"`
}

// Threshold bounds one validation metric; either side may be absent.
type Threshold struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// UnmarshalJSON decodes strictly (unknown fields and wrong types are errors) but never fails: the
// problem is kept and reported by Validate as InvalidInput naming the field.
func (in *Input) UnmarshalJSON(b []byte) error {
	type plain Input
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		*in = Input{decodeErr: describeDecodeError(err)}
		return nil
	}
	*in = Input(p)
	return nil
}

// plainField is a field name shown unquoted in errors.
var plainField = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func describeDecodeError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return fmt.Sprintf("input: expected a JSON object, got JSON %s", typeErr.Value)
		}
		return fmt.Sprintf("%s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, err := strconv.Unquote(f)
		if err != nil || !plainField.MatchString(name) {
			name = f // quoted as encoding/json gave it: an empty key or one with spaces stays readable
		}
		return fmt.Sprintf("%s: unknown field", name)
	}
	return "input: " + msg
}

// DecodeError reports a problem found while decoding the JSON input, if any.
func (in Input) DecodeError() string { return in.decodeErr }

// ApproveSignal is the payload of `approve`, sent as an Update (the caller learns at once whether
// it was accepted) or as a signal. From gates version 6 an approval is Token, a compact JWS over
// the approval claims (package approval, README "Approvals") signed by an approver's key in the
// worker's approver policy; Approver, if given, must be the token's subject. Runs started earlier
// take Approver as it is.
type ApproveSignal struct {
	Approver string `json:"approver,omitempty"`
	Comment  string `json:"comment,omitempty"`
	Token    string `json:"token,omitempty"`
}

// ApprovalBinding is what ties an approval to one run of one version for one environment: the
// claims an approver signs besides sub, iat, exp and comment (package approval, README "Approvals").
// A run waiting for approvals shows it in its status as approval_request.
type ApprovalBinding struct {
	WorkflowID     string `json:"workflow_id"`
	RunID          string `json:"run_id"`
	DeploymentName string `json:"deployment_name"`
	ModelName      string `json:"model_name"`
	ModelVersion   string `json:"model_version"`
	Environment    string `json:"environment"`
	Action         string `json:"action"`
}

// ApprovalResult is the `approve` Update's answer when the approval is accepted; a rejection is an
// Update failure of type ErrApprovalRejected whose message names the reason.
type ApprovalResult struct {
	Accepted  bool   `json:"accepted"`
	Approver  string `json:"approver"`
	Approvals int    `json:"approvals"` // distinct approvals accepted so far for the awaited environment
	Required  int    `json:"required"`  // how many the approver policy needs there
}

// ApprovalRecord is one accepted approval, as the status shows it.
type ApprovalRecord struct {
	Approver    string      `json:"approver"`
	Environment Environment `json:"environment"`
	Comment     string      `json:"comment,omitempty"`
	Via         string      `json:"via"` // update | signal
	IssuedAt    time.Time   `json:"issued_at"`
	At          time.Time   `json:"at"`
}

// AbortSignal is the `abort` signal's payload.
type AbortSignal struct {
	Reason      string `json:"reason"`
	RequestedBy string `json:"requested_by"`
}
