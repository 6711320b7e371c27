package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/deploy"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// The kube backend against the real control plane (tests/realparts/cluster.go): every test gets its
// own namespace on the shared API server, and reads back what the backend wrote from the API server
// and what the controllers made of it (ReplicaSets, pods bound by the scheduler and made Running and
// Ready by KWOK). Endpoints come from kubeFakeEndpoints: the loopback model-serving harness that
// makes them answer is tested elsewhere.

// Two digest-pinned images (seed 003 R5). KWOK runs no containers, so they are never pulled.
const (
	kubeImageV1 = "registry.example.test/models/iris@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	kubeImageV2 = "registry.example.test/models/iris@sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// kubeFakeEndpoints is a trivial kube.Endpoints: a URL nobody serves.
type kubeFakeEndpoints struct{}

func (kubeFakeEndpoints) Endpoint(_ context.Context, _ kube.Spec, service, namespace string) (string, error) {
	return "http://" + service + "." + namespace + ".endpoints.invalid", nil
}

// kubeEnv is one test's namespace on the shared control plane.
type kubeEnv struct {
	t          *testing.T
	kubeconfig string
	cfg        *rest.Config
	cs         kubernetes.Interface // the test's own reads (not rate-limited like the backend's)
	gw         gwclient.Interface
	ns         string
	ctx        context.Context
}

// newKubeEnv starts (or reuses) the control plane and creates a fresh namespace, deleted afterwards.
func newKubeEnv(t *testing.T, prefix string, timeout time.Duration) *kubeEnv {
	t.Helper()
	kc := realparts.StartCluster(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	read := rest.CopyConfig(cfg)
	read.QPS, read.Burst = 200, 400
	cs := kubernetes.NewForConfigOrDie(read)
	gw := gwclient.NewForConfigOrDie(read)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kube-" + prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	if err := deploy.EnsureModelPods(ctx, cs, ns.Name); err != nil { // as deploy/ gives a models' namespace
		t.Fatal(err)
	}
	return &kubeEnv{t: t, kubeconfig: kc, cfg: cfg, cs: cs, gw: gw, ns: ns.Name, ctx: ctx}
}

// options are the backend's options for this namespace: short polls, and a progress deadline and
// scale-down delay a test can afford.
func (e *kubeEnv) options(deadline time.Duration) kube.Options {
	return kube.Options{Namespace: e.ns, ProgressDeadline: deadline, ScaleDownDelay: time.Second,
		Poll: 100 * time.Millisecond, Endpoints: kubeFakeEndpoints{}}
}

// backend returns the Kubernetes backend with the router named: "replica" (the default, with a
// Gateway API mirror for shadows when mirror is set) or "gateway". It uses a client configured as
// the worker's is (client-go's default rate limits).
func (e *kubeEnv) backend(router string, mirror bool, opt kube.Options) *kube.Kubernetes {
	e.t.Helper()
	cs := kubernetes.NewForConfigOrDie(e.cfg)
	var gw *kube.GatewayRouter
	if router == "gateway" || mirror {
		realparts.InstallGatewayCRDs(e.t, e.kubeconfig)
		realparts.EnsureGateway(e.t, e.kubeconfig, e.ns, "models")
		gw = kube.NewGatewayRouter(cs, gwclient.NewForConfigOrDie(e.cfg), opt, kube.ParentRef{})
	}
	var r kube.Router = kube.NewReplicaRouter(cs, opt, gw)
	if router == "gateway" {
		r = gw
	}
	k, err := kube.New(cs, r, opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

// kubeSpec is a checked spec with seed 000's settings for env (the shadow workload runs in the
// "shadow" environment).
func kubeSpec(t *testing.T, name, env string, role kube.Role, version string) kube.Spec {
	t.Helper()
	set, ok := rules.SettingsFor(contract.Environment(env))
	if !ok {
		t.Fatalf("no settings for environment %q", env)
	}
	image, stage := kubeImageV1, "Staging"
	if version == "2" {
		image = kubeImageV2
	}
	if env == "production" {
		stage = "Production"
	}
	return kube.Spec{
		DeploymentName: name, Environment: env, Role: role, Image: image,
		ModelName: "iris-classifier", ModelVersion: version, Stage: stage,
		DeploymentID: "dep-" + name + "-" + env + "-v" + version, WorkflowID: "wf-" + name + "-v" + version,
		Resources:    map[string]string{"cpu": "250m", "memory": "256Mi"},
		MaxBatchSize: 32, MaxLatencyMS: 100,
		Scaling: kube.Scaling{Replicas: set.Replicas, MinReplicas: set.MinReplicas, MaxReplicas: set.MaxReplicas,
			TargetCPUPercent: set.TargetCPUPercent},
		Env: []kube.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "MLFLOW_TRACKING_TOKEN", SecretName: "mlflow", SecretKey: "token"}},
	}
}

func (e *kubeEnv) deployment(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

// replicas is a Deployment's desired and available replicas (0, 0 when it does not exist).
func (e *kubeEnv) replicas(name string) (desired, available int32) {
	e.t.Helper()
	d, err := e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, 0
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return *d.Spec.Replicas, d.Status.AvailableReplicas
}

// pods lists the live (not terminating) pods matching sel.
func (e *kubeEnv) pods(sel map[string]string) []corev1.Pod {
	e.t.Helper()
	list, err := e.cs.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// rolePods selects an environment's pods of one role.
func rolePods(name, env string, role kube.Role) map[string]string {
	return map[string]string{kube.LabelInstance: name + "-" + env, kube.LabelRole: string(role)}
}

// waitPods waits until exactly n live pods match sel, every one bound to a KWOK node, Running and
// Ready, running image; and no pod matching sel is left terminating.
func (e *kubeEnv) waitPods(sel map[string]string, n int, image string) []corev1.Pod {
	e.t.Helper()
	var pods []corev1.Pod
	e.poll(fmt.Sprintf("%d Running and Ready pods %v on %s", n, sel, image), 90*time.Second, func() (bool, error) {
		list, err := e.cs.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
		if err != nil {
			return false, err
		}
		pods = list.Items
		if len(pods) != n {
			return false, nil
		}
		for _, p := range pods {
			if p.DeletionTimestamp != nil || p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning || !smokePodReady(p) ||
				p.Spec.Containers[0].Image != image {
				return false, nil
			}
		}
		return true, nil
	})
	return pods
}

// poll checks cond every 100 ms until it holds, failing after timeout with the controllers' logs.
func (e *kubeEnv) poll(what string, timeout time.Duration, cond func() (bool, error)) {
	e.t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(e.ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		ok, err := cond()
		if err != nil {
			last = err
			return false, nil // transient read errors: keep polling, report the last one
		}
		return ok, nil
	})
	if err != nil {
		e.t.Fatalf("waiting for %s: %v (last error: %v)\nkube-controller-manager:\n%s\nkwok:\n%s", what, err, last,
			realparts.ClusterLogs("kube-controller-manager", 15), realparts.ClusterLogs("kwok", 10))
	}
}

// route reads an environment's HTTPRoute (nil when it does not exist).
func (e *kubeEnv) route(name string) *gwv1.HTTPRoute {
	e.t.Helper()
	rt, err := e.gw.GatewayV1().HTTPRoutes(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("get httproute %s: %v", name, err)
	}
	return rt
}

// backendWeights is a route's backend weights by Service name.
func backendWeights(rt *gwv1.HTTPRoute) map[string]int32 {
	out := map[string]int32{}
	for _, r := range rt.Spec.Rules {
		for _, b := range r.BackendRefs {
			w := int32(1)
			if b.Weight != nil {
				w = *b.Weight
			}
			out[string(b.Name)] += w
		}
	}
	return out
}

// mirrors lists the Services a route's RequestMirror filters copy traffic to.
func mirrors(rt *gwv1.HTTPRoute) []string {
	var out []string
	for _, r := range rt.Spec.Rules {
		for _, f := range r.Filters {
			if f.Type == gwv1.HTTPRouteFilterRequestMirror && f.RequestMirror != nil {
				out = append(out, string(f.RequestMirror.BackendRef.Name))
			}
		}
	}
	return out
}

// inventory counts what the namespace holds, by kind, with the names.
func (e *kubeEnv) inventory() map[string][]string {
	e.t.Helper()
	inv := map[string][]string{}
	ds, err := e.cs.AppsV1().Deployments(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range ds.Items {
		inv["deployments"] = append(inv["deployments"], d.Name)
	}
	svcs, err := e.cs.CoreV1().Services(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range svcs.Items {
		inv["services"] = append(inv["services"], s.Name)
	}
	hpas, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range hpas.Items {
		inv["hpas"] = append(inv["hpas"], h.Name)
	}
	pdbs, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range pdbs.Items {
		inv["pdbs"] = append(inv["pdbs"], p.Name)
	}
	rss, err := e.cs.AppsV1().ReplicaSets(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rss.Items {
		inv["replicasets"] = append(inv["replicasets"], r.Name)
	}
	routes, err := e.gw.GatewayV1().HTTPRoutes(e.ns).List(e.ctx, metav1.ListOptions{})
	if err == nil { // the CRDs may not be installed: no routes then
		for _, r := range routes.Items {
			inv["httproutes"] = append(inv["httproutes"], r.Name)
		}
	}
	return inv
}

func fmtInventory(inv map[string][]string) string {
	var b strings.Builder
	for _, k := range []string{"deployments", "replicasets", "services", "hpas", "pdbs", "httproutes"} {
		fmt.Fprintf(&b, "%s=%v ", k, inv[k])
	}
	return b.String()
}
