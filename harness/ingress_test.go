package harness

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

const ns = "models"

func deployment(name string, n int32, tmpl map[string]string, image string, s *kube.Spec) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{}},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: tmpl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}}}
	if s != nil {
		b, _ := json.Marshal(s)
		d.Annotations[kube.AnnotationSpec] = string(b)
	}
	return d
}

func service(name string, sel map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{Selector: sel}}
}

func TestPickWorkload(t *testing.T) {
	env := map[string]string{"app": "fraud", "env": "prod"}
	stable := deployment("fraud-prod", 9, map[string]string{"app": "fraud", "env": "prod", "role": "stable"}, "a", nil)
	canary := deployment("fraud-prod-canary", 1, map[string]string{"app": "fraud", "env": "prod", "role": "canary"}, "b", nil)
	idle := deployment("fraud-prod-shadow", 0, map[string]string{"app": "fraud", "env": "prod", "role": "shadow"}, "c", nil)
	other := deployment("churn-prod", 5, map[string]string{"app": "churn", "env": "prod", "role": "stable"}, "d", nil)
	deps := []*appsv1.Deployment{stable, canary, idle, other}
	for _, c := range []struct {
		name  string
		sel   map[string]string
		at    int // what intn returns
		want  string
		ready []string // workloads whose server serves (none: every one still starting)
	}{
		{"replica split: first 9 of 10 to the stable", env, 0, "fraud-prod", nil},
		{"replica split: 9th of 10 still stable", env, 8, "fraud-prod", nil},
		{"replica split: 10th of 10 to the canary", env, 9, "fraud-prod-canary", nil},
		{"role service", map[string]string{"app": "fraud", "role": "canary"}, 0, "fraud-prod-canary", nil},
		{"scaled to zero serves nothing", map[string]string{"role": "shadow"}, 0, "", nil},
		{"no selector selects nothing", nil, 0, "", nil},
		{"nothing matches", map[string]string{"app": "none"}, 0, "", nil},
		// The stable rolling to a new image while its server starts: the ready canary takes it all.
		{"only the canary's server serves", env, 0, "fraud-prod-canary", []string{"fraud-prod-canary"}},
		{"both serve", env, 9, "fraud-prod-canary", []string{"fraud-prod", "fraud-prod-canary"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			total := -1
			ready := func(name string) bool { return slices.Contains(c.ready, name) }
			got, ok := pickWorkload(service("s", c.sel), deps, ready, func(n int) int { total = n; return c.at })
			if got != c.want || ok != (c.want != "") {
				t.Fatalf("pick = %q, %v; want %q", got, ok, c.want)
			}
			if c.name[:7] == "replica" && total != 10 {
				t.Errorf("weights summed to %d, want 10 replicas", total)
			}
		})
	}
}

func TestWanted(t *testing.T) {
	s := kube.Spec{DeploymentName: "fraud", Environment: "production", Role: kube.RoleCanary, ModelVersion: "7"}
	faults := []Fault{{ModelVersion: "7", Role: kube.RoleCanary, Env: "TD_FAULT=error"}}
	ws := wanted([]*appsv1.Deployment{
		deployment("fraud-production-canary", 1, nil, "img@sha256:b", &s),
		deployment("scaled-down", 0, nil, "img@sha256:c", &s),
		deployment("someone-elses", 2, nil, "img@sha256:d", nil),
		deployment("no-image", 1, nil, "", &s),
	}, faults)
	w, ok := ws["fraud-production-canary"]
	if len(ws) != 1 || !ok || w.image != "img@sha256:b" || strings.Join(w.env, ",") != "TD_FAULT=error" {
		t.Fatalf("wanted %+v: want only the canary's server, with its fault switch", ws)
	}
	if w.key() == (want{image: "img@sha256:b"}).key() {
		t.Error("a fault switch does not change the server's key")
	}
}

// ingressOver is an Ingress over fixed objects and backends (no informer, no bentoml).
func ingressOver(t *testing.T, objs []any, backends map[string]*backend) *Ingress {
	t.Helper()
	indexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	deps, svcs := indexer(), indexer()
	for _, o := range objs {
		idx := deps
		if _, ok := o.(*corev1.Service); ok {
			idx = svcs
		}
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	in := &Ingress{Namespace: ns, Hold: 200 * time.Millisecond, backends: backends,
		deployments: appslisters.NewDeploymentLister(deps).Deployments(ns), services: corelisters.NewServiceLister(svcs).Services(ns)}
	depIndexers[in] = deps
	return in
}

// depIndexers keeps each test Ingress's Deployments, so a test can change them.
var depIndexers = map[*Ingress]cache.Indexer{}

func setDeployment(in *Ingress, d *appsv1.Deployment) error { return depIndexers[in].Update(d) }

func TestIngressProxiesToTheSelectedServer(t *testing.T) {
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer model.Close()
	sel := map[string]string{"app": "fraud", "role": "canary"}
	starting := &backend{ready: make(chan struct{}), cancel: func() {}}
	failed := &backend{ready: make(chan struct{}), err: errors.New("pull img: 503"), cancel: func() {}}
	close(failed.ready)
	in := ingressOver(t, []any{
		deployment("fraud-canary", 1, sel, "b", nil), service("fraud-canary", sel),
		deployment("slow", 1, map[string]string{"app": "slow"}, "c", nil), service("slow", map[string]string{"app": "slow"}),
		deployment("broken", 1, map[string]string{"app": "broken"}, "d", nil), service("broken", map[string]string{"app": "broken"}),
		service("empty", map[string]string{"app": "nobody"}),
	}, map[string]*backend{"fraud-canary": readyBackend(model.URL, kube.Spec{}), "slow": starting, "broken": failed})
	for _, c := range []struct{ path, want string }{
		{"/fraud-canary/v1/predict?x=1", "200 POST /v1/predict?x=1"},
		{"/fraud-canary/readyz", "200 POST /readyz?"},
		{"/missing/readyz", "503 loopback harness: service missing.models"},
		{"/empty/readyz", "503 loopback harness: service empty.models selects no workload"},
		{"/slow/readyz", "503 loopback harness: deployment slow.models: no server ready within 200ms"},
		{"/broken/readyz", "503 loopback harness: deployment broken.models: pull img: 503"},
	} {
		rec := httptest.NewRecorder()
		in.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, c.path, strings.NewReader("{}")).WithContext(context.Background()))
		if got := rec.Result().Status[:3] + " " + rec.Body.String(); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: got %q, want %q…", c.path, got, c.want)
		}
	}
}

// fakeStarter starts "servers" that become ready when the test releases their image.
type fakeStarter struct {
	mu      sync.Mutex
	release map[string]chan struct{}
	servers map[string]*Server
}

func (f *fakeStarter) gate(image string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.release[image] == nil {
		f.release[image] = make(chan struct{})
	}
	return f.release[image]
}

func (f *fakeStarter) start(ctx context.Context, image, _ string, _ []string) (*Server, string, error) {
	select {
	case <-f.gate(image):
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	srv := &Server{URL: "http://" + image, done: make(chan struct{})}
	f.mu.Lock()
	f.servers[image] = srv
	f.mu.Unlock()
	return srv, "", nil
}

// TestRollingImageKeepsTheOldServer: a Deployment rolled to another image keeps its old server
// answering until the new one is ready, then the old one stops; a Deployment scaled to zero loses
// its server.
func TestRollingImageKeepsTheOldServer(t *testing.T) {
	spec := kube.Spec{DeploymentName: "fraud", Environment: "production", Role: kube.RoleStable, ModelVersion: "1"}
	sel := map[string]string{"app": "fraud"}
	f := &fakeStarter{release: map[string]chan struct{}{}, servers: map[string]*Server{}}
	in := ingressOver(t, []any{deployment("fraud", 1, sel, "v1", &spec), service("fraud", sel)}, nil)
	in.start = f
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serves := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			in.mu.Lock()
			b := in.server("fraud")
			got := ""
			if b != nil && b.serving() {
				got = b.srv.URL
			}
			in.mu.Unlock()
			if got == want {
				return
			}
		}
		t.Fatalf("fraud is not served by %q", want)
	}
	in.reconcile(ctx)
	close(f.gate("v1"))
	serves("http://v1")
	v2 := spec
	v2.ModelVersion = "2"
	if err := setDeployment(in, deployment("fraud", 1, sel, "v2", &v2)); err != nil {
		t.Fatal(err)
	}
	in.reconcile(ctx)
	serves("http://v1") // v2 is starting: v1 still answers
	close(f.gate("v2"))
	serves("http://v2")
	f.mu.Lock()
	v1 := f.servers["v1"]
	f.mu.Unlock()
	in.stops.Wait()
	if v1.Alive() {
		t.Error("v1's server still runs after v2's is ready")
	}
	if err := setDeployment(in, deployment("fraud", 0, sel, "v2", &v2)); err != nil {
		t.Fatal(err)
	}
	in.reconcile(ctx)
	in.stops.Wait()
	if f.servers["v2"].Alive() || in.server("fraud") != nil {
		t.Error("a Deployment scaled to zero kept its server")
	}
}
