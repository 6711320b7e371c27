package tests

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/kube"
)

// TestAbortLatency measures, on the real control plane, how long an abort takes to put a
// production canary at 20 % back to stable 100 %: Restore(&v1) from the call until Weight() == 0
// and the canary's replicas are 0, read back from the API server. Next to it, in the same run, one
// API-server PATCH round trip (a merge patch of an annotation on a ConfigMap). It prints p50 and
// p99 of both and their ratio, for each router and for two client configurations:
//
//   - worker: what cmd/worker configures — rollout waits that watch (Poll 500 ms, the kube.Options
//     default, as a fallback) and its client-side rate limit (DEPLOYER_KUBE_QPS 40, burst 80), with
//     a fresh limiter per abort (a worker idle during the canary's hold);
//   - before: as the worker was before: waits polling alone every 500 ms, client-go's default
//     limit (5 QPS, burst 10);
//   - tight: Poll 50 ms and no client-side throttling: the control plane's own floor.
//
// It is a measurement, not a check, and takes minutes: it runs only with MEASURE_ABORT=1 (and skips
// otherwise). MEASURE_ABORT_RUNS sets the runs per configuration (default 20, at least 20 counts).
func TestAbortLatency(t *testing.T) {
	if os.Getenv("MEASURE_ABORT") != "1" {
		t.Skip("a measurement of several minutes: run with MEASURE_ABORT=1 (MEASURE_ABORT_RUNS=n, default 20)")
	}
	runs := 20
	if n, err := strconv.Atoi(os.Getenv("MEASURE_ABORT_RUNS")); err == nil && n > 0 {
		runs = n
	}
	e := newKubeEnv(t, "abortbench", 60*time.Minute)
	fast := rest.CopyConfig(e.cfg)
	fast.QPS, fast.Burst = 1000, 2000
	worker := rest.CopyConfig(e.cfg)
	worker.QPS, worker.Burst = config.DefaultKubeQPS, config.DefaultKubeBurst
	configs := []struct {
		name     string
		cfg      *rest.Config
		poll     time.Duration
		pollOnly bool
	}{
		{"worker", worker, 0, false}, // what cmd/worker configures: watches, kube.Options' default poll, its limiter
		{"before", e.cfg, 0, true},   // as before: polling alone, client-go's default limiter
		{"tight", fast, 50 * time.Millisecond, false},
	}

	rtt := newPatchTimer(t, kubernetes.NewForConfigOrDie(fast), e.ns)

	type result struct {
		name             string
		abort, restoreFn []time.Duration
	}
	var results []result
	good := kubeSpec(t, "iris", "production", kube.RoleStable, "1")
	canary := kubeSpec(t, "iris", "production", kube.RoleCanary, "2")
	for _, router := range kubeRouters {
		for _, c := range configs {
			env := "production"
			opt := e.options(60 * time.Second)
			opt.Poll, opt.PollOnly = c.poll, c.pollOnly
			setup := e.backend(router, false, opt)
			// Weight() read back through an unthrottled backend of its own, so reading does not
			// slow the abort.
			watch := kube.Options{Namespace: e.ns, Poll: 10 * time.Millisecond, Endpoints: kubeFakeEndpoints{}}
			observer := e.backendWith(router, fast, watch)
			if _, err := setup.Deploy(e.ctx, good); err != nil {
				t.Fatal(err)
			}
			r := result{name: router + "/" + c.name}
			for i := 0; i < runs; i++ {
				if _, err := setup.Deploy(e.ctx, canary); err != nil {
					t.Fatalf("run %d: deploy canary: %v", i, err)
				}
				if err := setup.SetWeight(e.ctx, "iris", env, 20); err != nil {
					t.Fatalf("run %d: weight 20: %v", i, err)
				}
				if w, err := observer.Weight(e.ctx, "iris", env); err != nil || w == 0 {
					t.Fatalf("run %d: at 20 %% Weight() = %d, %v", i, w, err)
				}
				abort := e.backendWith(router, c.cfg, opt) // a fresh client: the worker's limiter is full after a hold
				t0 := time.Now()
				if _, err := abort.Restore(e.ctx, "iris", env, &good); err != nil {
					t.Fatalf("run %d: restore: %v", i, err)
				}
				r.restoreFn = append(r.restoreFn, time.Since(t0))
				for {
					w, err := observer.Weight(e.ctx, "iris", env)
					if err != nil {
						t.Fatal(err)
					}
					if des, _ := e.replicas("iris-production-canary"); w == 0 && des == 0 {
						break
					}
					if time.Since(t0) > time.Minute {
						t.Fatalf("run %d: weight %d a minute after the abort", i, w)
					}
					time.Sleep(5 * time.Millisecond)
				}
				r.abort = append(r.abort, time.Since(t0))
				for j := 0; j < 3; j++ {
					rtt.patch()
				}
			}
			results = append(results, r)
			// Next configuration starts from nothing.
			if _, err := setup.Restore(e.ctx, "iris", env, nil); err != nil {
				t.Fatal(err)
			}
			e.poll("previous configuration removed", time.Minute, func() (bool, error) {
				return len(e.pods(map[string]string{kube.LabelName: "iris"})) == 0 && len(e.inventory()["deployments"]) == 0, nil
			})
		}
	}

	patches := rtt.samples
	pp50, pp99 := percentile(patches, 50), percentile(patches, 99)
	var b strings.Builder
	fmt.Fprintf(&b, "abort → stable 100 %% latency on the control plane (%d runs each; PATCH round trip: %d samples in the same run)\n", runs, len(patches))
	fmt.Fprintf(&b, "%-16s %10s %10s %12s %12s %10s %10s\n", "router/client", "abort p50", "abort p99", "Restore p50", "Restore p99", "p50/PATCH", "p99/PATCH")
	for _, r := range results {
		a50, a99 := percentile(r.abort, 50), percentile(r.abort, 99)
		fmt.Fprintf(&b, "%-16s %10s %10s %12s %12s %9.0fx %9.0fx\n", r.name, ms(a50), ms(a99),
			ms(percentile(r.restoreFn, 50)), ms(percentile(r.restoreFn, 99)), float64(a50)/float64(pp50), float64(a99)/float64(pp99))
	}
	fmt.Fprintf(&b, "%-16s %10s %10s\n", "PATCH RTT", ms(pp50), ms(pp99))
	t.Log("\n" + b.String())
}

// backendWith is a backend over a client of cfg (for a router as in backend).
func (e *kubeEnv) backendWith(router string, cfg *rest.Config, opt kube.Options) *kube.Kubernetes {
	e.t.Helper()
	return realRouterBackend(e.t, router, cfg, opt)
}

// percentile is the nearest-rank p-th percentile.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// patchTimer measures one API-server PATCH round trip: a merge patch of an annotation on a
// ConfigMap of its own, through the client it is given (unthrottled, for the control plane's floor).
type patchTimer struct {
	t       *testing.T
	cs      kubernetes.Interface
	ns      string
	samples []time.Duration
}

// newPatchTimer creates the ConfigMap and warms the connection (those patches are not kept).
func newPatchTimer(t *testing.T, cs kubernetes.Interface, ns string) *patchTimer {
	t.Helper()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rtt"}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := &patchTimer{t: t, cs: cs, ns: ns}
	for range 5 {
		p.patch()
	}
	p.samples = nil
	return p
}

func (p *patchTimer) patch() {
	body := fmt.Sprintf(`{"metadata":{"annotations":{"temporaldeployer.io/rtt":"%d"}}}`, time.Now().UnixNano())
	t0 := time.Now()
	if _, err := p.cs.CoreV1().ConfigMaps(p.ns).Patch(context.Background(), "rtt", types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
		p.t.Fatal(err)
	}
	p.samples = append(p.samples, time.Since(t0))
}
