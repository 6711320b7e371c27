package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// AnnotationMirror records which shadow Service a route mirrors to.
const AnnotationMirror = "temporaldeployer.io/mirror-to"

// ParentRef is the Gateway the routes attach to.
type ParentRef struct {
	Name      string // Defaults to "models".
	Namespace string // Defaults to the workloads' namespace.
}

// GatewayRouter splits traffic exactly with Gateway API HTTPRoute backend weights (stable and
// canary each behind their own Service) and mirrors live traffic to a shadow with a
// RequestMirror filter. The canary's pods are sized to its share of the traffic.
type GatewayRouter struct {
	w      workloads
	gw     gwclient.Interface
	parent ParentRef
	domain string // routes match <deployment>.<environment>.<domain> only
	// envBackend: the route sends everything to the environment's Service (stable and canary pods
	// alike), as the replica router splits; it carries only the mirror.
	envBackend bool
}

var _ Router = (*GatewayRouter)(nil)

// NewGatewayRouter returns a router over the Gateway API.
func NewGatewayRouter(cs kubernetes.Interface, gw gwclient.Interface, opt Options, parent ParentRef) *GatewayRouter {
	opt.defaults()
	if parent.Name == "" {
		parent.Name = "models"
	}
	if parent.Namespace == "" {
		parent.Namespace = opt.Namespace
	}
	return &GatewayRouter{w: workloadsOf(cs, opt), gw: gw, parent: parent, domain: opt.RouteDomain}
}

// routeState is what a route says: the canary's weight and the shadow it mirrors to.
type routeState struct {
	canaryWeight int
	mirrorTo     string
	exists       bool
}

func (g *GatewayRouter) state(ctx context.Context, name string) (routeState, error) {
	rt, err := g.gw.GatewayV1().HTTPRoutes(g.w.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return routeState{}, nil
	}
	if err != nil {
		return routeState{}, fmt.Errorf("httproute %s.%s get: %w", name, g.w.ns, err)
	}
	st := routeState{exists: true, mirrorTo: rt.Annotations[AnnotationMirror]}
	var total, canary int32
	for _, rule := range rt.Spec.Rules {
		for _, b := range rule.BackendRefs {
			w := int32(1)
			if b.Weight != nil {
				w = *b.Weight
			}
			total += w
			if string(b.Name) == name+"-"+string(RoleCanary) {
				canary += w
			}
		}
	}
	if total > 0 {
		st.canaryWeight = int(canary * 100 / total)
	}
	return st, nil
}

// applyRoute renders the whole route (SSA owns it whole): weighted stable and canary backends,
// and a mirror filter when mirrorTo is set.
func (g *GatewayRouter) applyRoute(ctx context.Context, deploymentName, environment string, st routeState) error {
	name := instance(deploymentName, environment)
	backend := func(role Role, weight int) *gwac.HTTPBackendRefApplyConfiguration {
		return gwac.HTTPBackendRef().WithName(gwv1.ObjectName(RoleServiceName(deploymentName, environment, role))).
			WithPort(80).WithWeight(int32(weight))
	}
	rule := gwac.HTTPRouteRule().WithBackendRefs(backend(RoleStable, 100-st.canaryWeight), backend(RoleCanary, st.canaryWeight))
	if g.envBackend {
		rule = gwac.HTTPRouteRule().WithBackendRefs(gwac.HTTPBackendRef().
			WithName(gwv1.ObjectName(ServiceName(deploymentName, environment))).WithPort(80).WithWeight(100))
	}
	ann := map[string]string{}
	if st.mirrorTo != "" {
		ann[AnnotationMirror] = st.mirrorTo
		rule.WithFilters(gwac.HTTPRouteFilter().WithType(gwv1.HTTPRouteFilterRequestMirror).WithRequestMirror(
			gwac.HTTPRequestMirrorFilter().WithBackendRef(gwac.BackendObjectReference().
				WithName(gwv1.ObjectName(st.mirrorTo)).WithPort(80))))
	}
	rt := gwac.HTTPRoute(name, g.w.ns).
		WithLabels(map[string]string{LabelName: deploymentName, LabelInstance: name, LabelManagedBy: FieldManager, LabelEnv: environment}).
		WithAnnotations(ann).
		WithSpec(gwac.HTTPRouteSpec().
			WithParentRefs(gwac.ParentReference().WithName(gwv1.ObjectName(g.parent.Name)).
				WithNamespace(gwv1.Namespace(g.parent.Namespace))).
			WithHostnames(gwv1.Hostname(RouteHostname(deploymentName, environment, g.domain))).
			WithRules(rule))
	if _, err := g.gw.GatewayV1().HTTPRoutes(g.w.ns).Apply(ctx, rt, applyOpts); err != nil {
		return fmt.Errorf("httproute %s.%s apply: %w", name, g.w.ns, err)
	}
	return nil
}

// Attach routes a stable workload's environment (all traffic to stable, mirror kept) and points
// the live route's mirror at a shadow: production's route if production runs, else staging's.
func (g *GatewayRouter) Attach(ctx context.Context, s Spec) error {
	switch s.Role {
	case RoleStable:
		st, err := g.state(ctx, instance(s.DeploymentName, s.Environment))
		if err != nil {
			return err
		}
		st.canaryWeight = 0
		return g.applyRoute(ctx, s.DeploymentName, s.Environment, st)
	case RoleShadow:
		source := "production"
		if _, _, live, err := g.w.desired(ctx, WorkloadName(s.DeploymentName, source, RoleStable)); err != nil {
			return err
		} else if !live {
			source = "staging"
		}
		st, err := g.state(ctx, instance(s.DeploymentName, source))
		if err != nil {
			return err
		}
		st.mirrorTo = RoleServiceName(s.DeploymentName, s.Environment, RoleShadow)
		return g.applyRoute(ctx, s.DeploymentName, source, st)
	}
	return nil
}

func (g *GatewayRouter) SetWeight(ctx context.Context, stable Spec, weight int) error {
	name, env := stable.DeploymentName, stable.Environment
	canaryName := WorkloadName(name, env, RoleCanary)
	st, err := g.state(ctx, instance(name, env))
	if err != nil {
		return err
	}
	st.canaryWeight = weight
	if weight == 0 { // traffic first, then capacity
		if err := g.applyRoute(ctx, name, env, st); err != nil {
			return err
		}
		return g.w.scale(ctx, canaryName, 0)
	}
	// The canary is sized to its share of what the stable runs now (its HPA's count).
	prod, _, _, err := g.w.desired(ctx, WorkloadName(name, env, RoleStable))
	if err != nil {
		return err
	}
	if prod < 1 {
		prod = stable.Scaling.Replicas
	}
	if err := g.w.scale(ctx, canaryName, int32(CanaryCapacity(prod, weight))); err != nil {
		return err
	}
	if err := g.w.waitRollout(ctx, canaryName); err != nil {
		return err
	}
	return g.applyRoute(ctx, name, env, st)
}

func (g *GatewayRouter) Weight(ctx context.Context, deploymentName, environment string) (int, error) {
	st, err := g.state(ctx, instance(deploymentName, environment))
	return st.canaryWeight, err
}

// CanaryStart: one pod, proven to start before any traffic; the route gives it none until SetWeight.
func (g *GatewayRouter) CanaryStart() int32 { return 1 }

// Detach deletes the environment's route, and a shadow's mirror from the live routes.
func (g *GatewayRouter) Detach(ctx context.Context, deploymentName, environment string) error {
	name := instance(deploymentName, environment)
	err := g.gw.GatewayV1().HTTPRoutes(g.w.ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("httproute %s.%s delete: %w", name, g.w.ns, err)
	}
	shadowSvc := RoleServiceName(deploymentName, environment, RoleShadow)
	for _, source := range []string{"production", "staging"} {
		st, err := g.state(ctx, instance(deploymentName, source))
		if err != nil {
			return err
		}
		if st.exists && st.mirrorTo == shadowSvc {
			st.mirrorTo = ""
			if err := g.applyRoute(ctx, deploymentName, source, st); err != nil {
				return err
			}
		}
	}
	return nil
}
