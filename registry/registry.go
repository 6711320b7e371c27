// Package registry is the model registry behind a small interface; mlflow.go is the real backend
// (MLflow's REST API, stages kept as an alias plus a tag since stages are deprecated in MLflow 2.9+).
package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Version is one registered model version as the deployer sees it.
type Version struct {
	Name        string         `json:"name"`
	Version     string         `json:"version"`
	Source      string         `json:"source"`
	RunID       string         `json:"run_id,omitempty"`
	Stage       contract.Stage `json:"stage"`
	Aliases     []string       `json:"aliases,omitempty"`
	Description string         `json:"description,omitempty"`
	// Set by SetStage: the version this change archived as it took Production from it, or the one
	// it gave Production back to as it reverted a change that had (StageChange.Restore).
	Archived string `json:"archived,omitempty"`
	Restored string `json:"restored,omitempty"`
}

// StageChange says who moved a version and why, kept as tags beside the stage.
type StageChange struct {
	Stage  contract.Stage
	Reason string
	Actor  string // e.g. the workflow ID
	// Restore, on a change that moves a version out of Production (a revert), names the version
	// the change into Production archived: it gets Production back, unless another version holds it.
	Restore string `json:",omitempty"`
}

// Registry is the model registry.
type Registry interface {
	// Resolve finds the version a model URI names: a models:/name/version or models:/name@alias URI
	// directly, otherwise a version of model `name` registered earlier from the same URI. found is
	// false, with no error, when the URI has not been registered yet. It changes nothing.
	Resolve(ctx context.Context, name, modelURI string) (v Version, found bool, err error)
	// Register creates a version of model `name` (creating the model if needed) from modelURI.
	// Idempotent: a version already registered from the same URI is returned instead.
	Register(ctx context.Context, name, modelURI string, tags map[string]string) (Version, error)
	// SetStage moves a version to a stage: the stage alias points at it and its stage tag is set.
	// Taking Production archives the version that held it (seed 000's ladder: Production →
	// Archived); change.Restore gives Production back on a revert. Idempotent.
	SetStage(ctx context.Context, name, version string, change StageChange) (Version, error)
	// Get reads one version.
	Get(ctx context.Context, name, version string) (Version, error)
	// SetTags sets tags on a version (e.g. the measured shadow evidence). Idempotent.
	SetTags(ctx context.Context, name, version string, tags map[string]string) error
}

// APIError is a registry reply that was not a success.
type APIError struct {
	Op         string
	StatusCode int
	Code       string // e.g. RESOURCE_DOES_NOT_EXIST
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("registry %s: HTTP %d %s: %s", e.Op, e.StatusCode, e.Code, e.Message)
}

// Permanent reports whether retrying cannot help (a 4xx reply other than 429 Too Many Requests).
func (e *APIError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 429
}

// NotFound reports whether the registry said the thing does not exist.
func (e *APIError) NotFound() bool {
	return e.StatusCode == 404 || e.Code == "RESOURCE_DOES_NOT_EXIST"
}

// IsNotFound reports whether err is a registry not-found reply.
func IsNotFound(err error) bool {
	var api *APIError
	return errors.As(err, &api) && api.NotFound()
}

// IsPermanent reports whether err is a registry reply that retrying cannot fix.
func IsPermanent(err error) bool {
	var api *APIError
	return errors.As(err, &api) && api.Permanent()
}
