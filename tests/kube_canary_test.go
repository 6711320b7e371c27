package tests

import (
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// kubeRouters are the two real traffic routers: replica-proportional (plain Kubernetes, the
// default) and Gateway API HTTPRoute weights.
var kubeRouters = []string{"replica", "gateway"}

// TestKubeCanaryWalk walks a production canary 5 → 20 → 50 → 100 with each router, reading the
// split back from the cluster at every step, then promotes: the stable runs the new version, all
// traffic goes to it and the canary is scaled to zero. Production runs 5 pods, as its HPA scaled
// it (its spec says 3): no step serves it with fewer, and the promoted stable keeps 5.
func TestKubeCanaryWalk(t *testing.T) {
	t.Parallel()
	for _, router := range kubeRouters {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			e := newKubeEnv(t, "canary-"+router, 5*time.Minute)
			k := e.backend(router, false, e.options(60*time.Second))
			c := e.startCanary(t, k, 5)

			for _, w := range rules.DefaultCanarySteps() {
				began := time.Now()
				if err := k.SetWeight(e.ctx, "iris", "production", w); err != nil {
					t.Fatalf("set weight %d: %v", w, err)
				}
				took := time.Since(began)
				got, err := k.Weight(e.ctx, "iris", "production")
				if err != nil {
					t.Fatal(err)
				}
				e.checkSplit(t, router, w, got, c.prod)
				t.Logf("%-7s weight %3d %%: Weight() = %3d %% (stable %d, canary %d pods) in %s", router, w, got,
					len(e.pods(rolePods("iris", "production", kube.RoleStable))),
					len(e.pods(rolePods("iris", "production", kube.RoleCanary))), took.Round(time.Millisecond))
			}

			began := time.Now()
			if _, err := k.Promote(e.ctx, "iris", "production"); err != nil {
				t.Fatalf("promote: %v", err)
			}
			t.Logf("%-7s promoted in %s (scale-down delay 1 s)", router, time.Since(began).Round(time.Millisecond))
			if w, err := k.Weight(e.ctx, "iris", "production"); err != nil || w != 0 {
				t.Errorf("after promote Weight() = %d, %v; want 0", w, err)
			}
			d := e.deployment(c.stable)
			if img := d.Spec.Template.Spec.Containers[0].Image; img != kubeImageV2 || d.Labels[kube.LabelModelVer] != "2" ||
				d.Annotations[kube.AnnotationDeploymentID] != c.canarySpec.DeploymentID {
				t.Errorf("promoted stable runs %s labels %v; want v2 (%s)", img, d.Labels, kubeImageV2)
			}
			if d.Spec.Template.Labels[kube.LabelRole] != string(kube.RoleStable) {
				t.Errorf("promoted stable's pods are labelled role %s", d.Spec.Template.Labels[kube.LabelRole])
			}
			if des, avail := e.replicas(c.stable); des != int32(c.prod) || avail != int32(c.prod) {
				t.Errorf("promoted stable %d/%d available, want %d/%d", avail, des, c.prod, c.prod)
			}
			if des, _ := e.replicas(c.canary); des != 0 {
				t.Errorf("canary replicas %d after promote, want 0", des)
			}
			if _, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, c.stable, metav1.GetOptions{}); err != nil {
				t.Errorf("stable HPA after promote: %v", err)
			}
			cur, found, err := k.Current(e.ctx, "iris", "production")
			if err != nil || !found || cur.ModelVersion != "2" || cur.Role != kube.RoleStable || cur.Image != kubeImageV2 {
				t.Errorf("Current after promote = %+v, %v, %v; want v2 as stable", cur, found, err)
			}
			e.waitPods(rolePods("iris", "production", kube.RoleStable), c.prod, kubeImageV2)
			e.waitPods(rolePods("iris", "production", kube.RoleCanary), 0, kubeImageV2)
			if router == "gateway" {
				rt := e.route("iris-production")
				if bw := backendWeights(rt); bw["iris-production-stable"] != 100 || bw["iris-production-canary"] != 0 {
					t.Errorf("route after promote %v; want stable 100, canary 0", bw)
				}
			}
		})
	}
}

// kubeCanary names a production canary under way.
type kubeCanary struct {
	stable, canary string
	canarySpec     kube.Spec
	prod           int // production's pods when the canary started
}

// startCanary deploys production v1 (3 pods), scales it to prod pods through the scale
// subresource as its HPA would, and deploys a v2 canary beside it. Deploying v1 again (a forced
// apply) keeps the HPA's size.
func (e *kubeEnv) startCanary(t *testing.T, k *kube.Kubernetes, prod int) kubeCanary {
	t.Helper()
	c := kubeCanary{stable: kube.WorkloadName("iris", "production", kube.RoleStable),
		canary: kube.WorkloadName("iris", "production", kube.RoleCanary), prod: prod}
	v1 := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
	if _, err := k.Deploy(e.ctx, v1); err != nil {
		t.Fatalf("deploy production v1: %v", err)
	}
	e.waitPods(rolePods("iris", "production", kube.RoleStable), 3, kubeImageV1)
	if prod != 3 {
		sc, err := e.cs.AppsV1().Deployments(e.ns).GetScale(e.ctx, c.stable, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc.Spec.Replicas = int32(prod)
		if _, err := e.cs.AppsV1().Deployments(e.ns).UpdateScale(e.ctx, c.stable, sc, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Deploy(e.ctx, v1); err != nil {
			t.Fatalf("deploy production v1 again: %v", err)
		}
		if des, _ := e.replicas(c.stable); des != int32(prod) {
			t.Fatalf("a forced apply resized production from the HPA's %d to %d pods", prod, des)
		}
		e.waitPods(rolePods("iris", "production", kube.RoleStable), prod, kubeImageV1)
	}
	if w, err := k.Weight(e.ctx, "iris", "production"); err != nil || w != 0 {
		t.Fatalf("before the canary Weight() = %d, %v; want 0", w, err)
	}
	c.canarySpec = kubeSpec(t, "iris", "production", kube.RoleCanary, "2")
	ro, err := k.Deploy(e.ctx, c.canarySpec)
	if err != nil {
		t.Fatalf("deploy canary v2: %v", err)
	}
	if ro.EndpointName != "iris-production-canary" {
		t.Errorf("canary endpoint %s", ro.EndpointName)
	}
	// A canary has no HPA or PDB of its own: its size is the router's.
	for _, err := range []error{
		get(e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, c.canary, metav1.GetOptions{})),
		get(e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, c.canary, metav1.GetOptions{})),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("canary HPA/PDB: %v; want none", err)
		}
	}
	w, err := k.Weight(e.ctx, "iris", "production")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("canary deployed (1 pod) before any SetWeight: Weight() = %d %%", w)
	return c
}

func get[T any](_ T, err error) error { return err }

// checkSplit compares the split read back with what weight w must give with each router, over a
// production of prod pods. The stable's HPA stays with both.
func (e *kubeEnv) checkSplit(t *testing.T, router string, w, got, prod int) {
	t.Helper()
	stable, canary := kube.WorkloadName("iris", "production", kube.RoleStable), kube.WorkloadName("iris", "production", kube.RoleCanary)
	sd, sa := e.replicas(stable)
	cd, ca := e.replicas(canary)
	switch router {
	case "replica":
		// Traffic follows ready pods behind the one Service: the split is ReplicaSplit's.
		st, cn := kube.ReplicaSplit(prod, w)
		if sd != int32(st) || sa != int32(st) || cd != int32(cn) || ca != int32(cn) {
			t.Errorf("weight %d: stable %d/%d canary %d/%d available; want %d and %d", w, sa, sd, ca, cd, st, cn)
		}
		if want := kube.EffectiveWeight(st, cn); got != want {
			t.Errorf("weight %d: Weight() = %d, want the effective %d", w, got, want)
		}
		// The Service selects both roles: its ready endpoints are the split.
		e.waitPods(rolePods("iris", "production", kube.RoleStable), st, kubeImageV1)
		e.waitPods(rolePods("iris", "production", kube.RoleCanary), cn, kubeImageV2)
	case "gateway":
		if got != w {
			t.Errorf("weight %d: Weight() = %d", w, got)
		}
		rt := e.route("iris-production")
		if rt == nil {
			t.Fatalf("weight %d: no HTTPRoute iris-production", w)
		}
		bw := backendWeights(rt)
		if len(bw) != 2 || bw["iris-production-stable"] != int32(100-w) || bw["iris-production-canary"] != int32(w) {
			t.Errorf("weight %d: route backends %v; want stable %d, canary %d", w, bw, 100-w, w)
		}
		if p := rt.Spec.ParentRefs; len(p) != 1 || p[0].Name != "models" || p[0].Namespace == nil || string(*p[0].Namespace) != e.ns {
			t.Errorf("route parents %+v; want Gateway %s/models", p, e.ns)
		}
		// The canary is sized to its share; the stable keeps its size.
		want := int32(kube.CanaryCapacity(prod, w))
		if cd != want || ca != want || sd != int32(prod) || sa != int32(prod) {
			t.Errorf("weight %d: canary %d/%d stable %d/%d; want canary %d, stable %d", w, ca, cd, sa, sd, want, prod)
		}
		e.waitPods(rolePods("iris", "production", kube.RoleCanary), int(want), kubeImageV2)
	}
	if _, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, stable, metav1.GetOptions{}); err != nil {
		t.Errorf("weight %d: stable HPA: %v; it stays while the canary runs", w, err)
	}
}

// TestKubeAbortAt20 aborts a production canary at 20 % with each router: Restore to the known-good
// spec sends all traffic back to stable (Weight() == 0), the canary goes to zero replicas and the
// stable runs the known-good version with all its pods Ready.
func TestKubeAbortAt20(t *testing.T) {
	t.Parallel()
	for _, router := range kubeRouters {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			e := newKubeEnv(t, "abort-"+router, 4*time.Minute)
			k := e.backend(router, false, e.options(60*time.Second))
			c := e.startCanary(t, k, 5)
			for _, w := range []int{5, 20} {
				if err := k.SetWeight(e.ctx, "iris", "production", w); err != nil {
					t.Fatalf("set weight %d: %v", w, err)
				}
			}
			got, err := k.Weight(e.ctx, "iris", "production")
			if err != nil {
				t.Fatal(err)
			}
			e.checkSplit(t, router, 20, got, c.prod)

			good := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
			began := time.Now()
			ro, err := k.Restore(e.ctx, "iris", "production", &good)
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			t.Logf("%-7s abort at 20 %% → stable 100 %% in %s", router, time.Since(began).Round(time.Millisecond))
			if w, err := k.Weight(e.ctx, "iris", "production"); err != nil || w != 0 {
				t.Errorf("after abort Weight() = %d, %v; want 0", w, err)
			}
			if des, _ := e.replicas(c.canary); des != 0 {
				t.Errorf("canary replicas %d after abort, want 0", des)
			}
			if des, avail := e.replicas(c.stable); des != int32(c.prod) || avail != int32(c.prod) {
				t.Errorf("stable %d/%d available after abort, want %d/%d", avail, des, c.prod, c.prod)
			}
			d := e.deployment(c.stable)
			if d.Spec.Template.Spec.Containers[0].Image != kubeImageV1 || d.Labels[kube.LabelModelVer] != "1" {
				t.Errorf("stable after abort runs %s (version %s); want v1", d.Spec.Template.Spec.Containers[0].Image, d.Labels[kube.LabelModelVer])
			}
			if _, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, c.stable, metav1.GetOptions{}); err != nil {
				t.Errorf("stable HPA after abort: %v", err)
			}
			if ro.EndpointName != "iris-production" {
				t.Errorf("restore rollout %+v", ro)
			}
			e.waitPods(rolePods("iris", "production", kube.RoleStable), c.prod, kubeImageV1)
			e.waitPods(rolePods("iris", "production", kube.RoleCanary), 0, kubeImageV2)
			if router == "gateway" {
				if bw := backendWeights(e.route("iris-production")); bw["iris-production-stable"] != 100 || bw["iris-production-canary"] != 0 {
					t.Errorf("route after abort %v; want stable 100, canary 0", bw)
				}
			}
		})
	}
}
