package harness

import (
	"context"
	"math/rand/v2"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

var randomIntn = rand.IntN

// want is the server one Deployment needs now.
type want struct {
	spec  kube.Spec
	image string
	env   []string
}

func (w want) key() string { return w.image + "\x00" + strings.Join(w.env, "\x00") }

// wanted is the server each Deployment of the list needs: those with replicas and an image, made
// by temporaldeployer (its spec annotation gives the labels and the fault switches' match).
func wanted(deps []*appsv1.Deployment, faults []Fault) map[string]want {
	out := map[string]want{}
	for _, d := range deps {
		image, err := workloadImage(d)
		if err != nil || replicas(d) == 0 {
			continue
		}
		s, found, err := kube.SpecOf(d)
		if err != nil || !found {
			continue
		}
		out[d.Name] = want{spec: s, image: image, env: faultEnv(faults, s)}
	}
	return out
}

// reconcile starts a server for every Deployment that needs one it does not have, and stops the
// servers no Deployment needs any more (scaled to zero, deleted, or rolled to another image).
func (in *Ingress) reconcile(ctx context.Context) {
	deps, err := in.deployments.List(labels.Everything())
	if err != nil {
		in.logger().Error("loopback harness: list deployments", "error", err)
		return
	}
	ws := wanted(deps, in.Faults)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.backends == nil {
		in.backends = map[string]*backend{}
	}
	for name, b := range in.backends {
		w, ok := ws[name]
		if ok && w.key() == b.key && !b.failed() {
			continue
		}
		go b.stop() // a failed server is retried by a fresh one
		delete(in.backends, name)
	}
	for name, w := range ws {
		if _, ok := in.backends[name]; !ok {
			in.backends[name] = in.startBackend(ctx, name, w)
		}
	}
	if err := in.writeTargets(); err != nil {
		in.logger().Error("loopback harness: rewrite targets file", "error", err)
	}
}

// failed reports a backend whose server could not start or has exited since.
func (b *backend) failed() bool {
	select {
	case <-b.ready:
		return b.err != nil || !b.srv.Alive()
	default:
		return false
	}
}

// startBackend starts the server of one Deployment in the background; once it is ready (or has
// failed) the targets file is rewritten.
func (in *Ingress) startBackend(ctx context.Context, name string, w want) *backend {
	ctx, cancel := context.WithCancel(ctx)
	b := &backend{key: w.key(), spec: w.spec, ready: make(chan struct{}), cancel: cancel}
	l := &bentos{BentoML: in.BentoML, Dir: in.Dir, Insecure: in.Insecure, Ready: in.Ready, Log: in.Log}
	go func() {
		srv, err := l.start(ctx, w.image, name, append(append([]string(nil), in.Env...), w.env...))
		b.srv, b.err = srv, err
		close(b.ready)
		if err != nil {
			in.logger().Error("loopback harness: serve", "deployment", name, "image", w.image, "error", err)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if err := in.writeTargets(); err != nil {
			in.logger().Error("loopback harness: rewrite targets file", "error", err)
		}
	}()
	return b
}
