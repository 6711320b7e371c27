package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
)

// Router splits an environment's traffic between its stable and canary workloads.
type Router interface {
	// Attach runs after a workload rolled out: a route for a stable workload, a mirror for a shadow.
	Attach(ctx context.Context, s Spec) error
	// SetWeight sizes the canary and sends it weight percent of the traffic of stable's
	// environment; 0 sends everything back to stable and scales the canary to zero.
	SetWeight(ctx context.Context, stable Spec, weight int) error
	// Weight reads back the split in effect, in percent to the canary.
	Weight(ctx context.Context, deploymentName, environment string) (int, error)
	// Detach removes what Attach made for an environment.
	Detach(ctx context.Context, deploymentName, environment string) error
	// CanaryStart is how many pods a new canary starts with, before its first weight.
	CanaryStart() int32
}

// ReplicaRouter splits traffic by pod counts behind the environment's one Service: plain
// Kubernetes, no mesh. It sizes the split from the stable's live replica count (its HPA's) and
// never serves production with fewer pods (ReplicaSplit): up to 50 % the canary's pods are added
// beside an untouched stable, whose HPA stays in charge; above 50 % the stable shrinks to its share
// (an HPA keeps it at its minReplicas, a smaller canary share) and at 100 % to zero, where its HPA
// stands aside until Promote or a restore brings the stable back to production's size.
type ReplicaRouter struct {
	w      workloads
	mirror *GatewayRouter // optional: shadow mirroring needs the Gateway API
}

var _ Router = (*ReplicaRouter)(nil)

// NewReplicaRouter returns the default router; mirror, if non-nil, mirrors shadow traffic.
func NewReplicaRouter(cs kubernetes.Interface, opt Options, mirror *GatewayRouter) *ReplicaRouter {
	opt.defaults()
	if mirror != nil { // its routes carry the mirror only: the environment's Service splits
		m := *mirror
		m.envBackend = true
		mirror = &m
	}
	return &ReplicaRouter{w: workloadsOf(cs, opt), mirror: mirror}
}

func workloadsOf(cs kubernetes.Interface, opt Options) workloads {
	return workloads{cs: cs, ns: opt.Namespace, poll: opt.Poll, deadline: opt.ProgressDeadline, pollOnly: opt.PollOnly}
}

func (r *ReplicaRouter) Attach(ctx context.Context, s Spec) error {
	if s.Role != RoleShadow {
		return nil
	}
	if r.mirror == nil {
		return fmt.Errorf("shadow %s needs a traffic mirror: configure the Gateway API", s.DeploymentName)
	}
	return r.mirror.Attach(ctx, s)
}

func (r *ReplicaRouter) SetWeight(ctx context.Context, stable Spec, weight int) error {
	name, env := stable.DeploymentName, stable.Environment
	stableName, canaryName := WorkloadName(name, env, RoleStable), WorkloadName(name, env, RoleCanary)
	sd, _, _, err := r.w.desired(ctx, stableName)
	if err != nil {
		return err
	}
	cd, _, canaryFound, err := r.w.desired(ctx, canaryName)
	if err != nil {
		return err
	}
	if weight > 0 && !canaryFound {
		return &RolloutError{Name: instance(name, env), Reason: "no canary workload to send traffic to"}
	}
	prod := ProductionSize(sd, cd)
	if prod < 1 { // nothing runs: Restore's apply sizes the stable from its spec
		prod = stable.Scaling.Replicas
	}
	st, ca := ReplicaSplit(prod, weight)
	// Grow first, then shrink, so capacity never dips.
	type step struct {
		name       string
		from, to   int
		stableSide bool
	}
	steps := []step{{canaryName, cd, ca, false}, {stableName, sd, st, true}}
	if st > sd {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, s := range steps {
		if !canaryFound && !s.stableSide {
			continue // no canary: nothing to size
		}
		if err := r.w.scale(ctx, s.name, int32(s.to)); err != nil {
			if s.stableSide && apierrors.IsNotFound(errors.Unwrap(err)) {
				continue // nothing to send traffic back to yet: Restore's apply creates it
			}
			return err
		}
		wait := r.w.waitRollout
		if s.stableSide && s.to >= s.from {
			// Traffic back to stable needs its capacity, not a finished rollout: after a failed
			// rollout of the stable itself its old pods still serve, and Restore rolls it back next.
			wait = r.w.waitCapacity
		}
		if err := wait(ctx, s.name); err != nil {
			return err
		}
	}
	return nil
}

func (r *ReplicaRouter) Weight(ctx context.Context, deploymentName, environment string) (int, error) {
	st, err := r.w.available(ctx, WorkloadName(deploymentName, environment, RoleStable))
	if err != nil {
		return 0, err
	}
	ca, err := r.w.available(ctx, WorkloadName(deploymentName, environment, RoleCanary))
	if err != nil {
		return 0, err
	}
	return EffectiveWeight(st, ca), nil
}

// CanaryStart: none. Every pod behind the environment's one Service takes traffic, so a canary pod
// started early would serve before the first step; the first SetWeight starts (and checks) it.
func (r *ReplicaRouter) CanaryStart() int32 { return 0 }

func (r *ReplicaRouter) Detach(ctx context.Context, deploymentName, environment string) error {
	if r.mirror == nil {
		return nil
	}
	return r.mirror.Detach(ctx, deploymentName, environment)
}
