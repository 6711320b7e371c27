package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestWorkerRBAC applies deploy/ (the worker's Namespaces, ServiceAccount, Role, RoleBinding,
// ConfigMap and Deployment, as its kustomization.yaml lists them; the Deployment set, as kustomize
// would, to the worker's image that cmd/worker-image pushed by digest to a CNCF distribution
// registry) to the real control plane, which authorizes with RBAC, and acts as the worker's
// ServiceAccount with a token from the TokenRequest API: a staging deploy, a production canary walk
// (apply, watch, scale, promote, remove) and a deploy routed by the Gateway API go through with the
// Role alone, in a namespace enforcing the restricted Pod Security Standard; what the Role does not
// grant (the Namespace the worker used to apply, a ClusterRole, Secrets, pods, deleting the
// namespace) is refused. KWOK's pods run no containers: the worker's pod is admitted and scheduled
// on the image, which the registry answers, but nothing pulls it.
func TestWorkerRBAC(t *testing.T) {
	e := newKubeEnv(t, "rbac", 4*time.Minute) // the control plane, and a namespace left unused
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	workerNS, modelsNS := "td-"+suffix, "models-"+suffix
	objs := realparts.ReadKustomization(t, filepath.Join(realparts.Root(), "deploy"),
		map[string]string{"temporaldeployer": workerNS, "models": modelsNS})
	image := realparts.PushWorkerImage(t, realparts.StartDistributionRegistry(t).Host+"/temporaldeployer/worker")
	realparts.SetImage(t, objs, "temporaldeployer-worker", image)
	for _, ns := range []string{workerNS, modelsNS} {
		t.Cleanup(func() { _ = e.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	realparts.ApplyObjects(t, e.kubeconfig, objs)
	e.ns = modelsNS

	t.Run("the worker's pod is admitted under the restricted Pod Security Standard, on its pushed image", func(t *testing.T) {
		sel := labels.SelectorFromSet(map[string]string{"app.kubernetes.io/name": "temporaldeployer-worker"}).String()
		var pods *corev1.PodList
		e.poll("the worker's pod", time.Minute, func() (bool, error) {
			var err error
			pods, err = e.cs.CoreV1().Pods(workerNS).List(e.ctx, metav1.ListOptions{LabelSelector: sel})
			return err == nil && len(pods.Items) == 1, err
		})
		if got := pods.Items[0].Spec.Containers[0].Image; got != image {
			t.Errorf("the worker's pod runs %q, want the pushed %q", got, image)
		}
		ref, err := name.NewDigest(image, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := remote.Head(ref, remote.WithContext(e.ctx)); err != nil || d.Digest.String() != ref.DigestStr() {
			t.Errorf("the registry on %s answers the worker's image %v, %v", ref.RegistryStr(), d, err)
		}
	})

	worker := workerClient(t, e, workerNS)
	opt := kube.Options{Namespace: modelsNS, ProgressDeadline: time.Minute, ScaleDownDelay: time.Second,
		Poll: 100 * time.Millisecond, Endpoints: kubeFakeEndpoints{}}
	k, err := kube.New(worker, kube.NewReplicaRouter(worker, opt, nil), opt)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a staging deploy with the worker's credentials", func(t *testing.T) {
		s := kubeSpec(t, "rbac", "staging", kube.RoleStable, "1")
		if _, err := k.Deploy(e.ctx, s); err != nil {
			t.Fatalf("staging deploy as the worker: %v", err)
		}
		pods := e.waitPods(rolePods("rbac", "staging", kube.RoleStable), s.Scaling.Replicas, kubeImageV1)
		ps := pods[0].Spec
		if ps.ServiceAccountName != kube.ModelServiceAccount || !*ps.Containers[0].SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("model pod: serviceAccount %q, readOnlyRootFilesystem %v", ps.ServiceAccountName, *ps.Containers[0].SecurityContext.ReadOnlyRootFilesystem)
		}
		if _, err := e.cs.NetworkingV1().NetworkPolicies(modelsNS).Get(e.ctx, kube.ModelNetworkPolicy, metav1.GetOptions{}); err != nil {
			t.Errorf("the model pods' NetworkPolicy: %v", err)
		}
	})

	t.Run("a production canary walk with the worker's credentials", func(t *testing.T) {
		if _, err := k.Deploy(e.ctx, kubeSpec(t, "rbac", "production", kube.RoleStable, "1")); err != nil {
			t.Fatalf("production stable: %v", err)
		}
		if _, err := k.Deploy(e.ctx, kubeSpec(t, "rbac", "production", kube.RoleCanary, "2")); err != nil {
			t.Fatalf("canary: %v", err)
		}
		for _, w := range []int{25, 100} {
			if err := k.SetWeight(e.ctx, "rbac", "production", w); err != nil {
				t.Fatalf("weight %d: %v", w, err)
			}
		}
		if _, err := k.Promote(e.ctx, "rbac", "production"); err != nil {
			t.Fatalf("promote: %v", err)
		}
		if _, err := k.Restore(e.ctx, "rbac", "production", nil); err != nil {
			t.Fatalf("remove: %v", err)
		}
	})

	t.Run("Gateway API routes with the worker's credentials", func(t *testing.T) {
		realparts.InstallGatewayCRDs(t, e.kubeconfig)
		realparts.EnsureGateway(t, e.kubeconfig, modelsNS, "models")
		gw := kube.NewGatewayRouter(worker, gwclient.NewForConfigOrDie(workerConfig(t, e, workerNS)), opt, kube.ParentRef{})
		kg, err := kube.New(worker, gw, opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kg.Deploy(e.ctx, kubeSpec(t, "rbac-gw", "staging", kube.RoleStable, "1")); err != nil {
			t.Fatalf("staging deploy with a route: %v", err)
		}
		if e.route("rbac-gw-staging") == nil {
			t.Fatal("no HTTPRoute after the deploy")
		}
		if _, err := kg.Restore(e.ctx, "rbac-gw", "staging", nil); err != nil {
			t.Fatalf("remove with its route: %v", err)
		}
	})

	t.Run("what the Role does not grant is refused", func(t *testing.T) {
		refused := map[string]error{
			"apply the namespace": get(worker.CoreV1().Namespaces().Apply(e.ctx, corev1ac.Namespace(modelsNS),
				metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true})),
			"delete the namespace": worker.CoreV1().Namespaces().Delete(e.ctx, modelsNS, metav1.DeleteOptions{}),
			"create a ClusterRole": get(worker.RbacV1().ClusterRoles().Create(e.ctx, &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: "td-" + suffix}}, metav1.CreateOptions{})),
			"list Secrets": get(worker.CoreV1().Secrets(modelsNS).List(e.ctx, metav1.ListOptions{})),
			"create a pod": get(worker.CoreV1().Pods(modelsNS).Create(e.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})),
			"apply another ServiceAccount": get(worker.CoreV1().ServiceAccounts(modelsNS).Apply(e.ctx, corev1ac.ServiceAccount("other", modelsNS),
				metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true})),
			"deploy in the worker's own namespace": get(worker.AppsV1().Deployments(workerNS).List(e.ctx, metav1.ListOptions{})),
		}
		for what, err := range refused {
			if !apierrors.IsForbidden(err) {
				t.Errorf("%s as the worker: %v; want Forbidden", what, err)
			}
		}
	})

	t.Run("the Role names its verbs: no wildcard", func(t *testing.T) {
		r, err := e.cs.RbacV1().Roles(modelsNS).Get(e.ctx, "temporaldeployer-worker", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, rule := range r.Rules {
			all := strings.Join(append(append(append([]string{}, rule.APIGroups...), rule.Resources...), rule.Verbs...), ",")
			if strings.Contains(all, "*") {
				t.Errorf("rule %+v has a wildcard", rule)
			}
		}
	})
}

// workerClient is a clientset that authenticates as the worker's ServiceAccount, with a token
// from the TokenRequest API (as the kubelet projects one into the worker's pod).
func workerClient(t *testing.T, e *kubeEnv, ns string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(workerConfig(t, e, ns))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// workerConfig is a client configuration with a fresh token of the worker's ServiceAccount.
func workerConfig(t *testing.T, e *kubeEnv, ns string) *rest.Config {
	t.Helper()
	tr, err := e.cs.CoreV1().ServiceAccounts(ns).CreateToken(e.ctx, "temporaldeployer-worker", &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for the worker's ServiceAccount: %v", err)
	}
	cfg := rest.AnonymousClientConfig(e.cfg)
	cfg.BearerToken = tr.Status.Token
	return cfg
}
