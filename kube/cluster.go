package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Options configure the Kubernetes backend.
type Options struct {
	// Namespace the workloads live in. Defaults to "models".
	Namespace string
	// ProgressDeadline bounds a rollout that makes no progress. Defaults to 600 s.
	ProgressDeadline time.Duration
	// ScaleDownDelay is how long the old canary keeps running after a promotion. Defaults to 30 s.
	ScaleDownDelay time.Duration
	// Poll bounds how long a wait goes without reading the rollout when no watch event comes.
	// Defaults to 500 ms.
	Poll time.Duration
	// PollOnly waits by polling alone, as before watches: for comparison in TestAbortLatency.
	PollOnly bool
	// Endpoints says where workloads answer. Defaults to in-cluster Service DNS.
	Endpoints Endpoints
	// RouteDomain scopes each HTTPRoute to one deployment and environment: it matches only the
	// hostname <deployment>.<environment>.<RouteDomain>, so no route can take another's traffic
	// on a shared Gateway. Defaults to DefaultRouteDomain.
	RouteDomain string
	Log         *slog.Logger
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = "models"
	}
	if o.ProgressDeadline <= 0 {
		o.ProgressDeadline = DefaultProgressDeadline
	}
	if o.ScaleDownDelay < 0 {
		o.ScaleDownDelay = 0
	} else if o.ScaleDownDelay == 0 {
		o.ScaleDownDelay = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Endpoints == nil {
		o.Endpoints = ServiceDNS{}
	}
	if o.RouteDomain == "" {
		o.RouteDomain = DefaultRouteDomain
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Kubernetes deploys with client-go and server-side apply; every write is idempotent.
type Kubernetes struct {
	cs     kubernetes.Interface
	router Router
	opt    Options
	w      workloads
}

var _ Cluster = (*Kubernetes)(nil)

// New returns the backend over a clientset, routing traffic with router.
func New(cs kubernetes.Interface, router Router, opt Options) (*Kubernetes, error) {
	if cs == nil || router == nil {
		return nil, errors.New("kube: a clientset and a router are required")
	}
	opt.defaults()
	return &Kubernetes{cs: cs, router: router, opt: opt, w: workloadsOf(cs, opt)}, nil
}

var applyOpts = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

// Deploy applies a workload (Deployment, Services, and for stable and shadow an HPA and a PDB)
// and waits for its rollout. A canary starts as the router says (no traffic before its first
// weight); SetWeight sizes it.
func (k *Kubernetes) Deploy(ctx context.Context, s Spec) (Rollout, error) {
	replicas := int32(s.Scaling.Replicas)
	if s.Role == RoleCanary {
		replicas = k.router.CanaryStart()
	}
	if err := k.apply(ctx, s, replicas); err != nil {
		return Rollout{}, err
	}
	name := WorkloadName(s.DeploymentName, s.Environment, s.Role)
	if err := k.w.waitRollout(ctx, name); err != nil {
		return Rollout{}, err
	}
	if err := k.router.Attach(ctx, s); err != nil {
		return Rollout{}, fmt.Errorf("route %s: %w", name, err)
	}
	return k.rollout(ctx, s)
}

// apply writes a spec's objects with server-side apply. An existing stable or shadow Deployment
// keeps its live size (its HPA's, or the replica router's), within the spec's autoscaling bounds:
// a forced apply never resets spec.replicas (it did, to the spec's initial 3, over ten pods an HPA
// had scaled up). size is the size of a new Deployment, of a stable the replica router scaled to
// zero, and always of a canary (the router's). The read and the write are one compare-and-swap on
// the Deployment's resourceVersion, so an HPA scaling in between is not overwritten.
func (k *Kubernetes) apply(ctx context.Context, s Spec, size int32) error {
	if err := Check(s); err != nil { // refused before anything is read or written
		return err
	}
	name := WorkloadName(s.DeploymentName, s.Environment, s.Role)
	for attempt := 1; ; attempt++ {
		d, err := k.cs.AppsV1().Deployments(k.opt.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			d = nil
		case err != nil:
			return fmt.Errorf("deployment %s.%s get: %w", name, k.opt.Namespace, err)
		}
		if d != nil {
			if _, _, err := SpecOf(d); err != nil {
				return err // someone else's Deployment: a forced apply would take it over
			}
		}
		replicas, rv := size, ""
		if d != nil && s.Role != RoleCanary {
			if live := int(deref(d.Spec.Replicas)); live > 0 {
				replicas = int32(min(max(live, s.Scaling.MinReplicas), s.Scaling.MaxReplicas))
			}
			rv = d.ResourceVersion
		}
		err = k.applyObjects(ctx, s, replicas, rv)
		if !apierrors.IsConflict(err) || attempt == 5 {
			return err
		}
	}
}

// applyObjects writes the objects of s at replicas; a non-empty resourceVersion makes the
// Deployment's write conditional on it.
func (k *Kubernetes) applyObjects(ctx context.Context, s Spec, replicas int32, resourceVersion string) error {
	o, err := Build(s, k.opt.Namespace, replicas, k.opt.ProgressDeadline)
	if err != nil {
		return err
	}
	ns := k.opt.Namespace
	if err := k.checkModelPodPolicy(ctx); err != nil { // no model pod runs without them
		return err
	}
	if resourceVersion != "" {
		o.Deployment.WithResourceVersion(resourceVersion)
	}
	if _, err := k.cs.AppsV1().Deployments(ns).Apply(ctx, o.Deployment, applyOpts); err != nil {
		return fmt.Errorf("deployment %s.%s apply: %w", *o.Deployment.Name, ns, err)
	}
	for _, svc := range []*corev1ac.ServiceApplyConfiguration{o.Service, o.RoleSvc} {
		if _, err := k.cs.CoreV1().Services(ns).Apply(ctx, svc, applyOpts); err != nil {
			return fmt.Errorf("service %s.%s apply: %w", *svc.Name, ns, err)
		}
	}
	if o.HPA != nil {
		if _, err := k.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Apply(ctx, o.HPA, applyOpts); err != nil {
			return fmt.Errorf("hpa %s.%s apply: %w", *o.HPA.Name, ns, err)
		}
	}
	if o.PDB != nil {
		if _, err := k.cs.PolicyV1().PodDisruptionBudgets(ns).Apply(ctx, o.PDB, applyOpts); err != nil {
			return fmt.Errorf("pdb %s.%s apply: %w", *o.PDB.Name, ns, err)
		}
	}
	return nil
}

func (k *Kubernetes) rollout(ctx context.Context, s Spec) (Rollout, error) {
	svc := ServiceName(s.DeploymentName, s.Environment)
	if s.Role != RoleStable {
		svc = RoleServiceName(s.DeploymentName, s.Environment, s.Role)
	}
	base, err := k.opt.Endpoints.Endpoint(ctx, s, svc, k.opt.Namespace)
	if err != nil {
		return Rollout{}, fmt.Errorf("endpoint of %s: %w", svc, err)
	}
	return Rollout{
		EndpointName: svc, EndpointURL: base, HealthURL: base + "/readyz", MetricsURL: base + "/metrics",
		Replicas: s.Scaling.Replicas,
		Autoscaling: map[string]any{"min_replicas": s.Scaling.MinReplicas, "max_replicas": s.Scaling.MaxReplicas,
			"target_cpu_percent": s.Scaling.TargetCPUPercent},
	}, nil
}

// SetWeight sends weight percent of the environment's traffic to its canary, through the router.
func (k *Kubernetes) SetWeight(ctx context.Context, deploymentName, environment string, weight int) error {
	stable, found, err := k.Current(ctx, deploymentName, environment)
	if err != nil {
		return err
	}
	if !found {
		return &RolloutError{Name: instance(deploymentName, environment), Reason: "no stable workload to split traffic with"}
	}
	return k.router.SetWeight(ctx, stable, weight)
}

// Weight reads back the traffic split in effect.
func (k *Kubernetes) Weight(ctx context.Context, deploymentName, environment string) (int, error) {
	return k.router.Weight(ctx, deploymentName, environment)
}

// Promote makes the canary the stable workload: the stable Deployment rolls to the canary's spec
// at production's size (surge one, none unavailable), traffic goes back to it, and after the
// scale-down delay the canary is scaled to zero. It returns the stable's rollout: where the
// promoted version now serves (the environment's Service, not the emptied canary's).
func (k *Kubernetes) Promote(ctx context.Context, deploymentName, environment string) (Rollout, error) {
	canary, found, err := k.read(ctx, WorkloadName(deploymentName, environment, RoleCanary))
	if err != nil {
		return Rollout{}, err
	}
	if !found {
		return Rollout{}, &RolloutError{Name: instance(deploymentName, environment), Reason: "no canary to promote"}
	}
	canary.Role = RoleStable
	// The stable keeps production's size; one the replica router scaled to zero at 100 % takes the
	// canary's, which was production's; on a retry after the canary was scaled down, the stable
	// already has it.
	canarySize, _, _, err := k.w.desired(ctx, WorkloadName(deploymentName, environment, RoleCanary))
	if err != nil {
		return Rollout{}, err
	}
	stableSize, _, _, err := k.w.desired(ctx, WorkloadName(deploymentName, environment, RoleStable))
	if err != nil {
		return Rollout{}, err
	}
	ro, err := k.rollout(ctx, canary) // before anything changes: nothing fails after the scale-down
	if err != nil {
		return Rollout{}, err
	}
	if err := k.apply(ctx, canary, int32(max(canarySize, stableSize, canary.Scaling.MinReplicas))); err != nil {
		return Rollout{}, err
	}
	if err := k.w.waitRollout(ctx, WorkloadName(deploymentName, environment, RoleStable)); err != nil {
		return Rollout{}, err
	}
	select { // the old canary keeps serving while clients move over
	case <-ctx.Done():
		return Rollout{}, ctx.Err()
	case <-time.After(k.opt.ScaleDownDelay):
	}
	if err := k.router.SetWeight(ctx, canary, 0); err != nil {
		return Rollout{}, err
	}
	return ro, nil
}

// Current reads the stable workload's spec as deployed (from its annotation).
func (k *Kubernetes) Current(ctx context.Context, deploymentName, environment string) (Spec, bool, error) {
	return k.read(ctx, WorkloadName(deploymentName, environment, RoleStable))
}

func (k *Kubernetes) read(ctx context.Context, name string) (Spec, bool, error) {
	d, err := k.cs.AppsV1().Deployments(k.opt.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Spec{}, false, nil
	}
	if err != nil {
		return Spec{}, false, fmt.Errorf("deployment %s.%s get: %w", name, k.opt.Namespace, err)
	}
	return SpecOf(d)
}

// SpecOf reads back the Spec a Deployment was applied from (its spec annotation); found is false
// with a RefusedError for a Deployment temporaldeployer did not make.
func SpecOf(d *appsv1.Deployment) (Spec, bool, error) {
	var s Spec
	raw, ok := d.Annotations[AnnotationSpec]
	if !ok { // someone else's: never overwritten, never removed, never canaried against
		return Spec{}, false, &RefusedError{Rule: "ownership", Reason: fmt.Sprintf(
			"deployment %s.%s has no %s annotation: it was not made by temporaldeployer, which will not touch it", d.Name, d.Namespace, AnnotationSpec)}
	}
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return Spec{}, false, &RefusedError{Rule: "ownership", Reason: fmt.Sprintf("deployment %s.%s: its %s annotation does not decode: %v", d.Name, d.Namespace, AnnotationSpec, err)}
	}
	return s, true, nil
}
