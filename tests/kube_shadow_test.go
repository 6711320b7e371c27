package tests

import (
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// TestKubeShadowMirror: a shadow workload receives copies of the live (here staging) traffic
// through a Gateway API RequestMirror filter on the staging HTTPRoute, pointing at the shadow's own
// Service, and serves no route of its own; Restore(nil) on the shadow removes the mirror and the
// shadow's objects and leaves staging as it was. With the replica router (which mirrors through
// the Gateway API) and with the Gateway router. No gateway controller runs on the test control
// plane: the routes are validated and stored by the API server and read back, no data plane.
func TestKubeShadowMirror(t *testing.T) {
	t.Parallel()
	for _, router := range kubeRouters {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			e := newKubeEnv(t, "shadow-"+router, 4*time.Minute)
			k := e.backend(router, true, e.options(60*time.Second))
			if _, err := k.Deploy(e.ctx, kubeSpec(t, "iris", "staging", kube.RoleStable, "1")); err != nil {
				t.Fatalf("deploy staging: %v", err)
			}
			shadow := kubeSpec(t, "iris", "shadow", kube.RoleShadow, "2")
			ro, err := k.Deploy(e.ctx, shadow)
			if err != nil {
				t.Fatalf("deploy shadow: %v", err)
			}
			const shadowSvc = "iris-shadow-shadow"
			if ro.EndpointName != shadowSvc {
				t.Errorf("shadow endpoint %s, want its own Service %s", ro.EndpointName, shadowSvc)
			}
			e.waitPods(rolePods("iris", "shadow", kube.RoleShadow), 2, kubeImageV2)
			e.waitPods(rolePods("iris", "staging", kube.RoleStable), 1, kubeImageV1)

			rt := e.route("iris-staging")
			if rt == nil {
				t.Fatal("no staging HTTPRoute carrying the mirror")
			}
			if m := mirrors(rt); len(m) != 1 || m[0] != shadowSvc {
				t.Errorf("staging route mirrors to %v; want [%s]", m, shadowSvc)
			}
			for _, r := range rt.Spec.Rules {
				for _, f := range r.Filters {
					if f.RequestMirror != nil && (f.RequestMirror.BackendRef.Port == nil || *f.RequestMirror.BackendRef.Port != 80) {
						t.Errorf("mirror backend %+v; want port 80", f.RequestMirror.BackendRef)
					}
				}
			}
			// All live traffic still goes to staging (its stable with the Gateway router; its Service,
			// which the replica router splits, with the replica one); the shadow is only a mirror target.
			live := map[string]string{"gateway": "iris-staging-stable", "replica": "iris-staging"}[router]
			if bw := backendWeights(rt); bw[live] != 100 || bw["iris-staging-canary"] != 0 || bw[shadowSvc] != 0 {
				t.Errorf("staging route backends %v; want %s 100 and the shadow in none", bw, live)
			}
			if h := rt.Spec.Hostnames; len(h) != 1 || h[0] != "iris.staging."+kube.DefaultRouteDomain {
				t.Errorf("staging route hostnames %v: a route must match its deployment and environment only", h)
			}
			if rt.Annotations[kube.AnnotationMirror] != shadowSvc {
				t.Errorf("staging route annotations %v", rt.Annotations)
			}
			if e.route("iris-shadow") != nil {
				t.Error("the shadow has a route of its own; it must serve no traffic")
			}
			if inv := e.inventory(); len(inv["httproutes"]) != 1 {
				t.Errorf("routes %v; want only staging's", inv["httproutes"])
			}
			svc, err := e.cs.CoreV1().Services(e.ns).Get(e.ctx, shadowSvc, metav1.GetOptions{})
			if err != nil || svc.Spec.Selector[kube.LabelRole] != string(kube.RoleShadow) || svc.Spec.Selector[kube.LabelInstance] != "iris-shadow" {
				t.Errorf("shadow Service %v: %v", svc, err)
			}

			began := time.Now()
			if _, err := k.Restore(e.ctx, "iris", "shadow", nil); err != nil {
				t.Fatalf("restore(nil) shadow: %v", err)
			}
			t.Logf("%-7s shadow removed in %s", router, time.Since(began).Round(time.Millisecond))
			rt = e.route("iris-staging")
			if rt == nil {
				t.Fatal("removing the shadow removed staging's route")
			}
			if m := mirrors(rt); len(m) != 0 || rt.Annotations[kube.AnnotationMirror] != "" {
				t.Errorf("staging route still mirrors to %v (annotations %v)", m, rt.Annotations)
			}
			if bw := backendWeights(rt); bw[live] != 100 {
				t.Errorf("staging route backends %v after removing the shadow", bw)
			}
			for _, name := range []string{"iris-shadow", shadowSvc} {
				if _, err := e.cs.CoreV1().Services(e.ns).Get(e.ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("service %s after removing the shadow: %v", name, err)
				}
			}
			for _, err := range []error{
				get(e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, "iris-shadow", metav1.GetOptions{})),
				get(e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, "iris-shadow", metav1.GetOptions{})),
				get(e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, "iris-shadow", metav1.GetOptions{})),
			} {
				if !apierrors.IsNotFound(err) {
					t.Errorf("shadow object left: %v", err)
				}
			}
			e.waitPods(rolePods("iris", "shadow", kube.RoleShadow), 0, kubeImageV2)
			if des, avail := e.replicas("iris-staging"); des != 1 || avail != 1 {
				t.Errorf("staging %d/%d after removing the shadow, want 1/1", avail, des)
			}
			mirrorOnProduction(t, e, k, router)
		})
	}
}

// mirrorOnProduction: once production runs, a shadow mirrors production's live traffic, on
// production's route, with either router (the replica router's routes carry only the mirror, in
// front of the environment's Service); staging's route mirrors nothing.
func mirrorOnProduction(t *testing.T, e *kubeEnv, k *kube.Kubernetes, router string) {
	t.Helper()
	if _, err := k.Deploy(e.ctx, kubeSpec(t, "iris", "production", kube.RoleStable, "1")); err != nil {
		t.Fatalf("deploy production: %v", err)
	}
	if _, err := k.Deploy(e.ctx, kubeSpec(t, "iris", "shadow", kube.RoleShadow, "2")); err != nil {
		t.Fatalf("deploy shadow: %v", err)
	}
	const shadowSvc = "iris-shadow-shadow"
	rt := e.route("iris-production")
	if rt == nil {
		t.Fatal("no production route carrying the mirror")
	}
	live := map[string]string{"gateway": "iris-production-stable", "replica": "iris-production"}[router]
	if m, bw := mirrors(rt), backendWeights(rt); len(m) != 1 || m[0] != shadowSvc || bw[live] != 100 {
		t.Errorf("production route mirrors %v, backends %v; want the shadow mirrored and %s at 100", m, bw, live)
	}
	if h := rt.Spec.Hostnames; len(h) != 1 || h[0] != "iris.production."+kube.DefaultRouteDomain {
		t.Errorf("production route hostnames %v", h)
	}
	if st := e.route("iris-staging"); st != nil && len(mirrors(st)) != 0 {
		t.Errorf("staging route still mirrors %v with production live", mirrors(st))
	}
	if _, err := k.Restore(e.ctx, "iris", "shadow", nil); err != nil {
		t.Fatalf("restore(nil) shadow: %v", err)
	}
	if rt := e.route("iris-production"); rt == nil || len(mirrors(rt)) != 0 {
		t.Errorf("production route after removing the shadow: %+v", rt)
	}
}
