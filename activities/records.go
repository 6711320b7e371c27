package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
)

// Claim takes the in-flight lock on (deployment_name, environment) for this workflow.
func (a *Activities) Claim(ctx context.Context, l store.Lock) error {
	err := a.Store.Claim(ctx, l)
	if !store.IsConflict(err) {
		return err
	}
	held := err.(*store.ConflictError).Held
	if a.WorkflowClosed != nil {
		closed, cerr := a.WorkflowClosed(ctx, held.WorkflowID)
		if cerr == nil && closed {
			a.logger().Warn("taking over a lock left by a closed workflow",
				"deployment", l.DeploymentName, "environment", l.Environment, "holder", held.WorkflowID)
			if err := a.Store.Release(ctx, held); err != nil {
				return fmt.Errorf("release stale lock of %s: %w", held.WorkflowID, err)
			}
			err = a.Store.Claim(ctx, l)
			if !store.IsConflict(err) {
				return err
			}
		}
	}
	return contract.NewError(contract.ErrConcurrentDeployment, "%v", err)
}

// Release drops the lock if this workflow holds it.
func (a *Activities) Release(ctx context.Context, l store.Lock) error {
	return a.Store.Release(ctx, l)
}

// Record writes deployment rows, registry rows and ledger decisions in one transaction.
func (a *Activities) Record(ctx context.Context, c store.Change) error {
	if err := a.Store.Commit(ctx, c); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	h := metricsOf(ctx)
	for _, d := range c.Decisions {
		telemetry.RecordVerdict(h, d.Gate, d.Verdict)
	}
	return nil
}

// metricsOf is the activity's metrics handler (the SDK's, tagged with the activity and workflow
// types), or the no-op one outside an activity (unit tests call the methods directly).
func metricsOf(ctx context.Context) client.MetricsHandler {
	if !activity.IsActivity(ctx) {
		return client.MetricsNopHandler
	}
	return activity.GetMetricsHandler(ctx)
}

// RollbackInfo says whether a known-good deployment exists to fall back to, and which.
type RollbackInfo struct {
	Available bool             `json:"available"`
	Target    store.Deployment `json:"target"`
	// Deployed is what the cluster really runs as the environment's stable workload, if any.
	Deployed *kube.Spec `json:"deployed,omitempty"`
}

// RollbackQuery names the environment to look in.
type RollbackQuery struct {
	DeploymentName string `json:"deployment_name"`
	Environment    string `json:"environment"`
	ExcludeID      string `json:"exclude_id"`
}

// CheckRollbackAvailability finds the last known-good deployment other than ExcludeID, and reads
// what the cluster really runs (when the worker has a cluster).
func (a *Activities) CheckRollbackAvailability(ctx context.Context, q RollbackQuery) (RollbackInfo, error) {
	var info RollbackInfo
	if a.Cluster != nil {
		cur, found, err := a.Cluster.Current(ctx, q.DeploymentName, q.Environment)
		if err != nil {
			return RollbackInfo{}, clusterError("read "+q.DeploymentName+"/"+q.Environment, err)
		}
		if found {
			info.Deployed = &cur
		}
	}
	d, found, err := a.Store.LastKnownGood(ctx, q.DeploymentName, q.Environment, q.ExcludeID)
	if err != nil {
		return RollbackInfo{}, fmt.Errorf("last known-good of %s/%s: %w", q.DeploymentName, q.Environment, err)
	}
	info.Available, info.Target = found, d
	return info, nil
}
