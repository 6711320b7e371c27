package tests

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// TestKubeFailingRollout: a new stable version whose pods can never be scheduled (500 CPUs asked of
// 32-CPU nodes) is caught by the Deployment controller's progress deadline — Deploy returns a
// permanent RolloutError naming it — and Restore to the known-good spec brings the known-good pods
// back, all Ready, with nothing of the failed version left. With each router.
func TestKubeFailingRollout(t *testing.T) {
	t.Parallel()
	for _, router := range kubeRouters {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			e := newKubeEnv(t, "failing-"+router, 4*time.Minute)
			const deadline = 10 * time.Second
			k := e.backend(router, false, e.options(deadline))
			good := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
			if _, err := k.Deploy(e.ctx, good); err != nil {
				t.Fatalf("deploy known-good v1: %v", err)
			}
			name := kube.WorkloadName("iris", "production", kube.RoleStable)
			stable := rolePods("iris", "production", kube.RoleStable)
			e.waitPods(stable, 3, kubeImageV1)

			bad := kubeSpec(t, "iris", "production", kube.RoleStable, "2")
			bad.Resources = map[string]string{"cpu": "500", "memory": "256Mi"}
			began := time.Now()
			_, err := k.Deploy(e.ctx, bad)
			took := time.Since(began)
			var re *kube.RolloutError
			if !errors.As(err, &re) || !re.Permanent() || !strings.Contains(err.Error(), "progress deadline") || re.Name != name {
				t.Fatalf("deploy of an unschedulable version: %v (after %s); want a permanent RolloutError on %s naming the progress deadline",
					err, took.Round(time.Millisecond), name)
			}
			t.Logf("%-7s failed rollout detected in %s (deadline %s): %v", router, took.Round(time.Millisecond), deadline, err)
			if took < deadline {
				t.Errorf("detected after %s, before the %s deadline could pass", took, deadline)
			}
			// The cluster agrees: the condition is the Deployment controller's, the new pod is
			// Pending because the scheduler found no node, and the old pods kept serving.
			d := e.deployment(name)
			if !slices.ContainsFunc(d.Status.Conditions, func(c appsv1.DeploymentCondition) bool {
				return c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded"
			}) {
				t.Errorf("deployment conditions %+v; want Progressing=False ProgressDeadlineExceeded", d.Status.Conditions)
			}
			if d.Status.AvailableReplicas != 3 {
				t.Errorf("available replicas %d during the failed rollout; maxUnavailable 0 keeps 3", d.Status.AvailableReplicas)
			}
			unschedulable := 0
			for _, p := range e.pods(stable) {
				if p.Spec.Containers[0].Image == kubeImageV2 {
					for _, c := range p.Status.Conditions {
						if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
							unschedulable++
						}
					}
				}
			}
			if unschedulable != 1 {
				t.Errorf("%d unschedulable v2 pods; want the one surge pod", unschedulable)
			}

			began = time.Now()
			if _, err := k.Restore(e.ctx, "iris", "production", &good); err != nil {
				t.Fatalf("restore known-good after the failed rollout: %v", err)
			}
			t.Logf("%-7s restored the known-good in %s", router, time.Since(began).Round(time.Millisecond))
			e.waitPods(stable, 3, kubeImageV1)
			d = e.deployment(name)
			if d.Spec.Template.Spec.Containers[0].Image != kubeImageV1 || d.Labels[kube.LabelModelVer] != "1" ||
				d.Status.AvailableReplicas != 3 || d.Status.UpdatedReplicas != 3 || d.Status.ObservedGeneration != d.Generation {
				t.Errorf("after restore: image %s, labels %v, status %+v", d.Spec.Template.Spec.Containers[0].Image, d.Labels, d.Status)
			}
			cur, found, err := k.Current(e.ctx, "iris", "production")
			if err != nil || !found || cur.ModelVersion != "1" || cur.Resources["cpu"] != "250m" {
				t.Errorf("Current after restore = %+v, %v, %v; want v1", cur, found, err)
			}
			if w, err := k.Weight(e.ctx, "iris", "production"); err != nil || w != 0 {
				t.Errorf("Weight() after restore = %d, %v; want 0", w, err)
			}
		})
	}
}

// TestKubeFailingCanary: a canary that can never become Ready fails on the progress deadline — at
// its Deploy with the Gateway router (one pod, no traffic), at its first weight with the replica
// router (which starts a canary with no pods, so none serves before the first step) — and the rollback (Restore to the stable's known-good spec) scales it to zero and keeps
// all traffic on the untouched stable — although the failed canary's Deployment still carries the
// controller's ProgressDeadlineExceeded condition after being scaled. With each router.
func TestKubeFailingCanary(t *testing.T) {
	t.Parallel()
	for _, router := range kubeRouters {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			e := newKubeEnv(t, "badcanary-"+router, 4*time.Minute)
			const deadline = 10 * time.Second
			k := e.backend(router, false, e.options(deadline))
			good := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
			if _, err := k.Deploy(e.ctx, good); err != nil {
				t.Fatalf("deploy known-good v1: %v", err)
			}
			bad := kubeSpec(t, "iris", "production", kube.RoleCanary, "2")
			bad.Resources = map[string]string{"cpu": "500", "memory": "256Mi"}
			began := time.Now()
			_, err := k.Deploy(e.ctx, bad)
			if router == "replica" {
				if err != nil {
					t.Fatalf("deploy of a replica-routed canary (no pods yet): %v", err)
				}
				err = k.SetWeight(e.ctx, "iris", "production", 5)
			}
			var re *kube.RolloutError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "progress deadline") || re.Name != "iris-production-canary" {
				t.Fatalf("deploy of an unschedulable canary: %v; want a RolloutError on the canary naming the progress deadline", err)
			}
			t.Logf("%-7s failed canary detected in %s", router, time.Since(began).Round(time.Millisecond))

			began = time.Now()
			if _, err := k.Restore(e.ctx, "iris", "production", &good); err != nil {
				t.Fatalf("roll back the failed canary: %v", err)
			}
			t.Logf("%-7s rolled back in %s", router, time.Since(began).Round(time.Millisecond))
			if des, _ := e.replicas("iris-production-canary"); des != 0 {
				t.Errorf("canary replicas %d after rollback, want 0", des)
			}
			if w, err := k.Weight(e.ctx, "iris", "production"); err != nil || w != 0 {
				t.Errorf("Weight() after rollback = %d, %v; want 0", w, err)
			}
			e.waitPods(rolePods("iris", "production", kube.RoleCanary), 0, kubeImageV2)
			e.waitPods(rolePods("iris", "production", kube.RoleStable), 3, kubeImageV1)
		})
	}
}
