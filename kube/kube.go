// Package kube deploys packaged models to Kubernetes. The real backend (client-go, server-side
// apply) arrives with the Kubernetes issue; until then a worker has no cluster and runs that need
// one fail with BackendNotConfigured.
package kube

import "context"

// Role is a workload's part in an environment.
type Role string

const (
	RoleStable Role = "stable"
	RoleCanary Role = "canary"
	RoleShadow Role = "shadow"
)

// Spec is what to run.
type Spec struct {
	DeploymentName string            `json:"deployment_name"`
	Environment    string            `json:"environment"`
	Role           Role              `json:"role"`
	Image          string            `json:"image"`
	ModelName      string            `json:"model_name"`
	ModelVersion   string            `json:"model_version"`
	Stage          string            `json:"stage"`
	DeploymentID   string            `json:"deployment_id"`
	WorkflowID     string            `json:"workflow_id"`
	Resources      map[string]string `json:"resources"`
	MaxBatchSize   int               `json:"max_batch_size"`
	MaxLatencyMS   int               `json:"max_latency_ms"`
	Scaling        Scaling           `json:"scaling"`
	// Env is given to the model server; a credential must come as a Secret reference (seed 003 R2).
	Env  []EnvVar `json:"env,omitempty"`
	Args []string `json:"args,omitempty"`
}

// Scaling is an environment's replica and autoscaling settings (seed 000).
type Scaling struct {
	Replicas         int `json:"replicas"`
	MinReplicas      int `json:"min_replicas"`
	MaxReplicas      int `json:"max_replicas"`
	TargetCPUPercent int `json:"target_cpu_percent"`
}

// EnvVar is a literal value or a reference to a key of a Secret.
type EnvVar struct {
	Name       string `json:"name"`
	Value      string `json:"value,omitempty"`
	SecretName string `json:"secret_name,omitempty"`
	SecretKey  string `json:"secret_key,omitempty"`
}

// Rollout is where a deployed workload answers.
type Rollout struct {
	EndpointName string         `json:"endpoint_name"`
	EndpointURL  string         `json:"endpoint_url"`
	HealthURL    string         `json:"health_url"`
	MetricsURL   string         `json:"metrics_url"`
	Replicas     int            `json:"replicas"`
	Autoscaling  map[string]any `json:"autoscaling"`
	// CanaryWeight is the canary's traffic share read back from the cluster after a restore.
	CanaryWeight int `json:"canary_weight"`
}

// Cluster runs workloads. Every method is idempotent (server-side apply, deterministic names).
type Cluster interface {
	// Deploy applies a workload and waits for its rollout to complete.
	Deploy(ctx context.Context, s Spec) (Rollout, error)
	// SetWeight sends weight percent of the environment's traffic to its canary.
	SetWeight(ctx context.Context, deploymentName, environment string, weight int) error
	// Promote makes the canary the stable workload.
	Promote(ctx context.Context, deploymentName, environment string) (Rollout, error)
	// Restore sends all traffic back to a known-good spec as the stable workload, scales the canary
	// to zero and waits for the rollout. A nil spec (no known-good exists) removes the workloads
	// this deployment name has in the environment, so nothing half-deployed is left.
	Restore(ctx context.Context, deploymentName, environment string, to *Spec) (Rollout, error)
	// Current reads what is really deployed as the stable workload.
	Current(ctx context.Context, deploymentName, environment string) (s Spec, found bool, err error)
}
