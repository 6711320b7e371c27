package contract

import "time"

// Output is seed 000's ModelDeployerOutput.
type Output struct {
	DeploymentManifest   DeploymentManifest `json:"deployment_manifest"`
	VersionRecord        VersionRecord      `json:"version_record"`
	BentoMLTag           string             `json:"bentoml_tag"`
	DeploymentSuccessful bool               `json:"deployment_successful"`
	HealthCheckPassed    bool               `json:"health_check_passed"`
	RollbackAvailable    bool               `json:"rollback_available"`
	Status               string             `json:"status"`
}

// DeploymentManifest describes what was deployed where.
type DeploymentManifest struct {
	DeploymentID   string            `json:"deployment_id"`
	ExperimentID   string            `json:"experiment_id"`
	ModelVersion   string            `json:"model_version"`
	Environment    Environment       `json:"environment"`
	EndpointURL    string            `json:"endpoint_url"`
	Resources      map[string]string `json:"resources"`
	Status         string            `json:"status"`
	DeployedAt     *time.Time        `json:"deployed_at"`
	HealthCheckURL string            `json:"health_check_url"`
	MetricsURL     string            `json:"metrics_url"`
	// Image is the digest-pinned artifact deployed (project addition).
	Image string `json:"image,omitempty"`
}

// VersionRecord is the registry version the run acted on.
type VersionRecord struct {
	RegisteredModelName string `json:"registered_model_name"`
	Version             string `json:"version"`
	Stage               Stage  `json:"stage"`
	Description         string `json:"description"`
}

// Output.Status values.
const (
	StatusPromoted   = "promoted"
	StatusDeployed   = "deployed"
	StatusRolledBack = "rolled_back"
)

// Status is the `status` query's answer.
type Status struct {
	WorkflowID   string         `json:"workflow_id"`
	Action       Action         `json:"action"`
	Node         string         `json:"node"`
	Stage        Stage          `json:"stage"`
	Environment  Environment    `json:"environment"`
	ModelVersion string         `json:"model_version,omitempty"`
	CanaryWeight int            `json:"canary_weight"`
	WaitingFor   string         `json:"waiting_for,omitempty"`
	WaitingUntil *time.Time     `json:"waiting_until,omitempty"`
	Approval     *ApproveSignal `json:"approval,omitempty"`
	Abort        *AbortSignal   `json:"abort,omitempty"`
	Nodes        []NodeOutcome  `json:"nodes"`
	// IgnoredSignals counts the signals the run ignored (not awaited, not allowed, undecodable,
	// repeated) and the approvals it rejected; the first 20 are also in Nodes.
	IgnoredSignals int `json:"ignored_signals,omitempty"`
	// ApprovalRequest, while the run waits for approvals, is what an approval must be bound to:
	// the claims an approver signs besides sub, iat, exp and comment.
	ApprovalRequest   *ApprovalBinding `json:"approval_request,omitempty"`
	ApprovalsRequired int              `json:"approvals_required,omitempty"`
	Approvals         []ApprovalRecord `json:"approvals,omitempty"` // accepted, every environment
	RejectedApprovals int              `json:"rejected_approvals,omitempty"`
	// Compensation, once a failed run undoes what it changed: "running since <time>, until <time>",
	// "done", or "failed: <why>; needs an operator".
	Compensation string `json:"compensation,omitempty"`
}

// NodeOutcome is one node's result so far.
type NodeOutcome struct {
	Node    string    `json:"node"`
	Rung    Stage     `json:"rung,omitempty"`
	Outcome string    `json:"outcome"` // ok | skipped | failed | denied | aborted
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}
