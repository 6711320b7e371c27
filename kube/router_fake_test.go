package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// dep is a Deployment in "models" of replicas pods, carrying s as its spec annotation if s is set.
func dep(name string, replicas int32, s *Spec) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "models"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
	if s != nil {
		raw, _ := json.Marshal(s)
		d.Annotations = map[string]string{AnnotationSpec: string(raw)}
	}
	return d
}

func om(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "models"} }

func TestRestoreNil(t *testing.T) {
	all := []runtime.Object{
		dep("fraud-production", 3, nil), dep("fraud-production-canary", 1, nil),
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("fraud-production")},
		&policyv1.PodDisruptionBudget{ObjectMeta: om("fraud-production")},
		&corev1.Service{ObjectMeta: om("fraud-production")}, &corev1.Service{ObjectMeta: om("fraud-production-stable")},
		&corev1.Service{ObjectMeta: om("fraud-production-canary")},
		dep("fraud-staging", 1, nil), &corev1.Service{ObjectMeta: om("fraud-staging")}, dep("other-production", 1, nil),
	}
	wantDeletes := []string{
		"delete deployments fraud-production", "delete deployments fraud-production-canary",
		"delete horizontalpodautoscalers fraud-production", "delete poddisruptionbudgets fraud-production",
		"delete services fraud-production", "delete services fraud-production-stable",
		"delete services fraud-production-canary", "delete services fraud-production-shadow",
	}
	cases := []struct {
		name      string
		objs      []runtime.Object
		failVerb  string // a delete of this resource fails
		errSubstr string
	}{
		{"everything present", all, "", ""},
		{"nothing present", nil, "", ""},
		{"service delete forbidden", all, "services", "service fraud-production delete: "},
		{"hpa delete forbidden", all, "horizontalpodautoscalers", "hpa fraud-production delete: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCluster(t, tc.objs...)
			if tc.failVerb != "" {
				f.fail("delete", tc.failVerb)
			}
			ro, err := f.backend(t, Options{}).Restore(context.Background(), "fraud", "production", nil)
			eq(t, "rollout", ro, Rollout{})
			eq(t, "deletes", f.writes(), wantDeletes)
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) || !apierrors.IsForbidden(err) {
					t.Fatalf("Restore = %v; want a Forbidden error with %q", err, tc.errSubstr)
				}
			} else if err != nil {
				t.Fatalf("Restore(nil) = %v", err)
			}
			ctx := context.Background()
			for _, name := range []string{"fraud-production", "fraud-production-canary"} {
				if _, err := f.cs.AppsV1().Deployments("models").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("deployment %s is still there (%v)", name, err)
				}
			}
			if _, err := f.cs.PolicyV1().PodDisruptionBudgets("models").Get(ctx, "fraud-production", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("pdb is still there (%v)", err)
			}
			if tc.objs != nil { // other environments and deployments are untouched
				for _, name := range []string{"fraud-staging", "other-production"} {
					f.deployment(t, name)
				}
			}
		})
	}
}

func TestRestoreKnownGood(t *testing.T) {
	old := testSpec("production", RoleStable)
	old.ModelVersion = "8"
	cases := []struct {
		env       string
		objs      []runtime.Object
		scales    []string
		replicas  int32
		endpoint  string
		errSubstr string
	}{
		{"production", []runtime.Object{dep("fraud-production", 0, &old), dep("fraud-production-canary", 3, nil)},
			[]string{"fraud-production=3", "fraud-production-canary=0"}, 3, "fraud-production", ""},
		// Ten HPA pods and a 5 % canary beside them: the canary goes, the ten stay (they became 3).
		{"production", []runtime.Object{dep("fraud-production", 10, &old), dep("fraud-production-canary", 1, nil)},
			[]string{"fraud-production-canary=0"}, 10, "fraud-production", ""},
		{"production", []runtime.Object{dep("fraud-production", 3, &old)}, nil, 3, "fraud-production", ""},
		{"shadow", []runtime.Object{dep("fraud-shadow", 2, &old)}, nil, 2, "fraud-shadow-shadow", "needs a traffic mirror"},
		{"staging", []runtime.Object{dep("fraud-staging", 1, &old)}, nil, 1, "fraud-staging", ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.env, tc.replicas), func(t *testing.T) {
			f := newFakeCluster(t, tc.objs...)
			k := f.backend(t, Options{})
			good := testSpec(tc.env, RoleCanary)
			good.DeploymentName, good.Environment = "ignored", "ignored" // Restore names it
			ro, err := k.Restore(context.Background(), "fraud", tc.env, &good)
			eq(t, "scales", f.scales, tc.scales)
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("Restore = %v; want an error with %q", err, tc.errSubstr)
				}
			} else if err != nil {
				t.Fatalf("Restore: %v", err)
			} else {
				eq(t, "endpoint", ro.EndpointName, tc.endpoint)
			}
			want := testSpec(tc.env, roleIn(tc.env))
			want.DeploymentName, want.Environment = "fraud", tc.env
			d := f.deployment(t, instance("fraud", tc.env))
			eq(t, "replicas", *d.Spec.Replicas, tc.replicas)
			got, _, err := SpecOf(d)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "restored spec", got, want)
		})
	}
}

func TestRestoreRefused(t *testing.T) {
	f := newFakeCluster(t, dep("fraud-production", 3, nil), dep("fraud-production-canary", 2, nil))
	bad := testSpec("production", RoleStable)
	bad.Image = "fraud:v1"
	_, err := f.backend(t, Options{}).Restore(context.Background(), "fraud", "production", &bad)
	var re *RefusedError
	if !errors.As(err, &re) || re.Rule != "R5" {
		t.Fatalf("Restore = %v; want an R5 refusal", err)
	}
	eq(t, "writes", f.writes(), []string(nil))
}

func TestSetWeight(t *testing.T) {
	stable := testSpec("production", RoleStable) // its spec says 3 replicas
	cases := []struct {
		name      string
		weight    int
		st, ca    int32 // live replicas (an HPA set the stable's); ca < 0: no canary
		noStable  bool
		scales    []string
		effective int
		errSubstr string
	}{
		{"5%", 5, 3, 0, false, []string{"fraud-production-canary=1"}, 25, ""},
		{"20% again", 20, 3, 1, false, nil, 25, ""},
		{"50%", 50, 3, 1, false, []string{"fraud-production-canary=3"}, 50, ""},
		{"100%", 100, 3, 3, false, []string{"fraud-production=0"}, 100, ""},
		{"back to 0% from 100%", 0, 0, 3, false, []string{"fraud-production=3", "fraud-production-canary=0"}, 0, ""},
		{"back to 0% from 20%", 0, 3, 1, false, []string{"fraud-production-canary=0"}, 0, ""},
		// Ten pods an HPA scaled up stay ten: the canary is added beside them (it was 2 + 1).
		{"5% of ten HPA pods", 5, 10, 0, false, []string{"fraud-production-canary=1"}, 9, ""},
		{"20% of ten HPA pods", 20, 10, 1, false, []string{"fraud-production-canary=3"}, 23, ""},
		{"80% of ten HPA pods", 80, 10, 10, false, []string{"fraud-production=3"}, 76, ""},
		{"100% of ten HPA pods", 100, 3, 10, false, []string{"fraud-production=0"}, 100, ""},
		{"back from 80% of ten", 0, 3, 10, false, []string{"fraud-production=10", "fraud-production-canary=0"}, 0, ""},
		{"0% without canary", 0, 3, -1, false, nil, 0, ""},
		{"50% without canary", 50, 3, -1, false, nil, 0, "rollout of fraud-production failed: no canary workload"},
		{"no stable", 50, 0, 1, true, nil, 0, "rollout of fraud-production failed: no stable workload"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("fraud-production")}}
			if !tc.noStable {
				objs = append(objs, dep("fraud-production", tc.st, &stable))
			}
			if tc.ca >= 0 {
				objs = append(objs, dep("fraud-production-canary", tc.ca, nil))
			}
			f := newFakeCluster(t, objs...)
			k := f.backend(t, Options{})
			ctx := context.Background()
			err := k.SetWeight(ctx, "fraud", "production", tc.weight)
			eq(t, "scales", f.scales, tc.scales)
			// The stable's HPA stays: it keeps production's size while the canary runs.
			if _, err := f.cs.AutoscalingV2().HorizontalPodAutoscalers("models").Get(ctx, "fraud-production", metav1.GetOptions{}); err != nil {
				t.Errorf("stable HPA: %v; want it kept", err)
			}
			for _, a := range f.cs.Actions() {
				if a.GetVerb() != "get" && a.GetResource().Resource == "horizontalpodautoscalers" {
					t.Errorf("SetWeight wrote the HPA: %s", a.GetVerb())
				}
			}
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("SetWeight = %v; want an error with %q", err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetWeight: %v", err)
			}
			w, err := k.Weight(ctx, "fraud", "production")
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "effective weight", w, tc.effective)
			// Idempotent: the same weight again scales nothing.
			f.scales = nil
			if err := k.SetWeight(ctx, "fraud", "production", tc.weight); err != nil || f.scales != nil {
				t.Errorf("second SetWeight = %v, scales %v; want nil, none", err, f.scales)
			}
		})
	}
}

// TestApplyKeepsLiveReplicas: a forced apply on an existing stable keeps the size its HPA set
// (within the new spec's bounds) instead of resetting it to the spec's initial replicas.
func TestApplyKeepsLiveReplicas(t *testing.T) {
	s := testSpec("production", RoleStable) // replicas 3, min 2, max 10
	cases := []struct {
		name string
		live int32 // < 0: no Deployment yet
		want int32
	}{
		{"new: the spec's size", -1, 3}, {"HPA scaled up", 7, 7}, {"HPA at max", 10, 10},
		{"above the new max", 14, 10}, {"below the new min", 1, 2}, {"scaled to zero by the router", 0, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.live >= 0 {
				objs = append(objs, dep("fraud-production", tc.live, &s))
			}
			f := newFakeCluster(t, objs...)
			if _, err := f.backend(t, Options{}).Deploy(context.Background(), s); err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			eq(t, "replicas", *f.deployment(t, "fraud-production").Spec.Replicas, tc.want)
		})
	}
}

func TestPromote(t *testing.T) {
	stable, canary := testSpec("production", RoleStable), testSpec("production", RoleCanary)
	canary.ModelVersion = "8"
	cases := []struct {
		name           string
		stable, canary int32
		scales         []string
		want           int32
	}{
		{"replica router at 100 %", 0, 3, []string{"fraud-production-canary=0"}, 3},
		{"replica router at 100 % of ten HPA pods", 0, 10, []string{"fraud-production-canary=0"}, 10},
		{"gateway router: ten HPA pods and a full-size canary", 10, 10, []string{"fraud-production-canary=0"}, 10},
	}
	var k *Kubernetes
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCluster(t, dep("fraud-production", tc.stable, &stable), dep("fraud-production-canary", tc.canary, &canary))
			k = f.backend(t, Options{})
			ro, err := k.Promote(context.Background(), "fraud", "production")
			if err != nil {
				t.Fatalf("Promote: %v", err)
			}
			// The promoted version serves behind the environment's Service, not the emptied canary's.
			eq(t, "promoted endpoint", ro.EndpointName+" "+ro.EndpointURL, "fraud-production http://fraud-production.models.svc.cluster.local")
			eq(t, "scales", f.scales, tc.scales)
			got, found, err := k.Current(context.Background(), "fraud", "production")
			want := canary
			want.Role = RoleStable
			if err != nil || !found {
				t.Fatalf("Current: %v, %v", err, found)
			}
			eq(t, "promoted spec", got, want)
			eq(t, "stable replicas", *f.deployment(t, "fraud-production").Spec.Replicas, tc.want)
			if _, err := f.cs.AutoscalingV2().HorizontalPodAutoscalers("models").Get(context.Background(), "fraud-production", metav1.GetOptions{}); err != nil {
				t.Errorf("the stable HPA is not there: %v", err)
			}
		})
	}

	_, err := k.Promote(context.Background(), "other", "production")
	var re *RolloutError
	if !errors.As(err, &re) || !re.Permanent() || !strings.Contains(err.Error(), "no canary to promote") {
		t.Errorf("Promote without a canary = %v; want a permanent RolloutError", err)
	}
}

func TestRolledOut(t *testing.T) {
	cond := func(status corev1.ConditionStatus, reason string) appsv1.DeploymentCondition {
		return appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason, Message: "ReplicaSet \"x\" has timed out progressing."}
	}
	good := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
	with := func(edit func(*appsv1.DeploymentStatus)) appsv1.DeploymentStatus { s := good; edit(&s); return s }
	cases := []struct {
		name     string
		replicas *int32
		status   appsv1.DeploymentStatus
		done     bool
		failed   string
	}{
		{"all good", ptr.To[int32](3), good, true, ""},
		{"observed generation behind", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) { s.ObservedGeneration = 1 }), false, ""},
		{"observed generation ahead", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) { s.ObservedGeneration = 3 }), true, ""},
		{"updated < want", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) { s.UpdatedReplicas = 2 }), false, ""},
		{"available < want", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) { s.AvailableReplicas = 2 }), false, ""},
		{"old replicas still present", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) { s.Replicas = 4 }), false, ""},
		{"scaling down", ptr.To[int32](1), good, false, ""},
		{"nil replicas means one", nil, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}, true, ""},
		{"scaled to zero", ptr.To[int32](0), appsv1.DeploymentStatus{ObservedGeneration: 2}, true, ""},
		{"progressing", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) {
			s.UpdatedReplicas = 1
			s.Conditions = []appsv1.DeploymentCondition{cond(corev1.ConditionTrue, "ReplicaSetUpdated")}
		}), false, ""},
		{"complete", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) {
			s.Conditions = []appsv1.DeploymentCondition{cond(corev1.ConditionTrue, "NewReplicaSetAvailable")}
		}), true, ""},
		{"progress deadline exceeded", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) {
			s.AvailableReplicas = 2
			s.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}, cond(corev1.ConditionFalse, "ProgressDeadlineExceeded")}
		}), false, "progress deadline (600s) exceeded: ReplicaSet \"x\" has timed out progressing."},
		{"progressing false for another reason", ptr.To[int32](3), with(func(s *appsv1.DeploymentStatus) {
			s.UpdatedReplicas = 1
			s.Conditions = []appsv1.DeploymentCondition{cond(corev1.ConditionFalse, "ReplicaSetCreateError")}
		}), false, ""},
	}
	for _, tc := range cases {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x", Generation: 2},
			Spec: appsv1.DeploymentSpec{Replicas: tc.replicas, ProgressDeadlineSeconds: ptr.To[int32](600)}, Status: tc.status}
		done, failed := rolledOut(d)
		if done != tc.done || failed != tc.failed {
			t.Errorf("%s: rolledOut = %v, %q; want %v, %q", tc.name, done, failed, tc.done, tc.failed)
		}
	}
}

func TestWaitRollout(t *testing.T) {
	polls := 0
	cases := []struct {
		name   string
		status func(*appsv1.Deployment)
		check  func(error) bool
	}{
		{"ready after three polls", func(d *appsv1.Deployment) {
			if polls++; polls < 3 {
				d.Status.AvailableReplicas = 0
			}
		}, func(err error) bool { return err == nil && polls == 3 }},
		{"deadline exceeded", func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 0
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
				Reason: "ProgressDeadlineExceeded", Message: "timed out"}}
		}, func(err error) bool {
			var re *RolloutError
			return errors.As(err, &re) && re.Permanent() && re.Name == "fraud-staging" &&
				err.Error() == "rollout of fraud-staging failed: progress deadline (60s) exceeded: timed out"
		}},
		{"never ready, context ends", func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 0 },
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCluster(t)
			f.status = tc.status
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := f.backend(t, Options{ProgressDeadline: time.Minute}).Deploy(ctx, testSpec("staging", RoleStable))
			if !tc.check(err) {
				t.Errorf("Deploy = %v (polls %d)", err, polls)
			}
		})
	}
	f := newFakeCluster(t)
	if err := f.backend(t, Options{}).w.waitRollout(context.Background(), "missing"); err != nil {
		t.Errorf("waiting on a missing Deployment = %v; want nil", err)
	}
}

// TestApplyRetriesAConflict: the Deployment's write is conditional on the resourceVersion read
// with its live size; a conflict (an HPA scaled in between) re-reads it, a lasting one is an error.
func TestApplyRetriesAConflict(t *testing.T) {
	s := testSpec("production", RoleStable)
	for _, tc := range []struct {
		conflicts int
		wantErr   bool
	}{{1, false}, {4, false}, {5, true}} {
		t.Run(fmt.Sprint(tc.conflicts), func(t *testing.T) {
			f := newFakeCluster(t, dep("fraud-production", 7, &s))
			n := 0
			f.cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if n++; n > tc.conflicts {
					return false, nil, nil
				}
				return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "fraud-production", errors.New("changed"))
			})
			_, err := f.backend(t, Options{}).Deploy(context.Background(), s)
			if got := err != nil; got != tc.wantErr || (err != nil && !apierrors.IsConflict(err)) {
				t.Fatalf("Deploy after %d conflicts = %v; want error %v", tc.conflicts, err, tc.wantErr)
			}
			reads := 0
			for _, a := range f.cs.Actions() {
				if a.GetVerb() == "get" && a.GetResource().Resource == "deployments" && a.GetSubresource() == "" {
					reads++
				}
			}
			if want := min(tc.conflicts+1, 5); reads < want {
				t.Errorf("%d reads of the live Deployment; want at least %d (one per attempt)", reads, want)
			}
		})
	}
}

// TestForeignDeploymentRefused: a Deployment at a workload's name without temporaldeployer's spec
// annotation is someone else's: Deploy and Restore refuse it (permanently) and write nothing.
func TestForeignDeploymentRefused(t *testing.T) {
	good := testSpec("production", RoleStable)
	for _, op := range []struct {
		name string
		run  func(*Kubernetes) error
	}{
		{"deploy", func(k *Kubernetes) error { _, err := k.Deploy(context.Background(), good); return err }},
		{"restore", func(k *Kubernetes) error {
			_, err := k.Restore(context.Background(), "fraud", "production", &good)
			return err
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			f := newFakeCluster(t, dep("fraud-production", 4, nil))
			err := op.run(f.backend(t, Options{}))
			var re *RefusedError
			if !errors.As(err, &re) || re.Rule != "ownership" || !re.Permanent() {
				t.Fatalf("%s = %v; want a permanent ownership refusal", op.name, err)
			}
			for _, w := range f.writes() {
				if !strings.HasPrefix(w, "update deployments/scale fraud-production-canary") { // Restore's traffic-back first
					t.Errorf("wrote %s", w)
				}
			}
			eq(t, "replicas", *f.deployment(t, "fraud-production").Spec.Replicas, int32(4))
		})
	}
}
