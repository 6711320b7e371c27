// Package parked is the harness of the parked-holds benchmark (issue 11): stand-ins for the model
// registry, the packager, the cluster and the metrics source, so that one worker — the real
// workflow, the real activities, the real store, on a real Temporal server — can be filled with
// thousands of deployments waiting in their shadow hold without thousands of models. Every
// version is on Staging, every image "built", every workload "ready" (its health URL answered by
// Health), every sample healthy. Nothing here is reachable from cmd/worker.
package parked

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// Registry is an in-memory registry where every model has one version, registered on Staging.
type Registry struct {
	mu     sync.Mutex
	stages map[string]contract.Stage // model name → its version's stage
}

var (
	_ registry.Registry       = (*Registry)(nil)
	_ registry.EvidenceReader = (*Registry)(nil)
)

func (r *Registry) version(name, uri string) registry.Version {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stages == nil {
		r.stages = map[string]contract.Stage{}
	}
	stage, ok := r.stages[name]
	if !ok {
		stage = contract.StageStaging
		r.stages[name] = stage
	}
	return registry.Version{Name: name, Version: "1", Source: uri, Stage: stage, Aliases: []string{string(stage)}}
}

func (r *Registry) Resolve(_ context.Context, name, uri string) (registry.Version, bool, error) {
	return r.version(name, uri), true, nil
}

func (r *Registry) Register(_ context.Context, name, uri string, _ map[string]string) (registry.Version, error) {
	return r.version(name, uri), nil
}

func (r *Registry) SetStage(_ context.Context, name, _ string, c registry.StageChange) (registry.Version, error) {
	v := r.version(name, "")
	r.mu.Lock()
	r.stages[name] = c.Stage
	r.mu.Unlock()
	v.Stage, v.Aliases = c.Stage, []string{string(c.Stage)}
	return v, nil
}

func (r *Registry) Get(_ context.Context, name, _ string) (registry.Version, error) {
	return r.version(name, ""), nil
}

func (r *Registry) SetTags(context.Context, string, string, map[string]string) error { return nil }

// ReadEvidence: no tags and no files (no drift profile: the hold records its drift check skipped).
func (r *Registry) ReadEvidence(context.Context, string, string, string, []string) (registry.Evidence, error) {
	return registry.Evidence{}, nil
}

// Packager "publishes" an image per bento tag without building anything.
type Packager struct{}

func (Packager) Package(_ context.Context, r packaging.Request) (packaging.Artifact, error) {
	digest := fmt.Sprintf("sha256:%064x", len(r.BentoTag))
	return packaging.Artifact{BentoTag: r.BentoTag, Image: "parked.invalid/models@" + digest, Digest: digest,
		SHA256: digest[len("sha256:"):], Existing: true, Manifest: map[string]string{}}, nil
}

// Cluster answers every rollout at once; each workload's health URL is served by Health at Base.
type Cluster struct {
	Base string // e.g. http://127.0.0.1:8123
}

func (c Cluster) rollout(s kube.Spec) kube.Rollout {
	name := kube.WorkloadName(s.DeploymentName, s.Environment, s.Role)
	return kube.Rollout{EndpointName: name, EndpointURL: c.Base + "/" + name, HealthURL: c.Base + "/" + name + "/readyz", Replicas: 1}
}

func (c Cluster) Deploy(_ context.Context, s kube.Spec) (kube.Rollout, error) {
	return c.rollout(s), nil
}
func (Cluster) SetWeight(context.Context, string, string, int) error { return nil }
func (Cluster) Weight(context.Context, string, string) (int, error)  { return 0, nil }
func (Cluster) Current(context.Context, string, string) (kube.Spec, bool, error) {
	return kube.Spec{}, false, nil
}
func (c Cluster) Promote(_ context.Context, name, env string) (kube.Rollout, error) {
	return c.rollout(kube.Spec{DeploymentName: name, Environment: env, Role: kube.RoleStable}), nil
}
func (c Cluster) Restore(_ context.Context, name, env string, _ *kube.Spec) (kube.Rollout, error) {
	return c.rollout(kube.Spec{DeploymentName: name, Environment: env, Role: kube.RoleStable}), nil
}

// Health answers every readiness probe with 200.
func Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
}

// Metrics answers every sample with a healthy workload: many requests, no errors, a low p99.
type Metrics struct{}

func (Metrics) Sample(_ context.Context, w rules.Workload, start, end time.Time) (rules.Sample, error) {
	secs := end.Sub(start).Seconds()
	return rules.Sample{Workload: w, Start: start, End: end, Requests: 10 * secs, P99MS: 20}, nil
}
