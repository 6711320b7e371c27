package kube

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

var deploymentsGVR = appsv1.SchemeGroupVersion.WithResource("deployments")

// fakeCluster is a fake clientset whose Deployments roll out at once (status follows spec, unless
// status says otherwise) and whose scale subresource resizes the Deployment.
type fakeCluster struct {
	cs     *fake.Clientset
	status func(d *appsv1.Deployment) // nil: the rollout is complete
	scales []string                   // "name=replicas" for every scale update, in order
}

func newFakeCluster(t *testing.T, objs ...runtime.Object) *fakeCluster {
	t.Helper()
	return newBareFakeCluster(t, append(modelPodPolicy("models"), objs...)...)
}

// modelPodPolicy is what deploy/ gives a models' namespace: the model pods' ServiceAccount and
// NetworkPolicy.
func modelPodPolicy(ns string) []runtime.Object {
	return []runtime.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ModelServiceAccount, Namespace: ns}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: ModelNetworkPolicy, Namespace: ns}},
	}
}

// newBareFakeCluster is newFakeCluster without the model pods' ServiceAccount and NetworkPolicy.
func newBareFakeCluster(t *testing.T, objs ...runtime.Object) *fakeCluster {
	t.Helper()
	f := &fakeCluster{cs: fake.NewClientset(objs...)}
	tr := f.cs.Tracker()
	f.cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g := a.(k8stesting.GetAction)
		obj, err := tr.Get(deploymentsGVR, g.GetNamespace(), g.GetName())
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		switch a.GetSubresource() {
		case "scale":
			return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace, ResourceVersion: d.ResourceVersion},
				Spec: autoscalingv1.ScaleSpec{Replicas: ptr.Deref(d.Spec.Replicas, 1)}}, nil
		case "":
			n := ptr.Deref(d.Spec.Replicas, 1)
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
			if f.status != nil {
				f.status(d)
			}
			return true, d, nil
		}
		return false, nil, nil
	})
	f.cs.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		sc := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		obj, err := tr.Get(deploymentsGVR, a.GetNamespace(), sc.Name)
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		d.Spec.Replicas = ptr.To(sc.Spec.Replicas)
		f.scales = append(f.scales, sc.Name+"="+strconv.Itoa(int(sc.Spec.Replicas)))
		return true, sc, tr.Update(deploymentsGVR, d, a.GetNamespace())
	})
	return f
}

// fail makes every verb on resource fail with a Forbidden error.
func (f *fakeCluster) fail(verb, resource string) {
	f.cs.PrependReactor(verb, resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "x", errors.New("denied by test"))
	})
}

// backend is the Kubernetes backend over f, routing by replica counts, with fast polls.
func (f *fakeCluster) backend(t *testing.T, opt Options) *Kubernetes {
	t.Helper()
	opt.Poll, opt.ScaleDownDelay = time.Millisecond, -1
	k, err := New(f.cs, NewReplicaRouter(f.cs, opt, nil), opt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writes lists the fake's mutating actions as "verb resource[/sub] name".
func (f *fakeCluster) writes() []string {
	var out []string
	for _, a := range f.cs.Actions() {
		if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		res := a.GetResource().Resource
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		name := ""
		if n, ok := a.(interface{ GetName() string }); ok {
			name = n.GetName()
		} else if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if m, err := metaName(o.GetObject()); err == nil {
				name = m
			}
		}
		out = append(out, a.GetVerb()+" "+res+" "+name)
	}
	return out
}

func metaName(o runtime.Object) (string, error) {
	if m, ok := o.(metav1.Object); ok {
		return m.GetName(), nil
	}
	return "", errors.New("no name")
}

func (f *fakeCluster) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := f.cs.AppsV1().Deployments("models").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

func TestNew(t *testing.T) {
	cs := fake.NewClientset()
	r := NewReplicaRouter(cs, Options{}, nil)
	if _, err := New(nil, r, Options{}); err == nil {
		t.Error("New without a clientset must fail")
	}
	if _, err := New(cs, nil, Options{}); err == nil {
		t.Error("New without a router must fail")
	}
	k, err := New(cs, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := k.opt
	eq(t, "defaults", []any{o.Namespace, o.ProgressDeadline, o.ScaleDownDelay, o.Poll, o.Endpoints, o.Log != nil},
		[]any{"models", 600 * time.Second, 30 * time.Second, 500 * time.Millisecond, Endpoints(ServiceDNS{}), true})
	eq(t, "workloads", k.w, workloads{cs: cs, ns: "models", poll: 500 * time.Millisecond, deadline: 600 * time.Second})
	k, _ = New(cs, r, Options{Namespace: "ml", ProgressDeadline: time.Minute, ScaleDownDelay: -time.Second, Poll: time.Second})
	eq(t, "given", []any{k.opt.Namespace, k.opt.ProgressDeadline, k.opt.ScaleDownDelay, k.opt.Poll}, []any{"ml", time.Minute, time.Duration(0), time.Second})
}

func TestDeploy(t *testing.T) {
	cases := []struct {
		env       string
		role      Role
		replicas  int32
		writes    []string
		endpoint  string
		errSubstr string
	}{
		{"staging", RoleStable, 1, []string{
			"patch deployments fraud-staging", "patch services fraud-staging",
			"patch services fraud-staging-stable", "patch horizontalpodautoscalers fraud-staging", "patch poddisruptionbudgets fraud-staging",
		}, "http://fraud-staging.models.svc.cluster.local", ""},
		{"production", RoleCanary, 0, []string{ // replica router: no canary pod before the first weight
			"patch deployments fraud-production-canary", "patch services fraud-production",
			"patch services fraud-production-canary",
		}, "http://fraud-production-canary.models.svc.cluster.local", ""},
		{"shadow", RoleShadow, 2, nil, "", "route fraud-shadow: shadow fraud needs a traffic mirror"},
	}
	for _, tc := range cases {
		t.Run(tc.env+"/"+string(tc.role), func(t *testing.T) {
			f := newFakeCluster(t)
			k := f.backend(t, Options{ProgressDeadline: 2 * time.Minute})
			s := testSpec(tc.env, tc.role)
			ro, err := k.Deploy(context.Background(), s)
			name := WorkloadName("fraud", tc.env, tc.role)
			d := f.deployment(t, name)
			eq(t, "replicas", *d.Spec.Replicas, tc.replicas)
			eq(t, "progressDeadlineSeconds", *d.Spec.ProgressDeadlineSeconds, int32(120))
			eq(t, "field manager", d.ManagedFields[0].Manager, FieldManager)
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("Deploy = %v; want an error with %q", err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			eq(t, "writes", f.writes(), tc.writes)
			eq(t, "endpoint", ro.EndpointURL, tc.endpoint)
			eq(t, "health", ro.HealthURL, tc.endpoint+"/readyz")
			eq(t, "metrics", ro.MetricsURL, tc.endpoint+"/metrics")
			eq(t, "rollout replicas", ro.Replicas, s.Scaling.Replicas)
			eq(t, "autoscaling", ro.Autoscaling, map[string]any{"min_replicas": s.Scaling.MinReplicas,
				"max_replicas": s.Scaling.MaxReplicas, "target_cpu_percent": s.Scaling.TargetCPUPercent})

			got, found, err := k.read(context.Background(), name)
			if err != nil || !found {
				t.Fatalf("read back: %v, found %v", err, found)
			}
			eq(t, "spec read back", got, s)
			// Idempotent: a second Deploy applies the same objects again.
			if _, err := k.Deploy(context.Background(), s); err != nil {
				t.Fatalf("second Deploy: %v", err)
			}
		})
	}
}

func TestDeployApplyErrors(t *testing.T) {
	cases := []struct {
		resource  string
		errPrefix string
		untouched []string
	}{
		{"deployments", "deployment fraud-staging.models apply: ", []string{"services", "horizontalpodautoscalers", "poddisruptionbudgets"}},
		{"services", "service fraud-staging.models apply: ", []string{"horizontalpodautoscalers", "poddisruptionbudgets"}},
		{"horizontalpodautoscalers", "hpa fraud-staging.models apply: ", []string{"poddisruptionbudgets"}},
		{"poddisruptionbudgets", "pdb fraud-staging.models apply: ", nil},
	}
	for _, tc := range cases {
		t.Run(tc.resource, func(t *testing.T) {
			f := newFakeCluster(t)
			f.fail("patch", tc.resource)
			_, err := f.backend(t, Options{}).Deploy(context.Background(), testSpec("staging", RoleStable))
			if err == nil || !strings.HasPrefix(err.Error(), tc.errPrefix) {
				t.Fatalf("Deploy = %v; want prefix %q", err, tc.errPrefix)
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("the API error is not wrapped: %v", err)
			}
			var p interface{ Permanent() bool }
			if errors.As(err, &p) {
				t.Errorf("an API error is not permanent: %v", err)
			}
			failed := false // the apply reads the live Deployment first; nothing reads it after a failure
			for _, a := range f.cs.Actions() {
				for _, r := range tc.untouched {
					if a.GetVerb() != "get" && a.GetResource().Resource == r {
						t.Errorf("went on after the failed apply: %s %s", a.GetVerb(), r)
					}
				}
				failed = failed || (a.GetVerb() == "patch" && a.GetResource().Resource == tc.resource)
				if failed && a.GetVerb() == "get" && a.GetResource().Resource == "deployments" {
					t.Error("waited for a rollout after a failed apply")
				}
			}
		})
	}
}

func TestDeployRefusedWritesNothing(t *testing.T) {
	for _, edit := range []func(*Spec){
		func(s *Spec) { s.Image = "fraud:latest" },
		func(s *Spec) { s.Env = []EnvVar{{Name: "TOKEN", Value: "x"}} },
		func(s *Spec) { s.Resources = map[string]string{"cpu": "1"} },
	} {
		f := newFakeCluster(t)
		s := testSpec("staging", RoleStable)
		edit(&s)
		_, err := f.backend(t, Options{}).Deploy(context.Background(), s)
		var re *RefusedError
		if !errors.As(err, &re) || !re.Permanent() {
			t.Errorf("Deploy = %v; want a permanent *RefusedError", err)
		}
		if n := len(f.cs.Actions()); n != 0 {
			t.Errorf("a refused spec made %d API calls: %v", n, f.writes())
		}
	}
}

func TestCurrent(t *testing.T) {
	withAnn := func(ann map[string]string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-production", Namespace: "models", Annotations: ann}}
	}
	o, err := Build(testSpec("production", RoleStable), "models", 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		objs      []runtime.Object
		failGet   bool
		found     bool
		errSubstr string
	}{
		{"ours", []runtime.Object{withAnn(o.Deployment.Annotations)}, false, true, ""},
		{"missing", nil, false, false, ""},
		{"canary only", []runtime.Object{&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-production-canary", Namespace: "models",
			Annotations: o.Deployment.Annotations}}}, false, false, ""},
		{"not ours", []runtime.Object{withAnn(map[string]string{"other": "x"})}, false, false, "refused (ownership): deployment fraud-production.models has no temporaldeployer.io/spec annotation"},
		{"corrupt annotation", []runtime.Object{withAnn(map[string]string{AnnotationSpec: "{not json"})}, false, false, "refused (ownership): deployment fraud-production.models: its temporaldeployer.io/spec annotation does not decode"},
		{"get fails", nil, true, false, "deployment fraud-production.models get: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCluster(t, tc.objs...)
			if tc.failGet {
				f.fail("get", "deployments")
			}
			got, found, err := f.backend(t, Options{}).Current(context.Background(), "fraud", "production")
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("Current = %v; want an error with %q", err, tc.errSubstr)
				}
				// Someone else's Deployment is a permanent refusal; a failed read is retried.
				var p interface{ Permanent() bool }
				if perm := errors.As(err, &p) && p.Permanent(); perm != strings.HasPrefix(tc.errSubstr, "refused") {
					t.Errorf("Current = %v: permanent %v", err, perm)
				}
				return
			}
			if err != nil {
				t.Fatalf("Current: %v", err)
			}
			eq(t, "found", found, tc.found)
			if found {
				eq(t, "spec", got, testSpec("production", RoleStable))
			}
		})
	}
}
