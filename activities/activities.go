// Package activities is the workflow's only door to the outside world: each method is one
// idempotent Temporal activity that calls one small interface (registry, store, prober, packager,
// cluster). A nil packager or cluster means the worker was not given that backend: runs that need
// it fail with BackendNotConfigured, never a pretend success.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/metrics"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// Activities holds the backends. The worker registers a populated value; the workflow calls the
// methods through a nil pointer.
type Activities struct {
	Registry registry.Registry
	Store    store.Store
	Prober   probe.Prober
	Packager packaging.Packager // nil: not configured
	Cluster  kube.Cluster       // nil: not configured
	Metrics  metrics.Source     // nil: not configured
	Policy   config.Policy
	// WorkflowClosed reports whether a workflow ID has no open run, so a lock left by a run that
	// was terminated can be taken over. Nil: locks are never taken over.
	WorkflowClosed func(ctx context.Context, workflowID string) (bool, error)
	// Holds, when set, keeps the shadow holds parked off their activities' goroutines (holds.go);
	// nil: each hold waits in its activity.
	Holds *Holds
	Log   *slog.Logger
}

// LoadPolicy returns the worker's policy and which backends it has. Run as a local activity, so
// the answer is recorded in history and replays deterministically.
func (a *Activities) LoadPolicy(ctx context.Context) (config.Policy, error) {
	p := a.Policy
	p.Backends = config.Backends{Packager: a.Packager != nil, Cluster: a.Cluster != nil, Metrics: a.Metrics != nil}
	return p, nil
}

func (a *Activities) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// notConfigured is the error for a missing backend.
func notConfigured(backend, needed string) error {
	return contract.NewError(contract.ErrBackendNotConfigured,
		"%s backend is not configured on this worker; %s needs it", backend, needed)
}

// registryError maps a registry failure: not-found and other 4xx replies are permanent, the rest
// (network, 5xx) are returned as-is for Temporal to retry.
func registryError(op string, err error) error {
	if err == nil {
		return nil
	}
	var api *registry.APIError
	switch {
	case errors.As(err, &api) && api.NotFound():
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), contract.ErrModelNotFound, err)
	case errors.As(err, &api) && api.Permanent():
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), contract.ErrRegistryRejected, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
