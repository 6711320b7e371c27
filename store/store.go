// Package store keeps the deployment records: ml_deployments, ml_model_registry, the evidence ledger
// and the in-flight lock per (deployment_name, environment). One SQL implementation serves SQLite
// (embedded default, pure Go) and PostgreSQL (pgx); migrations live in infra/migrations.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Deployment is a row of ml_deployments.
type Deployment struct {
	DeploymentID    string            `json:"deployment_id"`
	DeploymentName  string            `json:"deployment_name"`
	Environment     string            `json:"environment"`
	ModelName       string            `json:"model_name"`
	ModelVersion    string            `json:"model_version"`
	ExperimentID    string            `json:"experiment_id"`
	Stage           string            `json:"stage"`
	EndpointName    string            `json:"endpoint_name"`
	EndpointURL     string            `json:"endpoint_url"`
	Status          string            `json:"status"` // see Status* constants
	Replicas        int               `json:"replicas"`
	CPULimit        string            `json:"cpu_limit"`
	MemoryLimit     string            `json:"memory_limit"`
	Autoscaling     map[string]any    `json:"autoscaling"` // JSON column
	BentoTag        string            `json:"bento_tag"`
	Image           string            `json:"image"`
	Manifest        map[string]string `json:"manifest,omitempty"` // artifact manifest (JSON column)
	WorkflowID      string            `json:"workflow_id"`
	RunID           string            `json:"run_id"`
	DeployedBy      string            `json:"deployed_by"`
	DeployedAt      time.Time         `json:"deployed_at"`
	DurationSeconds float64           `json:"duration_seconds"`
	HealthPassed    bool              `json:"health_passed"`
}

// Deployment statuses.
const (
	StatusInProgress = "in_progress"
	StatusHealthy    = "healthy" // the known-good deployment serving its environment: one per (name, environment)
	StatusFailed     = "failed"
	StatusRolledBack = "rolled_back"
	StatusAborted    = "aborted"
	// StatusSuperseded is a known-good a newer healthy deployment replaced (set by Commit); it is
	// still a rollback target.
	StatusSuperseded = "superseded"
)

// RegistryEntry is a row of ml_model_registry, keyed by (registered_model_name, version).
type RegistryEntry struct {
	RegisteredModelName string     `json:"registered_model_name"`
	Version             string     `json:"version"`
	ExperimentID        string     `json:"experiment_id"`
	ModelURI            string     `json:"model_uri"`
	Stage               string     `json:"stage"`
	DeploymentID        string     `json:"deployment_id,omitempty"`
	DeployedAt          *time.Time `json:"deployed_at,omitempty"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// Decision is one evidence-ledger entry: a gate decision with its inputs, verdict, time and actor.
type Decision struct {
	Key        string         `json:"key"` // idempotency key, unique: a retried write is a no-op
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	Deployment string         `json:"deployment_name"`
	Gate       string         `json:"gate"`    // e.g. success_criteria, stage_ladder, shadow_criteria, approval
	Verdict    string         `json:"verdict"` // allowed | denied | approved | rejected | aborted | ...
	Reason     string         `json:"reason"`
	Inputs     map[string]any `json:"inputs"` // JSON column
	Source     string         `json:"source"` // e.g. caller-supplied, measured, registry
	Actor      string         `json:"actor"`
	DecidedAt  time.Time      `json:"decided_at"`
	// The model version the decision is about ("" before the run knew it).
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
}

// EvidenceQuery selects ledger entries about one model version: a gate's decisions from one
// source, optionally with one verdict and no older than NotBefore.
type EvidenceQuery struct {
	ModelName    string    `json:"model_name"`
	ModelVersion string    `json:"model_version"`
	Gate         string    `json:"gate"`
	Source       string    `json:"source"`
	Verdict      string    `json:"verdict,omitempty"` // "" = any
	NotBefore    time.Time `json:"not_before"`        // zero = no bound
}

// Lock is the in-flight claim on (deployment_name, environment).
type Lock struct {
	DeploymentName string `json:"deployment_name"`
	Environment    string `json:"environment"`
	WorkflowID     string `json:"workflow_id"`
}

// Change is written in one transaction: any of its parts may be empty.
type Change struct {
	Deployment *Deployment
	Registry   *RegistryEntry
	Decisions  []Decision
}

// Store is the deployment record store.
type Store interface {
	// Claim takes the in-flight lock. Idempotent for the same workflow ID; a lock held by another
	// workflow yields a *ConflictError.
	Claim(ctx context.Context, l Lock) error
	// Release drops the lock if this workflow holds it; a no-op otherwise.
	Release(ctx context.Context, l Lock) error
	// Commit writes a Change atomically. Deployments upsert by deployment_id, registry entries by
	// (name, version), decisions insert-or-ignore by key.
	Commit(ctx context.Context, c Change) error
	// LastKnownGood returns the newest healthy or superseded deployment of name in env other than
	// excludeID.
	LastKnownGood(ctx context.Context, name, env, excludeID string) (d Deployment, found bool, err error)
	// Decisions lists the ledger entries of a workflow, oldest first.
	Decisions(ctx context.Context, workflowID string) ([]Decision, error)
	// LatestEvidence returns the newest ledger entry matching q.
	LatestEvidence(ctx context.Context, q EvidenceQuery) (d Decision, found bool, err error)
}

// ConflictError says another workflow holds the lock.
type ConflictError struct{ Held Lock }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("deployment %s/%s is already in flight in workflow %s",
		e.Held.DeploymentName, e.Held.Environment, e.Held.WorkflowID)
}

// IsConflict reports whether err is a *ConflictError.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}
