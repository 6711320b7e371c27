// Package deploy holds the manifests that run the worker in a cluster (kustomize-ready: `kubectl
// apply -k deploy`), embedded so the local control plane's tools apply the same files.
package deploy

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
)

//go:embed *.yaml
var files embed.FS

// ModelPods reads model-pods.yaml: the model pods' ServiceAccount and NetworkPolicy, moved to
// namespace ns.
func ModelPods(ns string) (*corev1.ServiceAccount, *networkingv1.NetworkPolicy, error) {
	b, err := files.ReadFile("model-pods.yaml")
	if err != nil {
		return nil, nil, err
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	sa, np := &corev1.ServiceAccount{}, &networkingv1.NetworkPolicy{}
	for _, into := range []any{sa, np} {
		if err := dec.Decode(into); err != nil {
			return nil, nil, fmt.Errorf("model-pods.yaml: %w", err)
		}
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return nil, nil, fmt.Errorf("model-pods.yaml: more than a ServiceAccount and a NetworkPolicy (%v)", err)
	}
	if sa.Kind != "ServiceAccount" || np.Kind != "NetworkPolicy" {
		return nil, nil, fmt.Errorf("model-pods.yaml: %s, %s; want a ServiceAccount, then a NetworkPolicy", sa.Kind, np.Kind)
	}
	sa.Namespace, np.Namespace = ns, ns
	return sa, np, nil
}

// EnsureModelPods creates model-pods.yaml's objects in ns unless they exist: what applying deploy/
// does on a real cluster, for the local control plane's namespaces (tests, the demo).
func EnsureModelPods(ctx context.Context, cs kubernetes.Interface, ns string) error {
	sa, np, err := ModelPods(ns)
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("serviceaccount %s.%s create: %w", sa.Name, ns, err)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("networkpolicy %s.%s create: %w", np.Name, ns, err)
	}
	return nil
}
