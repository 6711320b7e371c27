package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// A run holds its target environment's lock for the whole run. From gates version 5 a deploy also
// holds the lock of each other environment it changes (the rungs below its target: a production
// deploy rewrites staging and shadow) while it is on that rung: from before the rung's first change
// until the rung is done, or, when the run fails there, until its compensation is done.

// claimRung takes the lock of the rung's environment when the run changes it and it is not the
// target's. A lock held by another run is ConcurrentDeployment, before the rung changes anything.
func (w *run) claimRung(ctx workflow.Context, rung contract.Stage) error {
	env := rung.Environment()
	if w.gates < gatesRungLocks || w.req.Action != contract.ActionDeploy || env == "" || env == w.req.Environment {
		return nil
	}
	lock := store.Lock{DeploymentName: w.req.DeploymentName, Environment: string(env), WorkflowID: w.info.WorkflowExecution.ID}
	if err := w.exec(ctx, short("claim "+lockName(lock)), a.Claim, lock, nil); err != nil {
		w.outcome(ctx, "claim", rung, "failed", err.Error())
		return err
	}
	w.rungLock = &lock
	return nil
}

// releaseRung drops the rung's lock, if the run holds one.
func (w *run) releaseRung(ctx workflow.Context) {
	if w.rungLock != nil {
		w.release(ctx, *w.rungLock)
		w.rungLock = nil
	}
}
