package kube

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8stesting "k8s.io/client-go/testing"
)

// TestModelPodPolicy: a deploy applies the model pods' own ServiceAccount (no token) and a
// NetworkPolicy selecting them: ingress to the server port only from what is labelled
// model-traffic=allowed, egress only to the cluster DNS.
func TestModelPodPolicy(t *testing.T) {
	f := newFakeCluster(t)
	if _, err := f.backend(t, Options{}).Deploy(context.Background(), testSpec("staging", RoleStable)); err != nil {
		t.Fatal(err)
	}
	sa, err := f.cs.CoreV1().ServiceAccounts("models").Get(context.Background(), ModelServiceAccount, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "automountServiceAccountToken", *sa.AutomountServiceAccountToken, false)
	np, err := f.cs.NetworkingV1().NetworkPolicies("models").Get(context.Background(), ModelNetworkPolicy, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := np.Spec
	eq(t, "pod selector", spec.PodSelector.MatchLabels, map[string]string{LabelComponent: "model-server", LabelManagedBy: FieldManager})
	eq(t, "policy types", spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress})
	allowed := map[string]string{LabelModelTraffic: ModelTrafficAllowed}
	if len(spec.Ingress) != 1 || len(spec.Ingress[0].From) != 2 || len(spec.Ingress[0].Ports) != 1 {
		t.Fatalf("ingress = %+v; want one rule, two peers, one port", spec.Ingress)
	}
	in := spec.Ingress[0]
	eq(t, "ingress from namespaces", in.From[0].NamespaceSelector.MatchLabels, allowed)
	eq(t, "ingress from namespaces only", in.From[0].PodSelector == nil, true)
	eq(t, "ingress from pods", in.From[1].PodSelector.MatchLabels, allowed)
	eq(t, "ingress from this namespace's pods only", in.From[1].NamespaceSelector == nil, true)
	eq(t, "ingress port", *in.Ports[0].Port, intstr.FromInt32(ServerPort))
	if len(spec.Egress) != 1 || len(spec.Egress[0].To) != 1 {
		t.Fatalf("egress = %+v; want one rule to the cluster DNS", spec.Egress)
	}
	eg := spec.Egress[0]
	eq(t, "egress to namespace", eg.To[0].NamespaceSelector.MatchLabels, map[string]string{"kubernetes.io/metadata.name": "kube-system"})
	eq(t, "egress to pods", eg.To[0].PodSelector.MatchLabels, map[string]string{"k8s-app": "kube-dns"})
	var ports []string
	for _, p := range eg.Ports {
		ports = append(ports, string(*p.Protocol)+"/"+p.Port.String())
	}
	eq(t, "egress ports", ports, []string{string(corev1.ProtocolUDP) + "/53", string(corev1.ProtocolTCP) + "/53"})
}

// TestDeployNamespaceMissing: the backend no longer creates its namespace (cluster-scoped
// rights); a missing one is a permanent refusal saying what to do, and nothing else is written.
func TestDeployNamespaceMissing(t *testing.T) {
	f := newFakeCluster(t)
	f.cs.PrependReactor("patch", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(corev1.Resource("namespaces"), "models")
	})
	_, err := f.backend(t, Options{}).Deploy(context.Background(), testSpec("staging", RoleStable))
	var re *RefusedError
	if !errors.As(err, &re) || re.Rule != "namespace" || !re.Permanent() {
		t.Fatalf("Deploy = %v; want a permanent namespace refusal", err)
	}
	for _, a := range f.cs.Actions() {
		if a.GetResource().Resource == "namespaces" || (a.GetVerb() == "patch" && a.GetResource().Resource != "serviceaccounts") {
			t.Errorf("went on after the missing namespace: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}
