package workflows

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// MaxDeploymentNameLen leaves room for the suffixes Kubernetes names get ("-production-canary" and
// a hash) inside the 63-character DNS-1123 label limit.
const MaxDeploymentNameLen = 40

var (
	dns1123Label   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1035Label   = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`) // from gates version 4: Service names need it
	bentoNamePart  = regexp.MustCompile(`^[a-z0-9]([-._a-z0-9]*[a-z0-9])?$`)
	modelURIScheme = regexp.MustCompile(`^(runs:/|models:/|mlflow-artifacts:/|file://|/|s3://|gs://|wasbs://|abfss://|hdfs://|dbfs:/|https?://)`)
)

// Request is an Input with every default applied and every field checked.
type Request struct {
	contract.Input
	ModelName       string
	Environment     contract.Environment
	Action          contract.Action
	Resources       map[string]string
	MaxBatchSize    int
	MaxLatencyMS    int
	ShadowHold      time.Duration
	ApprovalTimeout time.Duration
	RequireApproval bool
	CanarySteps     []int
	CanaryHold      time.Duration
	RequestedBy     string
	Shadow          rules.ShadowEvidence
	// CallerShadow says the input carried shadow_mode_* values of its own (not the defaults).
	CallerShadow bool
	Analysis     rules.AnalysisCriteria
}

// Normalize checks an input against the contract and the policy and applies defaults. Its error
// is an InvalidInput ApplicationError naming the first bad field.
func Normalize(in contract.Input, p config.Policy) (Request, error) {
	return normalizeAt(in, p, gatesLatest)
}

// normalizeAt normalizes as the workflow version in force does: runs started before the gates were
// measured replay without the evidence and canary bounds, which their recorded policy lacks.
func normalizeAt(in contract.Input, p config.Policy, version workflow.Version) (Request, error) {
	r, field, msg := normalize(in, p)
	if field == "" && version >= gatesP99Tail && !dns1035Label.MatchString(in.DeploymentName) {
		field, msg = "deployment_name", fmt.Sprintf("%q must start with a letter: it names Kubernetes Services (DNS-1035 labels)", in.DeploymentName)
	}
	if field == "" && version >= gatesInputReach {
		field, msg = checkModelReach(in.ModelURI, p.ModelURISchemes)
	}
	if field == "" && version >= gatesMeasured {
		field, msg = r.applyGates(in, p)
	}
	if field == "" && version >= gatesApprovalsSigned {
		field, msg = approversSuffice(p.Approvals, r)
	}
	if field == "" && version < gatesRungLocks {
		r.Analysis.P99ToleranceMS = 0 // runs before it judged the relative p99 bar without one
	}
	if field != "" {
		return Request{}, contract.NewError(contract.ErrInvalidInput, "%s: %s", field, msg)
	}
	return r, nil
}

// approversSuffice checks the approvers a run leaves: allowed_approvers may only narrow the
// worker's approver policy (for the target environment), and in every environment with a rule the
// run may wait in — the target, and for a deploy or promote the rungs below it — what is left
// (less the requester, unless the rule lets them approve their own run) must be enough for the
// rule, or the run could wait there with no one able to approve it.
func approversSuffice(p approval.Policy, r Request) (field, msg string) {
	target := string(r.Environment)
	if i, m := p.Narrow(target, r.AllowedApprovers); i >= 0 {
		field = fmt.Sprintf("allowed_approvers[%d]", i)
		return field, strings.TrimPrefix(m, field+": ") + " (allowed_approvers may only narrow the worker's approver policy)"
	}
	if !r.RequireApproval {
		return "", ""
	}
	for _, env := range approvalEnvironments(r) {
		rule, ok := p.Rule(env)
		if !ok {
			continue
		}
		if left := p.Left(env, r.RequestedBy, r.AllowedApprovers); len(left) < rule.Required {
			field = "requested_by"
			if len(r.AllowedApprovers) > 0 {
				field = "allowed_approvers"
			}
			return field, fmt.Sprintf("leaves %d approver(s) for %s %v (the requester %q may not approve their own run), "+
				"and %s needs %d: the run could never be approved there", len(left), env, left, r.RequestedBy, env, rule.Required)
		}
	}
	return "", ""
}

// approvalEnvironments are the environments a run may wait for approvals in: a rollback its
// target only, a deploy or promote its target and the rungs below it.
func approvalEnvironments(r Request) []string {
	if r.Action == contract.ActionRollback {
		return []string{string(r.Environment)}
	}
	var envs []string
	for _, e := range []contract.Environment{contract.EnvStaging, contract.EnvShadow, contract.EnvProduction} {
		envs = append(envs, string(e))
		if e == r.Environment {
			break
		}
	}
	return envs
}

func normalize(in contract.Input, p config.Policy) (r Request, field, msg string) {
	if e := in.DecodeError(); e != "" {
		f, m, _ := strings.Cut(e, ": ")
		if f == "" {
			f = "input"
		}
		return r, f, m
	}
	r = Request{Input: in}
	if f, m := checkRequired(in); f != "" {
		return r, f, m
	}
	r.ModelName = in.RegisteredModelName
	if uriName, ok := registryURIName(in.ModelURI); ok {
		r.ModelName = uriName
	}
	if r.ModelName == "" {
		r.ModelName = in.DeploymentName
	}
	if f, m := checkModelName(in, r.ModelName); f != "" {
		return r, f, m
	}
	r.Environment = in.TargetEnvironment
	if r.Environment == "" {
		r.Environment = contract.EnvStaging
	}
	if r.Environment.Stage() == "" {
		return r, "target_environment", fmt.Sprintf("%q is not one of staging, shadow, production", in.TargetEnvironment)
	}
	r.Action = in.DeploymentAction
	if r.Action == "" {
		r.Action = contract.ActionDeploy
	}
	switch r.Action {
	case contract.ActionDeploy, contract.ActionPromote, contract.ActionRollback:
	default:
		return r, "deployment_action", fmt.Sprintf("%q is not one of deploy, promote, rollback", in.DeploymentAction)
	}
	if f, m := r.applySizes(in); f != "" {
		return r, f, m
	}
	if f, m := r.applyShadow(in); f != "" {
		return r, f, m
	}
	if f, m := r.applyRollout(in, p); f != "" {
		return r, f, m
	}
	return r, "", ""
}

func checkRequired(in contract.Input) (string, string) {
	switch {
	case strings.TrimSpace(in.ModelURI) == "":
		return "model_uri", "is required"
	case !modelURIScheme.MatchString(in.ModelURI):
		return "model_uri", fmt.Sprintf("%q is not a model URI (runs:/, models:/, mlflow-artifacts:/, file://, s3://, …)", in.ModelURI)
	case in.ExperimentID == "":
		return "experiment_id", "is required"
	case !bentoNamePart.MatchString(in.ExperimentID) || len(in.ExperimentID) > 63:
		return "experiment_id", fmt.Sprintf("%q must be lowercase letters, digits, '-', '_' or '.' (it becomes part of the bento tag)", in.ExperimentID)
	case in.ValidationMetrics == nil:
		return "validation_metrics", "is required (an object of metric name to number)"
	case in.SuccessCriteriaMet == nil:
		return "success_criteria_met", "is required (true or false)"
	case in.DeploymentName == "":
		return "deployment_name", "is required"
	case len(in.DeploymentName) > MaxDeploymentNameLen:
		return "deployment_name", fmt.Sprintf("%q is %d characters; at most %d leave room for Kubernetes name suffixes", in.DeploymentName, len(in.DeploymentName), MaxDeploymentNameLen)
	case !dns1123Label.MatchString(in.DeploymentName):
		return "deployment_name", fmt.Sprintf("%q is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter and ending with a letter or digit; Service names need it)", in.DeploymentName)
	}
	for name, v := range in.ValidationMetrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "validation_metrics." + name, "is not a finite number"
		}
	}
	for name, th := range in.ValidationThresholds {
		if th.Min == nil && th.Max == nil {
			return "validation_thresholds." + name, "needs min or max"
		}
		if th.Min != nil && th.Max != nil && *th.Min > *th.Max {
			return "validation_thresholds." + name, "min is above max"
		}
	}
	return "", ""
}

// checkModelName: a models:/ URI names its registered model; a registered_model_name must agree.
func checkModelName(in contract.Input, name string) (string, string) {
	if uriName, ok := registryURIName(in.ModelURI); ok {
		if uriName == "" {
			return "model_uri", fmt.Sprintf("%q names no registered model", in.ModelURI)
		}
		if in.RegisteredModelName != "" && in.RegisteredModelName != uriName {
			return "registered_model_name", fmt.Sprintf("%q disagrees with model_uri's model %q", in.RegisteredModelName, uriName)
		}
		return "", ""
	}
	if strings.ContainsAny(name, "/@:") || strings.TrimSpace(name) == "" {
		return "registered_model_name", fmt.Sprintf("%q may not contain '/', '@' or ':'", name)
	}
	return "", ""
}

// registryURIName returns the model name of a models:/<name>/<version> or models:/<name>@<alias>
// URI. MLflow 3 logged-model URIs (models:/m-<id>) name no registered model.
func registryURIName(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "models:/")
	if !ok {
		return "", false
	}
	if name, _, ok := strings.Cut(rest, "@"); ok {
		return name, true
	}
	if name, _, ok := strings.Cut(rest, "/"); ok {
		return name, true
	}
	return "", false
}

func (r *Request) applySizes(in contract.Input) (string, string) {
	r.Resources = map[string]string{"cpu": "2", "memory": "4Gi"}
	if in.Resources != nil {
		r.Resources = map[string]string{}
		for k, v := range in.Resources {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return "resources." + k, fmt.Sprintf("%q is not a Kubernetes quantity", v)
			}
			if q.Sign() <= 0 {
				return "resources." + k, fmt.Sprintf("%q must be positive", v)
			}
			r.Resources[k] = v
		}
		for _, k := range []string{"cpu", "memory"} {
			if _, ok := r.Resources[k]; !ok {
				return "resources." + k, "is required when resources is given"
			}
		}
	}
	r.MaxBatchSize, r.MaxLatencyMS = 100, 100
	if in.MaxBatchSize != nil {
		if *in.MaxBatchSize < 1 {
			return "max_batch_size", fmt.Sprintf("%d must be at least 1", *in.MaxBatchSize)
		}
		r.MaxBatchSize = *in.MaxBatchSize
	}
	if in.MaxLatencyMS != nil {
		if *in.MaxLatencyMS < 1 {
			return "max_latency_ms", fmt.Sprintf("%d must be at least 1", *in.MaxLatencyMS)
		}
		r.MaxLatencyMS = *in.MaxLatencyMS
	}
	return "", ""
}

func (r *Request) applyShadow(in contract.Input) (string, string) {
	r.Shadow = rules.ShadowEvidence{ErrorRate: 1.0, LatencyP99MS: 999, Source: contract.SourceCallerSupplied}
	if v := in.ShadowModeDurationHours; v != nil {
		if *v < 0 || math.IsNaN(*v) {
			return "shadow_mode_duration_hours", "must not be negative"
		}
		r.Shadow.DurationHours = *v
	}
	if v := in.ShadowModeRequests; v != nil {
		if *v < 0 {
			return "shadow_mode_requests", "must not be negative"
		}
		r.Shadow.Requests = *v
	}
	if v := in.ShadowModeErrorRate; v != nil {
		if *v < 0 || *v > 1 || math.IsNaN(*v) {
			return "shadow_mode_error_rate", "must be within 0..1"
		}
		r.Shadow.ErrorRate = *v
	}
	if v := in.ShadowModeLatencyP99MS; v != nil {
		if *v < 0 || math.IsNaN(*v) {
			return "shadow_mode_latency_p99_ms", "must not be negative"
		}
		r.Shadow.LatencyP99MS = *v
	}
	return "", ""
}

func (r *Request) applyRollout(in contract.Input, p config.Policy) (string, string) {
	var msg string
	if r.ShadowHold, msg = duration(in.ShadowHold, p.ShadowHoldDefault, p.ShadowHoldMin, p.ShadowHoldMax); msg != "" {
		return "shadow_hold", msg
	}
	if r.ApprovalTimeout, msg = duration(in.ApprovalTimeout, p.ApprovalTimeoutDefault, time.Second, p.ApprovalTimeoutMax); msg != "" {
		return "approval_timeout", msg
	}
	if r.CanaryHold, msg = duration(in.CanaryHold, p.CanaryHoldDefault, p.CanaryHoldMin, 0); msg != "" { // its maximum: applyGates
		return "canary_hold", msg
	}
	r.RequireApproval = in.RequireApproval == nil || *in.RequireApproval
	if !r.RequireApproval && !p.AllowApprovalWaiver {
		return "require_approval", "false is not allowed by this worker's policy (DEPLOYER_ALLOW_APPROVAL_WAIVER)"
	}
	for i, a := range in.AllowedApprovers {
		if strings.TrimSpace(a) == "" {
			return fmt.Sprintf("allowed_approvers[%d]", i), "is empty"
		}
	}
	r.CanarySteps = rules.DefaultCanarySteps()
	if in.CanarySteps != nil {
		if err := rules.CheckCanarySteps(in.CanarySteps); err != nil {
			return "canary_steps", err.Error()
		}
		r.CanarySteps = append([]int(nil), in.CanarySteps...)
	}
	r.RequestedBy = in.RequestedBy
	if r.RequestedBy == "" {
		r.RequestedBy = "unknown"
	}
	return "", ""
}

// duration parses an input duration against the policy: def when empty, at least min, at most
// max (a hold or wait holds the environment's lock; 0 is no maximum, as policies recorded before
// maxima existed replay).
func duration(s string, def, min, max time.Duration) (time.Duration, string) {
	if s == "" {
		return def, ""
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a duration like \"24h\" or \"90m\"", s)
	}
	if d < min {
		return 0, fmt.Sprintf("%s is below the policy minimum %s", d, min)
	}
	if max > 0 && d > max {
		return 0, fmt.Sprintf("%s is above the policy maximum %s", d, max)
	}
	return d, ""
}
