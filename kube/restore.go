package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// roleIn is the role an environment's main workload plays.
func roleIn(environment string) Role {
	if environment == "shadow" {
		return RoleShadow
	}
	return RoleStable
}

// Restore sends all traffic back to the stable workload at once (the canary goes to zero), then
// makes sure the stable workload runs the known-good spec and waits for it. With no known-good
// (to == nil) it removes the environment's workloads, Services, HPA, PDB and routes.
func (k *Kubernetes) Restore(ctx context.Context, deploymentName, environment string, to *Spec) (Rollout, error) {
	if to == nil {
		return Rollout{}, k.remove(ctx, deploymentName, environment)
	}
	good := *to
	good.DeploymentName, good.Environment, good.Role = deploymentName, environment, roleIn(environment)
	if err := Check(good); err != nil {
		return Rollout{}, err
	}
	if good.Role == RoleStable {
		if err := k.router.SetWeight(ctx, good, 0); err != nil {
			return Rollout{}, fmt.Errorf("traffic back to stable: %w", err)
		}
	}
	if err := k.apply(ctx, good, int32(good.Scaling.Replicas)); err != nil {
		return Rollout{}, err
	}
	if err := k.w.waitRollout(ctx, WorkloadName(deploymentName, environment, good.Role)); err != nil {
		return Rollout{}, err
	}
	if err := k.router.Attach(ctx, good); err != nil {
		return Rollout{}, err
	}
	return k.rollout(ctx, good)
}

// remove deletes what this deployment name has in an environment; missing objects are fine.
func (k *Kubernetes) remove(ctx context.Context, deploymentName, environment string) error {
	ns, bg := k.opt.Namespace, metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	var errs []error
	keep := func(what string, err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("%s delete: %w", what, err))
		}
	}
	if err := k.router.Detach(ctx, deploymentName, environment); err != nil {
		errs = append(errs, err)
	}
	stable := WorkloadName(deploymentName, environment, RoleStable)
	for _, name := range []string{stable, WorkloadName(deploymentName, environment, RoleCanary)} {
		keep("deployment "+name, k.cs.AppsV1().Deployments(ns).Delete(ctx, name, del))
	}
	keep("hpa "+stable, k.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, stable, del))
	keep("pdb "+stable, k.cs.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, stable, del))
	services := []string{ServiceName(deploymentName, environment)}
	for _, r := range []Role{RoleStable, RoleCanary, RoleShadow} {
		services = append(services, RoleServiceName(deploymentName, environment, r))
	}
	for _, svc := range services {
		keep("service "+svc, k.cs.CoreV1().Services(ns).Delete(ctx, svc, del))
	}
	return errors.Join(errs...)
}
