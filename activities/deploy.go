package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
)

// PackageModel builds and publishes the immutable artifact for a version, heartbeating while the
// bento builds and the image is pushed.
func (a *Activities) PackageModel(ctx context.Context, r packaging.Request) (packaging.Artifact, error) {
	if a.Packager == nil {
		return packaging.Artifact{}, notConfigured("packaging", "package_model")
	}
	stop := heartbeatEvery(ctx, 5*time.Second, "packaging "+r.BentoTag)
	defer stop()
	art, err := a.Packager.Package(ctx, r)
	if err != nil {
		return packaging.Artifact{}, packagingError("package "+r.BentoTag, err)
	}
	return art, nil
}

// packagingError maps a packaging failure: permanent ones (the model URI does not resolve, an
// unsupported flavour, MLflow refusing the credentials, a refused push) are non-retryable with a contract type; the rest are
// returned as-is for Temporal to retry.
func packagingError(op string, err error) error {
	var pe *packaging.Error
	if !errors.As(err, &pe) || !pe.Permanent() {
		return fmt.Errorf("%s: %w", op, err)
	}
	errType := contract.ErrArtifactRejected
	switch pe.Kind {
	case packaging.KindModelNotFound:
		errType = contract.ErrModelNotFound
	case packaging.KindUnsupportedFlavour:
		errType = contract.ErrUnsupportedModel
	case packaging.KindInvalidRequest:
		errType = contract.ErrInvalidInput
	case packaging.KindMLflowDenied:
		errType = contract.ErrRegistryRejected // the model registry refused the worker's credentials
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), errType, err)
}

// DeployWorkload applies a workload and waits for its rollout, heartbeating while it waits.
func (a *Activities) DeployWorkload(ctx context.Context, s kube.Spec) (kube.Rollout, error) {
	if a.Cluster == nil {
		return kube.Rollout{}, notConfigured("cluster", "deploy_to_endpoint")
	}
	stop := heartbeatEvery(ctx, 5*time.Second, "deploying "+s.DeploymentName+"/"+s.Environment)
	defer stop()
	began := time.Now()
	ro, err := a.Cluster.Deploy(ctx, s)
	if err == nil {
		telemetry.RecordRollout(metricsOf(ctx), s.Environment, string(s.Role), time.Since(began))
	}
	return ro, clusterError("deploy "+s.DeploymentName+"/"+s.Environment, err)
}

// WeightRequest sets an environment's canary traffic share.
type WeightRequest struct {
	DeploymentName string `json:"deployment_name"`
	Environment    string `json:"environment"`
	Weight         int    `json:"weight"`
}

// SetTrafficWeight sends Weight percent of traffic to the canary.
func (a *Activities) SetTrafficWeight(ctx context.Context, r WeightRequest) error {
	if a.Cluster == nil {
		return notConfigured("cluster", "the canary")
	}
	// It waits for the canary's rollout: heartbeats keep it seen alive and deliver a cancellation.
	what := fmt.Sprintf("set canary weight %d%% on %s/%s", r.Weight, r.DeploymentName, r.Environment)
	stop := heartbeatEvery(ctx, waitBeat, what)
	defer stop()
	return clusterError(what, a.Cluster.SetWeight(ctx, r.DeploymentName, r.Environment, r.Weight))
}

// PromoteCanary makes the canary the stable workload.
func (a *Activities) PromoteCanary(ctx context.Context, r WeightRequest) (kube.Rollout, error) {
	if a.Cluster == nil {
		return kube.Rollout{}, notConfigured("cluster", "the canary")
	}
	what := "promote canary of " + r.DeploymentName + "/" + r.Environment
	stop := heartbeatEvery(ctx, waitBeat, what) // the rollout and the scale-down delay outlast a heartbeat timeout
	defer stop()
	ro, err := a.Cluster.Promote(ctx, r.DeploymentName, r.Environment)
	return ro, clusterError(what, err)
}

// RestoreRequest names the known-good spec to go back to; nil To removes the candidate.
type RestoreRequest struct {
	DeploymentName string     `json:"deployment_name"`
	Environment    string     `json:"environment"`
	To             *kube.Spec `json:"to,omitempty"`
}

// RestoreWorkload puts a known-good spec back with all traffic and verifies the rollout.
func (a *Activities) RestoreWorkload(ctx context.Context, r RestoreRequest) (kube.Rollout, error) {
	if a.Cluster == nil {
		return kube.Rollout{}, notConfigured("cluster", "rollback")
	}
	stop := heartbeatEvery(ctx, 5*time.Second, "restoring "+r.DeploymentName+"/"+r.Environment)
	defer stop()
	began := time.Now()
	ro, err := a.Cluster.Restore(ctx, r.DeploymentName, r.Environment, r.To)
	if err != nil {
		return ro, clusterError("restore "+r.DeploymentName+"/"+r.Environment, err)
	}
	if err := a.verifyRestored(ctx, r, &ro); err != nil {
		return ro, err
	}
	telemetry.RecordRollback(metricsOf(ctx), r.Environment, time.Since(began))
	return ro, nil
}

// weightReader is a cluster that can read its traffic split back.
type weightReader interface {
	Weight(ctx context.Context, deploymentName, environment string) (int, error)
}

// verifyRestored reads the traffic split back from the cluster: a restore is done only when the
// canary takes nothing. A split still in place is a retryable error, so the restore runs again.
func (a *Activities) verifyRestored(ctx context.Context, r RestoreRequest, ro *kube.Rollout) error {
	wr, ok := a.Cluster.(weightReader)
	if !ok || r.To == nil {
		return nil
	}
	weight, err := wr.Weight(ctx, r.DeploymentName, r.Environment)
	if err != nil {
		return fmt.Errorf("read back the traffic split of %s/%s after the restore: %w", r.DeploymentName, r.Environment, err)
	}
	ro.CanaryWeight = weight
	if weight != 0 {
		return fmt.Errorf("restore of %s/%s: the canary still takes %d%% of traffic (read back from the cluster)", r.DeploymentName, r.Environment, weight)
	}
	return nil
}

// CheckHealth probes an endpoint. An unhealthy endpoint is a result, not an error.
func (a *Activities) CheckHealth(ctx context.Context, t probe.Target) (probe.Result, error) {
	defer heartbeatEvery(ctx, waitBeat, "probing "+t.HealthURL)()
	res, err := a.Prober.Check(ctx, t)
	if err != nil {
		return probe.Result{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("probe %s: %v", t.HealthURL, err), contract.ErrHealthCheckFailed, err)
	}
	return res, nil
}

// RolloutError is how a cluster backend says a rollout failed for good (a progress deadline, a
// refused manifest): it is not retried.
type RolloutError interface{ Permanent() bool }

func clusterError(op string, err error) error {
	if err == nil {
		return nil
	}
	var perm RolloutError
	if errors.As(err, &perm) && perm.Permanent() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), contract.ErrRolloutFailed, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// waitBeat is how often an activity that waits on the cluster heartbeats.
const waitBeat = time.Second

// heartbeatEvery heartbeats until stop is called, so a long wait is seen alive and cancellable.
func heartbeatEvery(ctx context.Context, every time.Duration, detail string) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, detail)
			}
		}
	}()
	return func() { close(done) }
}
