package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// Ingress is the local control plane's data plane (a harness: tests and the demo only). It keeps
// one model server per Deployment of the namespace that has replicas, serving the image its pod
// template names, and answers http://<listen>/<service>/<path> from the servers of the Deployments
// the Service selects, weighted by their replicas as kube-proxy would. A request for a server
// still starting waits for it (up to Hold), as a pod is Ready only once it serves.
//
// It runs in a process of its own, so a worker killed mid-deploy leaves the servers, and the URLs
// it recorded, in place, and the servers die with the harness, not with a worker.
type Ingress struct {
	Client      kubernetes.Interface
	Namespace   string
	BentoML     string        // the bentoml executable
	Dir         string        // working directory: bento homes and logs
	Insecure    bool          // plain HTTP to the OCI registry (loopback registries)
	Ready       time.Duration // how long a server may take to answer /readyz. Defaults to 3 min.
	Hold        time.Duration // how long a request waits for a starting server. Defaults to 3 min.
	Env         []string      // extra environment for every server
	Faults      []Fault       // fault switches for chosen workloads only (see faults.go)
	TargetsFile string        // if set, a Prometheus file_sd file listing every ready server (targets.go)
	Log         *slog.Logger

	deployments appslisters.DeploymentNamespaceLister
	services    corelisters.ServiceNamespaceLister
	changed     chan struct{}

	mu       sync.Mutex
	backends map[string]*backend // by Deployment name: the server of its current pod template
	retiring map[string]*backend // by Deployment name: the server it replaces, serving until that one is ready
	stops    sync.WaitGroup      // servers being stopped
	start    starter             // nil: bentoml serve of the image's bento
}

// backend is the model server of one Deployment's current pod template.
type backend struct {
	key    string // image and fault switches: a change of either starts a new server
	spec   kube.Spec
	ready  chan struct{} // closed once srv, work, err and ended are set
	srv    *Server
	work   string // its working directory, removed when it stops
	err    error
	ended  time.Time // when the start ended
	cancel context.CancelFunc
}

// Run watches the namespace and keeps the servers in step until ctx ends; then it stops them all.
// It returns once the caches have synced and the first servers are being started, with a function
// that waits for the end.
func (in *Ingress) Run(ctx context.Context) (wait func(), err error) {
	f := informers.NewSharedInformerFactoryWithOptions(in.Client, 0, informers.WithNamespace(in.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = kube.LabelManagedBy + "=" + kube.FieldManager }))
	dep, svc := f.Apps().V1().Deployments(), f.Core().V1().Services()
	in.deployments, in.services = dep.Lister().Deployments(in.Namespace), svc.Lister().Services(in.Namespace)
	in.changed = make(chan struct{}, 1)
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { in.poke() }, UpdateFunc: func(any, any) { in.poke() }, DeleteFunc: func(any) { in.poke() }}
	if _, err := dep.Informer().AddEventHandler(poke); err != nil {
		return nil, err
	}
	if _, err := svc.Informer().AddEventHandler(poke); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for typ, ok := range f.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			f.Shutdown()
			return nil, fmt.Errorf("loopback harness: could not list and watch %v in namespace %s within a minute "+
				"(is the API server reachable, and may this kubeconfig list Deployments and Services there?)", typ, in.Namespace)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.Shutdown()
		in.loop(ctx)
	}()
	return func() { <-done }, nil
}

func (in *Ingress) poke() {
	select {
	case in.changed <- struct{}{}:
	default:
	}
}

// loop reconciles on every change, and every 10 s (a server that failed to start is retried).
func (in *Ingress) loop(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		in.reconcile(ctx)
		select {
		case <-ctx.Done():
			in.stopAll()
			return
		case <-in.changed:
		case <-tick.C:
		}
	}
}

// ServeHTTP proxies /<service>/<path> to a server of the Service's workloads.
func (in *Ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	service, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	b, err := in.route(r.Context(), service)
	if err != nil {
		http.Error(w, "loopback harness: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	target, err := url.Parse(b.srv.URL)
	if err != nil {
		http.Error(w, "loopback harness: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path, pr.Out.URL.RawPath = "/"+rest, ""
	}}
	p.ServeHTTP(w, r)
}

// route picks the backend for one request to service and waits for it to be ready.
func (in *Ingress) route(ctx context.Context, service string) (*backend, error) {
	svc, err := in.services.Get(service)
	if err != nil {
		return nil, fmt.Errorf("service %s.%s: %w", service, in.Namespace, err)
	}
	deps, err := in.deployments.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	name, ok := pickWorkload(svc, deps, func(name string) bool { b := in.server(name); return b != nil && b.serving() }, randomIntn)
	b := in.server(name)
	in.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("service %s.%s selects no workload with replicas", service, in.Namespace)
	}
	if b == nil {
		return nil, fmt.Errorf("deployment %s.%s has no server yet", name, in.Namespace)
	}
	hold := in.Hold
	if hold <= 0 {
		hold = 3 * time.Minute
	}
	select {
	case <-b.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(hold):
		return nil, fmt.Errorf("deployment %s.%s: no server ready within %s", name, in.Namespace, hold)
	}
	if b.err != nil {
		return nil, fmt.Errorf("deployment %s.%s: %w", name, in.Namespace, b.err)
	}
	return b, nil
}

// stopAll stops every server, in parallel, waits for them, and empties the targets file.
func (in *Ingress) stopAll() {
	in.mu.Lock()
	for _, m := range []map[string]*backend{in.backends, in.retiring} {
		for name, b := range m {
			in.retire(b)
			delete(m, name)
		}
	}
	in.writeTargetsLogged()
	in.mu.Unlock()
	in.stops.Wait()
}

// writeTargetsLogged rewrites the targets file, logging a failure. Callers hold in.mu.
func (in *Ingress) writeTargetsLogged() {
	if err := in.writeTargets(); err != nil {
		in.logger().Error("loopback harness: rewrite targets file", "error", err)
	}
}

func (in *Ingress) logger() *slog.Logger {
	if in.Log != nil {
		return in.Log
	}
	return slog.Default()
}

var errNoImage = errors.New("pod template names no container image")

// workloadImage is the image a Deployment's pods would run.
func workloadImage(d *appsv1.Deployment) (string, error) {
	cs := d.Spec.Template.Spec.Containers
	if len(cs) == 0 || cs[0].Image == "" {
		return "", errNoImage
	}
	return cs[0].Image, nil
}

// replicas is what a Deployment asks for (nil means 1, as the API server defaults it).
func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// pickWorkload chooses which of the Deployments svc selects serves one request: each with
// replicas, weighted by them (intn(n) returns a number in [0, n)), among those whose server is
// serving (ready(name)) when any is, as kube-proxy sends only to ready pods. ok is false when none
// has replicas.
func pickWorkload(svc *corev1.Service, deps []*appsv1.Deployment, ready func(string) bool, intn func(int) int) (name string, ok bool) {
	if len(svc.Spec.Selector) == 0 {
		return "", false
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	type candidate struct {
		name string
		n    int
	}
	var all, serving []candidate
	for _, d := range deps {
		if n := int(replicas(d)); n > 0 && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			all = append(all, candidate{d.Name, n})
			if ready(d.Name) {
				serving = append(serving, candidate{d.Name, n})
			}
		}
	}
	if len(serving) > 0 {
		all = serving
	}
	total := 0
	for _, c := range all {
		total += c.n
	}
	if total == 0 {
		return "", false
	}
	at := intn(total)
	for _, c := range all {
		if at < c.n {
			return c.name, true
		}
		at -= c.n
	}
	return all[len(all)-1].name, true
}
