// Package host puts the deployment workflow and its activities on a Temporal worker: the worker's
// options, the registration and the contract's search attributes. cmd/worker uses it with the real
// backends; the parked-holds harness uses it with stand-ins, so what it measures is this worker.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/seal"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
	"github.com/temporaldeployer/temporaldeployer/workflows"
)

// New returns a worker on the contract's task queue running the workflow and acts, configured by
// cfg (stop timeout, heartbeat throttle, how many activities and cached runs it holds at once),
// with acts' shadow holds parked off their activities (given acts.Holds, or new ones over c).
// Each of with may change the options further (cmd/worker sets OnFatalError).
func New(c client.Client, acts *activities.Activities, cfg config.Config, with ...func(*worker.Options)) worker.Worker {
	if cfg.WorkflowCacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheSize) // process-wide: set before the first worker starts
	}
	if acts.Holds == nil {
		acts.Holds = activities.NewHolds(acts, c) // shadow holds parked off their activities (activities/holds.go)
	}
	o := Options(cfg)
	for _, f := range with {
		f(&o)
	}
	w := worker.New(c, contract.TaskQueue, o)
	w.RegisterWorkflowWithOptions(workflows.ModelDeployment, workflow.RegisterOptions{Name: contract.WorkflowType})
	w.RegisterActivity(acts)
	return w
}

// StartHolds drives the parked holds until the returned stop, which hands each over for Temporal to
// retry at once on a worker that runs. Stop the worker first (no new tasks; in-flight activities
// may finish for its stop timeout) while the holds go on, then them.
func StartHolds(holds *activities.Holds) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { holds.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// heartbeatThrottle bounds how long a heartbeat waits before it is sent: a cancelled activity
// learns of it from a heartbeat's answer, and an abort waits for a cancelled activity that
// changes things to stop.
const heartbeatThrottle = time.Second

// OpenStore opens the worker's store, its ledger sealed with the worker's signing key (created, and
// said so, when the key file is absent).
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.SQL, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redact.URL(cfg.DatabaseURL), err)
	}
	key, created, err := seal.LoadOrCreateKey(cfg.LedgerKey, cfg.LedgerKeyring)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("ledger signing key (DEPLOYER_LEDGER_KEY): %w", err)
	}
	if created {
		log.Warn("created a ledger signing key: keep it (in a cluster, a Secret) or entries it signs verify only with its public key",
			"key", cfg.LedgerKey, "keyring", cfg.LedgerKeyring, "kid", key.KeyID())
	}
	st.SealWith(key)
	return st, nil
}

// Options are the worker's options from cfg, with the interceptor that counts finished runs by
// outcome on the client's metrics handler (telemetry.Outcomes; the SDK's no-op handler when the
// worker has no metrics endpoint).
func Options(cfg config.Config) worker.Options {
	return worker.Options{WorkerStopTimeout: cfg.StopTimeout, MaxHeartbeatThrottleInterval: heartbeatThrottle,
		MaxConcurrentActivityExecutionSize: cfg.MaxActivities,
		Interceptors:                       []interceptor.WorkerInterceptor{telemetry.Outcomes()}}
}

// WorkflowClosed reports whether id has no open run (a lock it left may be taken over).
func WorkflowClosed(c client.Client) func(ctx context.Context, id string) (bool, error) {
	return func(ctx context.Context, id string) (bool, error) {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	}
}
