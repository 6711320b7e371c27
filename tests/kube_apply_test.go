package tests

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// TestKubeRefusals: the rules of seed 003 refuse a manifest before anything reaches the cluster —
// a tag instead of a digest (R5), a plaintext credential in env or args (R2), missing resources —
// as a permanent error naming the rule, and the namespace stays empty.
func TestKubeRefusals(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t, "refusals", 2*time.Minute)
	k := e.backend("replica", false, e.options(30*time.Second))
	base := kubeSpec(t, "iris", "staging", kube.RoleStable, "1")
	cases := []struct {
		name, rule string
		edit       func(*kube.Spec)
	}{
		{"R5 tag", "R5", func(s *kube.Spec) { s.Image = "registry.example.test/models/iris:v1" }},
		{"R5 latest", "R5", func(s *kube.Spec) { s.Image = "registry.example.test/models/iris" }},
		{"R5 short digest", "R5", func(s *kube.Spec) { s.Image = "registry.example.test/models/iris@sha256:1234" }},
		{"R2 env", "R2", func(s *kube.Spec) { s.Env = append(s.Env, kube.EnvVar{Name: "DB_PASSWORD", Value: "hunter2"}) }},
		{"R2 args", "R2", func(s *kube.Spec) { s.Args = []string{"--api-key=abc123"} }},
		{"R2 split args", "R2", func(s *kube.Spec) { s.Args = []string{"--token", "abc123"} }},
		{"resources", "resources", func(s *kube.Spec) { delete(s.Resources, "memory") }},
	}
	for _, c := range cases {
		s := base
		s.Env = append([]kube.EnvVar(nil), base.Env...)
		s.Resources = map[string]string{"cpu": "250m", "memory": "256Mi"}
		c.edit(&s)
		for _, role := range []kube.Role{kube.RoleStable, kube.RoleCanary} {
			s.Role = role
			_, err := k.Deploy(e.ctx, s)
			var ref *kube.RefusedError
			if !errors.As(err, &ref) || ref.Rule != c.rule || !ref.Permanent() || !strings.Contains(err.Error(), c.rule) {
				t.Errorf("%s (%s): Deploy error %v; want a permanent refusal naming %s", c.name, role, err, c.rule)
			}
		}
		// Restore refuses a bad known-good too, before touching traffic.
		if _, err := k.Restore(e.ctx, "iris", "staging", &s); err == nil {
			t.Errorf("%s: Restore accepted a refused spec", c.name)
		}
	}
	if inv := e.inventory(); len(inv) != 0 {
		t.Fatalf("refused deploys created objects: %s", fmtInventory(inv))
	}
	pods := e.pods(map[string]string{})
	if len(pods) != 0 {
		t.Fatalf("refused deploys created %d pods", len(pods))
	}
}

// TestKubeIdempotentApply re-runs every write as a worker retrying after a crash would: the same
// Deploy, canary Deploy, SetWeight and Restore twice leave the same objects, no duplicates, and a
// second identical apply does not even bump a Deployment's generation.
func TestKubeIdempotentApply(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t, "idempotent", 4*time.Minute)
	k := e.backend("replica", false, e.options(60*time.Second))
	s := kubeSpec(t, "iris", "staging", kube.RoleStable, "1")
	name := kube.WorkloadName("iris", "staging", kube.RoleStable)

	if _, err := k.Deploy(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	first := e.snapshot(name)
	if _, err := k.Deploy(e.ctx, s); err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	second := e.snapshot(name)
	if first.generation != second.generation {
		t.Errorf("second identical apply bumped the generation %d → %d", first.generation, second.generation)
	}
	if first.uid != second.uid {
		t.Errorf("second apply replaced the Deployment (uid %s → %s)", first.uid, second.uid)
	}
	if !reflect.DeepEqual(first.content, second.content) {
		t.Errorf("second apply changed the objects:\nfirst  %+v\nsecond %+v", first.content, second.content)
	}
	t.Logf("deployment resourceVersion %s → %s, generation %d → %d", first.rv, second.rv, first.generation, second.generation)
	inv := e.inventory()
	if len(inv["deployments"]) != 1 || len(inv["hpas"]) != 1 || len(inv["pdbs"]) != 1 || len(inv["services"]) != 2 ||
		len(inv["replicasets"]) != 1 {
		t.Errorf("after two deploys: %s; want 1 Deployment, 1 ReplicaSet, 1 HPA, 1 PDB, 2 Services", fmtInventory(inv))
	}
	e.waitPods(rolePods("iris", "staging", kube.RoleStable), 1, kubeImageV1)

	// A production canary, every step run twice.
	ps := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
	cs := kubeSpec(t, "iris", "production", kube.RoleCanary, "2")
	for i := 0; i < 2; i++ {
		if _, err := k.Deploy(e.ctx, ps); err != nil {
			t.Fatalf("production deploy #%d: %v", i+1, err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := k.Deploy(e.ctx, cs); err != nil {
			t.Fatalf("canary deploy #%d: %v", i+1, err)
		}
	}
	stable, canary := kube.WorkloadName("iris", "production", kube.RoleStable), kube.WorkloadName("iris", "production", kube.RoleCanary)
	for i := 0; i < 2; i++ {
		if err := k.SetWeight(e.ctx, "iris", "production", 20); err != nil {
			t.Fatalf("set weight 20 #%d: %v", i+1, err)
		}
		st, ca := kube.ReplicaSplit(3, 20)
		if d, a := e.replicas(stable); d != int32(st) || a != int32(st) {
			t.Errorf("after SetWeight(20) #%d stable %d/%d, want %d", i+1, a, d, st)
		}
		if d, a := e.replicas(canary); d != int32(ca) || a != int32(ca) {
			t.Errorf("after SetWeight(20) #%d canary %d/%d, want %d", i+1, a, d, ca)
		}
	}
	good := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
	for i := 0; i < 2; i++ {
		if _, err := k.Restore(e.ctx, "iris", "production", &good); err != nil {
			t.Fatalf("restore #%d: %v", i+1, err)
		}
		if w, err := k.Weight(e.ctx, "iris", "production"); err != nil || w != 0 {
			t.Errorf("after restore #%d weight %d, %v; want 0", i+1, w, err)
		}
	}
	inv = e.inventory()
	// staging: 1 Deployment, 2 Services, HPA, PDB; production: stable + canary Deployments, the
	// environment's Service and one per role, the stable's HPA and PDB (none for a canary).
	if len(inv["deployments"]) != 3 || len(inv["hpas"]) != 2 || len(inv["pdbs"]) != 2 || len(inv["services"]) != 5 {
		t.Errorf("after re-running every step: %s", fmtInventory(inv))
	}
	if d, _ := e.replicas(canary); d != 0 {
		t.Errorf("canary replicas %d after restore, want 0", d)
	}
	e.waitPods(rolePods("iris", "production", kube.RoleStable), 3, kubeImageV1)
	e.waitPods(rolePods("iris", "production", kube.RoleCanary), 0, kubeImageV2)
}

// kubeSnapshot is an environment's objects without what the server changes on every write.
type kubeSnapshot struct {
	uid, rv    string
	generation int64
	content    map[string]any
}

func (e *kubeEnv) snapshot(name string) kubeSnapshot {
	e.t.Helper()
	d := e.deployment(name)
	hpa, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	pdb, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	svcs, err := e.cs.CoreV1().Services(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	c := map[string]any{
		"deployment.spec": d.Spec, "deployment.labels": d.Labels, "deployment.annotations": d.Annotations,
		"hpa.spec": hpa.Spec, "hpa.labels": hpa.Labels, "hpa.uid": hpa.UID,
		"pdb.spec": pdb.Spec, "pdb.labels": pdb.Labels, "pdb.uid": pdb.UID,
	}
	for _, s := range svcs.Items {
		c["service "+s.Name] = s.Spec
		c["service "+s.Name+" uid"] = s.UID
	}
	return kubeSnapshot{uid: string(d.UID), rv: d.ResourceVersion, generation: d.Generation, content: c}
}
