package harness

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

func spec(deployment, env string, role kube.Role, version string) kube.Spec {
	return kube.Spec{DeploymentName: deployment, Environment: env, Role: role, ModelVersion: version}
}

func TestTargetGroupLabels(t *testing.T) {
	g := targetGroup("http://127.0.0.1:40123", spec("fraud", "production", kube.RoleCanary, "7"), "fraud-canary")
	want := TargetGroup{Targets: []string{"127.0.0.1:40123"}, Labels: map[string]string{
		"td_deployment": "fraud", "td_environment": "production", "td_role": "canary",
		"td_model_version": "7", "td_service": "fraud-canary"}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("got %+v, want %+v", g, want)
	}
}

func TestWriteTargetsSortedAndRoundTrips(t *testing.T) {
	groups := []TargetGroup{
		targetGroup("http://127.0.0.1:3", spec("fraud", "production", kube.RoleStable, "6"), "fraud"),
		targetGroup("http://127.0.0.1:1", spec("churn", "staging", kube.RoleStable, "2"), "churn"),
		targetGroup("http://127.0.0.1:2", spec("fraud", "production", kube.RoleCanary, "7"), "fraud-canary"),
	}
	path := filepath.Join(t.TempDir(), "targets.json")
	if err := WriteTargets(path, groups); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	got, err := ReadTargets(path)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, g := range got {
		order = append(order, g.Targets[0])
	}
	if want := []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("order %v, want %v (churn, then fraud canary before stable)", order, want)
	}
	if !reflect.DeepEqual(got[2], groups[0]) {
		t.Fatalf("read back %+v, want %+v", got[2], groups[0])
	}
	// Another input order gives the same bytes; the caller's slice is left as it was.
	reversed := []TargetGroup{groups[2], groups[1], groups[0]}
	if err := WriteTargets(path, reversed); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(first) {
		t.Fatalf("not deterministic:\n%s\nvs\n%s", first, again)
	}
	if reversed[0].Targets[0] != "127.0.0.1:2" {
		t.Fatalf("WriteTargets reordered the caller's slice")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestWriteTargetsEmptyIsAList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	if err := WriteTargets(path, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("empty targets file is %q, want []", b)
	}
	if got, err := ReadTargets(path); err != nil || len(got) != 0 {
		t.Fatalf("ReadTargets = %v, %v", got, err)
	}
}

func TestWriteTargetsFails(t *testing.T) {
	err := WriteTargets(filepath.Join(t.TempDir(), "missing-dir", "targets.json"), nil)
	if err == nil || !strings.Contains(err.Error(), "targets file") {
		t.Fatalf("got %v, want an error naming the targets file", err)
	}
}

func TestReadTargetsRejects(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":   `{"targets":`,
		"an object":  `{"targets": ["127.0.0.1:1"]}`,
		"no targets": `[{"targets": [], "labels": {"td_role": "stable"}}]`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadTargets(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("ReadTargets(%s) = %v, want an error naming the file", content, err)
			}
		})
	}
	if _, err := ReadTargets(filepath.Join(dir, "absent.json")); err == nil {
		t.Fatal("a missing file read without error")
	}
}

func TestIngressWritesItsReadyServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	in := &Ingress{TargetsFile: path, backends: map[string]*backend{
		"fraud-production":        readyBackend("http://127.0.0.1:9", spec("fraud", "production", kube.RoleStable, "6")),
		"fraud-production-canary": readyBackend("http://127.0.0.1:10", spec("fraud", "production", kube.RoleCanary, "7")),
		"fraud-staging":           {spec: spec("fraud", "staging", kube.RoleStable, "7"), ready: make(chan struct{})}, // starting
	}}
	if err := in.writeTargets(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTargets(path)
	if err != nil || len(got) != 2 || got[0].Labels["td_service"] != "fraud-production-canary" || got[1].Labels["td_service"] != "fraud-production" {
		t.Fatalf("targets %+v, %v: want the two ready servers, each with its role's Service", got, err)
	}
	delete(in.backends, "fraud-production")
	delete(in.backends, "fraud-production-canary")
	if err := in.writeTargets(); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadTargets(path); len(got) != 0 {
		t.Fatalf("after the servers went: %+v, want none", got)
	}
	if err := (&Ingress{}).writeTargets(); err != nil {
		t.Fatalf("no TargetsFile: %v", err)
	}
}

// readyBackend is a backend whose server answers at url (alive: its process has not exited).
func readyBackend(url string, s kube.Spec) *backend {
	b := &backend{spec: s, ready: make(chan struct{}), srv: &Server{URL: url, done: make(chan struct{})}, cancel: func() {}}
	close(b.ready)
	return b
}
