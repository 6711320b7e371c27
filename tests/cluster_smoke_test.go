package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// smokeImage is pinned by digest as the product requires; KWOK runs no containers, so it is never
// pulled (registry.k8s.io/pause:3.10).
const smokeImage = "registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a"

// TestClusterSmoke proves the local control plane is real: the API server validates and defaults,
// the deployment and replicaset controllers create pods, the scheduler binds them to KWOK's nodes,
// KWOK makes them Running and Ready, the disruption and HPA controllers act on a PDB and an HPA,
// and scaling down and deleting go through the garbage collector and the namespace controller.
func TestClusterSmoke(t *testing.T) {
	began := time.Now()
	kubeconfig := realparts.StartCluster(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	step := func(what string, since time.Time) { t.Logf("%-44s %6.1fs", what, time.Since(since).Seconds()) }
	step("control plane ready", began)

	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || strings.HasPrefix(v.GitVersion, "v0.0.0") {
		t.Fatalf("API server reports version %+v; want a real v1.x release", v)
	}
	t.Logf("API server %s (%s)", v.GitVersion, v.Platform)

	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "smoke-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := ns.Name
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})

	// The API server validates: a Deployment whose selector does not match its template is refused.
	bad := smokeDeployment("bad", 1)
	bad.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
	if _, err := cs.AppsV1().Deployments(name).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("mismatched selector: want Invalid, got %v", err)
	}

	t0 := time.Now()
	dep, err := cs.AppsV1().Deployments(name).Create(ctx, smokeDeployment("web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Defaulting is the API server's: a RollingUpdate strategy of 25 %/25 % nobody set.
	if s := dep.Spec.Strategy; s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxSurge.String() != "25%" {
		t.Fatalf("deployment strategy not defaulted: %+v", s)
	}
	pods := smokeWaitPods(ctx, t, cs, name, 3)
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			t.Fatalf("pod %s not bound to a node", p.Name)
		}
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "ReplicaSet" {
			t.Fatalf("pod %s owners %v; want its ReplicaSet", p.Name, p.OwnerReferences)
		}
		if p.Status.PodIP == "" {
			t.Fatalf("pod %s has no IP", p.Name)
		}
	}
	smokeWaitDeployment(ctx, t, cs, name, "web", 3)
	step("deployment 3/3 available", t0)

	t0 = time.Now()
	if _, err := cs.PolicyV1().PodDisruptionBudgets(name).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: smokePtr(intstr.FromInt32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	smokePoll(ctx, t, "PDB status from the disruption controller", func() (bool, error) {
		pdb, err := cs.PolicyV1().PodDisruptionBudgets(name).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return pdb.Status.ExpectedPods == 3 && pdb.Status.CurrentHealthy == 3 && pdb.Status.DisruptionsAllowed == 1, nil
	})
	step("PDB observed (3 healthy, 1 disruption allowed)", t0)

	t0 = time.Now()
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(name).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    smokePtr(int32(1)), MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: smokePtr(int32(80))}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The HPA controller picks it up (no metrics server here, so it reports it cannot read CPU).
	smokePoll(ctx, t, "HPA conditions from the HPA controller", func() (bool, error) {
		hpa, err := cs.AutoscalingV2().HorizontalPodAutoscalers(name).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(hpa.Status.Conditions) > 0 && hpa.Status.CurrentReplicas == 3, nil
	})
	step("HPA observed by its controller", t0)

	t0 = time.Now()
	scale, err := cs.AppsV1().Deployments(name).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 1
	if _, err := cs.AppsV1().Deployments(name).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	left := smokeWaitPods(ctx, t, cs, name, 1)
	gone := 0
	for _, p := range pods {
		if p.Name != left[0].Name {
			gone++
			if _, err := cs.CoreV1().Pods(name).Get(ctx, p.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("pod %s should be gone: %v", p.Name, err)
			}
		}
	}
	if gone != 2 {
		t.Fatalf("scale to 1 kept %s, which was not one of the 3 pods", left[0].Name)
	}
	smokeWaitDeployment(ctx, t, cs, name, "web", 1)
	step("scaled to 1, 2 pods terminated", t0)

	t0 = time.Now()
	fg := metav1.DeletePropagationForeground
	if err := cs.AppsV1().Deployments(name).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	smokePoll(ctx, t, "deployment, replicasets and pods garbage-collected", func() (bool, error) {
		_, err := cs.AppsV1().Deployments(name).Get(ctx, "web", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, nil
		}
		rs, err1 := cs.AppsV1().ReplicaSets(name).List(ctx, metav1.ListOptions{})
		ps, err2 := cs.CoreV1().Pods(name).List(ctx, metav1.ListOptions{})
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("%v %v", err1, err2)
		}
		return len(rs.Items) == 0 && len(ps.Items) == 0, nil
	})
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	smokePoll(ctx, t, "namespace removed by the namespace controller", func() (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	step("deleted (GC + namespace controller)", t0)
	step("smoke test total", began)
}

func smokeDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: smokePtr(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: smokeImage,
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
				}}},
			},
		},
	}
}

// smokeWaitPods waits until the namespace holds exactly n pods, all Running and Ready, and returns them.
func smokeWaitPods(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	smokePoll(ctx, t, fmt.Sprintf("%d Running and Ready pods", n), func() (bool, error) {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pods = list.Items
		if len(pods) != n {
			return false, nil
		}
		for _, p := range pods {
			if p.Status.Phase != corev1.PodRunning || !smokePodReady(p) {
				return false, nil
			}
		}
		return true, nil
	})
	return pods
}

func smokePodReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// smokeWaitDeployment waits until the deployment controller reports n available replicas for the
// current generation.
func smokeWaitDeployment(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	smokePoll(ctx, t, fmt.Sprintf("deployment %s availableReplicas=%d", name, n), func() (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := d.Status
		return s.ObservedGeneration == d.Generation && s.Replicas == n && s.UpdatedReplicas == n &&
			s.ReadyReplicas == n && s.AvailableReplicas == n, nil
	})
}

// smokePoll checks cond every 100 ms for up to 90 s, failing with the control plane's recent logs.
func smokePoll(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true,
		func(context.Context) (bool, error) { return cond() })
	if err != nil {
		t.Fatalf("waiting for %s: %v\nkube-controller-manager:\n%s\nkwok:\n%s", what, err,
			realparts.ClusterLogs("kube-controller-manager", 20), realparts.ClusterLogs("kwok", 20))
	}
}

func smokePtr[T any](v T) *T { return &v }
