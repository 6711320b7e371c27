// Package packaging turns a registry version into an immutable, digest-pinned artifact (a BentoML
// bento pushed to an OCI registry). The real backend arrives with the packaging issue; until then a
// worker has no packager and runs that need one fail with BackendNotConfigured.
package packaging

import "context"

// Request names the version to package.
type Request struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ModelURI     string `json:"model_uri"`
	ExperimentID string `json:"experiment_id"`
	BentoTag     string `json:"bento_tag"`
}

// Artifact is the packaged, immutable result.
type Artifact struct {
	BentoTag  string            `json:"bento_tag"`
	Image     string            `json:"image"` // repository@sha256:…, what the cluster deploys
	SHA256    string            `json:"sha256"`
	SizeBytes int64             `json:"size_bytes"`
	Manifest  map[string]string `json:"manifest"` // seed 004's artifact manifest
}

// Packager builds and publishes artifacts. Package is idempotent: the same version yields the same
// tag and digest.
type Packager interface {
	Package(ctx context.Context, r Request) (Artifact, error)
}
