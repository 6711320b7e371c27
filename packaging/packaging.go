// Package packaging turns a registry version into an immutable, digest-pinned artifact: a BentoML
// bento (infra/bento/) pushed to an OCI registry as an image. BentoML is the backend; a worker
// without an OCI repository configured has no packager, and runs that need one fail with
// BackendNotConfigured. Failures are *Error values whose Permanent method says whether a retry
// can help.
package packaging

import (
	"context"
	"encoding/json"
)

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
	BentoTag  string `json:"bento_tag"`
	Image     string `json:"image"`      // repository@sha256:…, what the cluster deploys
	Digest    string `json:"digest"`     // the image manifest's digest, sha256:…
	SHA256    string `json:"sha256"`     // hex sha256 of the exported .bento archive
	SizeBytes int64  `json:"size_bytes"` // of the .bento archive
	// Existing is true when the registry already had this version's image: nothing was built or pushed.
	Existing bool              `json:"existing,omitempty"`
	Manifest map[string]string `json:"manifest"` // seed 004's artifact manifest (Manifest* keys)
	// ArchivePath is the .bento archive on the worker that built it ("" when Existing).
	ArchivePath string `json:"archive_path,omitempty"`
	// InputExample is a predict request body ({"rows": [...]}, what infra/bento/service.py takes)
	// built from the model's recorded input example (or its signature), for the synthetic inference
	// of the health check: at most MaxInputExampleRows rows and MaxInputExampleBytes. Empty when the
	// model has neither, or its image was published before input examples were recorded. Kept in
	// the image's labels, so an Existing artifact has the same; the manifest has its first rows
	// within MaxManifestInputExampleBytes (ManifestInputExample).
	InputExample       json.RawMessage `json:"input_example,omitempty"`
	InputExampleSource string          `json:"input_example_source,omitempty"` // ExampleFrom*, or "" for none
	// BentoRequirements are the lines of the bento's requirements file (env/python/requirements.txt),
	// what its image installs, for the governance gate R12. Kept in the image's labels (within
	// MaxRequirementsLabelBytes), so an Existing artifact has the same; empty for images published
	// before they were recorded.
	BentoRequirements []string `json:"bento_requirements,omitempty"`
}

// Packager builds and publishes artifacts. Package is idempotent: the same version yields the same
// tag and digest.
type Packager interface {
	Package(ctx context.Context, r Request) (Artifact, error)
}
