// Package contract holds TemporalDeployer's language-neutral contract: the names other services use
// (task queue, workflow type, signals, query, search attributes), the input and output JSON, and
// the stable error type strings callers branch on. Everything here is documented in the README.
package contract

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

const (
	// TaskQueue is the task queue the worker polls.
	TaskQueue = "model-deployments"
	// WorkflowType is the registered name of the deployment workflow.
	WorkflowType = "ModelDeployment"
	// SignalApprove carries an ApproveSignal, fire-and-forget.
	SignalApprove = "approve"
	// UpdateApprove carries an ApproveSignal and answers an ApprovalResult, or fails with
	// ErrApprovalRejected naming why.
	UpdateApprove = "approve"
	// SignalAbort carries an AbortSignal.
	SignalAbort = "abort"
	// QueryStatus returns a Status.
	QueryStatus = "status"
	// WaitingForApproval is Status.WaitingFor while a run waits for approvals.
	WaitingForApproval = "approval"
)

// Search attributes (Keyword) kept current by the workflow.
var (
	SADeploymentName    = temporal.NewSearchAttributeKeyKeyword("DeploymentName")
	SAModelVersion      = temporal.NewSearchAttributeKeyKeyword("ModelVersion")
	SATargetEnvironment = temporal.NewSearchAttributeKeyKeyword("TargetEnvironment")
	SADeploymentStage   = temporal.NewSearchAttributeKeyKeyword("DeploymentStage")
)

// SearchAttributeNames lists every search attribute the workflow upserts, for registering them.
var SearchAttributeNames = []string{"DeploymentName", "ModelVersion", "TargetEnvironment", "DeploymentStage"}

// Error types carried by ApplicationErrors; stable, so callers in any language can branch on them.
const (
	ErrInvalidInput          = "InvalidInput"
	ErrSuccessCriteriaNotMet = "SuccessCriteriaNotMet"
	ErrPromotionDenied       = "PromotionDenied"
	ErrShadowCriteriaNotMet  = "ShadowCriteriaNotMet"
	ErrApprovalTimeout       = "ApprovalTimeout"
	ErrAborted               = "Aborted"
	ErrHealthCheckFailed     = "HealthCheckFailed"
	ErrConcurrentDeployment  = "ConcurrentDeployment"
	// ErrBackendNotConfigured: the run needs a backend (packager, cluster) the worker was not given.
	ErrBackendNotConfigured = "BackendNotConfigured"
	// ErrModelNotFound: the model URI or registry version does not resolve.
	ErrModelNotFound = "ModelNotFound"
	// ErrRegistryRejected: the model registry refused a request (4xx) for a reason other than not-found.
	ErrRegistryRejected = "RegistryRejected"
	// ErrNoKnownGood: a rollback found no earlier healthy deployment to restore.
	ErrNoKnownGood = "NoKnownGood"
	// ErrRolloutFailed: the cluster did not complete a rollout (progress deadline, refused manifest).
	ErrRolloutFailed = "RolloutFailed"
	// ErrUnsupportedModel: the model cannot be packaged: it has no python_function flavour, or the
	// registry version's source is not an MLflow model.
	ErrUnsupportedModel = "UnsupportedModel"
	// ErrArtifactRejected: the OCI registry refused the artifact (401/403/denied, another 4xx), or
	// its tag already holds an image built from a different model (tags are never overwritten).
	ErrArtifactRejected = "ArtifactRejected"
	// ErrAnalysisFailed: the canary analysis judged the canary worse than allowed (or could not judge it
	// within its limits); the canary was rolled back. The message carries the numbers.
	ErrAnalysisFailed = "AnalysisFailed"
	// ErrApprovalRejected: an `approve` Update was not accepted (its message starts with the reason
	// code: unsigned, bad_signature, wrong_run, self_approval, …). The run goes on waiting.
	ErrApprovalRejected = "ApprovalRejected"
	// ErrCompensationFailed: the run failed and undoing what it changed did not finish within the
	// policy's compensation timeout (or hit a refusal retrying cannot fix). The message names the
	// first failure and the compensation's; what the environment runs needs an operator.
	ErrCompensationFailed = "CompensationFailed"
	// ErrDriftDetected: the shadow's live inputs drifted from the model's reference profile (a
	// feature's PSI above the policy's threshold, seed 003's R11), or could not be judged where the
	// policy needs them judged. The message names the features and their PSI; the ledger has them all.
	ErrDriftDetected = "DriftDetected"
)

// NewError returns a non-retryable ApplicationError with one of the contract's type strings.
func NewError(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}
