package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What every model pod of a namespace needs before it runs: its own ServiceAccount, which mounts no
// token, and the NetworkPolicy that fences it in. Both are the operator's (deploy/model-pods.yaml,
// applied with the rest of deploy/, kustomizable): the worker only checks they are there, by name,
// and runs no model pod without them.
const (
	// ModelServiceAccount is the model pods' ServiceAccount: never the namespace's default nor the
	// worker's; automountServiceAccountToken is false on it and on the pods.
	ModelServiceAccount = "temporaldeployer-model"
	// ModelNetworkPolicy selects every model pod of the namespace (component model-server,
	// managed by temporaldeployer): ingress only from what is labelled
	// temporaldeployer.io/model-traffic=allowed, egress only to the cluster DNS.
	ModelNetworkPolicy = "temporaldeployer-model-servers"
)

// ModelPodSelector picks every model server this backend runs in a namespace (the NetworkPolicy's
// podSelector).
func ModelPodSelector() map[string]string {
	return map[string]string{LabelComponent: "model-server", LabelManagedBy: FieldManager}
}

// checkModelPodPolicy refuses to run model pods in a namespace that lacks their ServiceAccount or
// NetworkPolicy (or does not exist: the worker creates no namespace, it has no cluster-scoped
// rights), saying what to apply. Permanent: the operator must act.
func (k *Kubernetes) checkModelPodPolicy(ctx context.Context) error {
	ns := k.opt.Namespace
	_, err := k.cs.CoreV1().ServiceAccounts(ns).Get(ctx, ModelServiceAccount, metav1.GetOptions{})
	if err == nil {
		_, err = k.cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, ModelNetworkPolicy, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return &RefusedError{Rule: "model-pods", Reason: fmt.Sprintf("namespace %s lacks the model pods' ServiceAccount %s or NetworkPolicy %s "+
			"(or does not exist): apply deploy/namespaces.yaml and deploy/model-pods.yaml, or all of deploy/ (kubectl apply -k deploy); "+
			"the worker creates none of them", ns, ModelServiceAccount, ModelNetworkPolicy)}
	case err != nil:
		return fmt.Errorf("model pod policy in %s: %w", ns, err)
	}
	return nil
}
