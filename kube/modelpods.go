package kube

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	netv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
)

// What every model pod of a namespace shares: its own ServiceAccount, with no API token mounted,
// and a NetworkPolicy. The backend applies both before any Deployment (namespaced objects with
// fixed names, so the worker's Role grants them by name only), so no model pod runs without them.
const (
	// ModelServiceAccount is the model pods' ServiceAccount: not the namespace's default, never
	// the worker's, and it mounts no token (automountServiceAccountToken false, on the pods too).
	ModelServiceAccount = "temporaldeployer-model"
	// ModelNetworkPolicy selects every model pod of the namespace.
	ModelNetworkPolicy = "temporaldeployer-model-servers"
	// LabelModelTraffic marks who may reach the model servers: a namespace labelled
	// temporaldeployer.io/model-traffic=allowed (the worker's, the Gateway's, Prometheus'), or a
	// pod so labelled in the models' namespace. Nothing else gets in; DNS is all that gets out.
	LabelModelTraffic   = "temporaldeployer.io/model-traffic"
	ModelTrafficAllowed = "allowed"
)

// modelPodSelector picks every model server this backend runs in a namespace.
func modelPodSelector() map[string]string {
	return map[string]string{LabelComponent: "model-server", LabelManagedBy: FieldManager}
}

// modelServiceAccount renders the model pods' ServiceAccount.
func modelServiceAccount(ns string) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(ModelServiceAccount, ns).
		WithLabels(map[string]string{LabelPartOf: "temporaldeployer", LabelManagedBy: FieldManager}).
		WithAutomountServiceAccountToken(false)
}

// modelNetworkPolicy renders the model pods' NetworkPolicy: ingress to the server port only from
// what is labelled LabelModelTraffic=allowed, egress only to the cluster DNS (kube-dns pods in
// kube-system, port 53): no cloud metadata, no internet, no other workload.
func modelNetworkPolicy(ns string) *netv1ac.NetworkPolicyApplyConfiguration {
	allowed := map[string]string{LabelModelTraffic: ModelTrafficAllowed}
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(p corev1.Protocol, n int32) *netv1ac.NetworkPolicyPortApplyConfiguration {
		return netv1ac.NetworkPolicyPort().WithProtocol(p).WithPort(intstr.FromInt32(n))
	}
	return netv1ac.NetworkPolicy(ModelNetworkPolicy, ns).
		WithLabels(map[string]string{LabelPartOf: "temporaldeployer", LabelManagedBy: FieldManager}).
		WithSpec(netv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(modelPodSelector())).
			WithPolicyTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress).
			WithIngress(netv1ac.NetworkPolicyIngressRule().
				WithFrom(
					netv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(allowed)),
					netv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(allowed))).
				WithPorts(port(tcp, ServerPort))).
			WithEgress(netv1ac.NetworkPolicyEgressRule().
				WithTo(netv1ac.NetworkPolicyPeer().
					WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"kubernetes.io/metadata.name": "kube-system"})).
					WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))).
				WithPorts(port(udp, 53), port(tcp, 53))))
}

// applyModelPodPolicy applies the model pods' ServiceAccount and NetworkPolicy in the namespace.
// The namespace itself is the operator's (deploy/ creates it): the worker has no cluster-scoped
// rights, so a missing namespace is refused with what to do.
func (k *Kubernetes) applyModelPodPolicy(ctx context.Context) error {
	ns := k.opt.Namespace
	if _, err := k.cs.CoreV1().ServiceAccounts(ns).Apply(ctx, modelServiceAccount(ns), applyOpts); err != nil {
		return namespaceMissing(ns, fmt.Errorf("serviceaccount %s.%s apply: %w", ModelServiceAccount, ns, err))
	}
	if _, err := k.cs.NetworkingV1().NetworkPolicies(ns).Apply(ctx, modelNetworkPolicy(ns), applyOpts); err != nil {
		return namespaceMissing(ns, fmt.Errorf("networkpolicy %s.%s apply: %w", ModelNetworkPolicy, ns, err))
	}
	return nil
}

// namespaceMissing turns the API server's "namespace not found" into a refusal that says what to
// do; any other error passes through (retried as before).
func namespaceMissing(ns string, err error) error {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || !apierrors.IsNotFound(err) || se.Status().Details == nil || se.Status().Details.Kind != "namespaces" {
		return err
	}
	return &RefusedError{Rule: "namespace", Reason: fmt.Sprintf("namespace %s does not exist: the worker does not create namespaces "+
		"(it has no cluster-scoped rights); apply deploy/ (kubectl apply -k deploy) or create it", ns)}
}
