package harness

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/temporaldeployer/temporaldeployer/kube"
)

// starter starts a model server for an image (bentos; a fake in tests).
type starter interface {
	start(ctx context.Context, image, slot string, env []string) (srv *Server, work string, err error)
}

// retryAfter is how long a server that failed to start waits before another try.
const retryAfter = 10 * time.Second

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
// servers no Deployment needs any more (scaled to zero, deleted). A Deployment rolled to another
// image keeps its old server serving until the new one is ready, as a rolling update keeps the
// old pods; a server that failed is retried after retryAfter.
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
		in.backends, in.retiring = map[string]*backend{}, map[string]*backend{}
	}
	for name, b := range in.backends {
		w, ok := ws[name]
		switch {
		case ok && w.key() == b.key && !b.failed():
			continue
		case ok && w.key() == b.key && time.Since(b.endedAt()) < retryAfter:
			continue // failed: not yet
		case ok && b.serving() && in.retiring[name] == nil:
			in.retiring[name] = b // rolled to another image: serves until its successor is ready
		default:
			in.retire(b)
		}
		delete(in.backends, name)
	}
	for name, old := range in.retiring {
		if _, ok := ws[name]; !ok {
			in.retire(old)
			delete(in.retiring, name)
		}
	}
	for name, w := range ws {
		if _, ok := in.backends[name]; !ok {
			in.backends[name] = in.startBackend(ctx, name, w)
		}
	}
	in.writeTargetsLogged()
}

// retire stops b in the background; stopAll waits for every such stop. Callers hold in.mu.
func (in *Ingress) retire(b *backend) {
	in.stops.Add(1)
	go func() {
		defer in.stops.Done()
		b.stop()
	}()
}

// startBackend starts the server of one Deployment in the background; once it is ready the server
// it replaces stops, and the targets file is rewritten.
func (in *Ingress) startBackend(ctx context.Context, name string, w want) *backend {
	ctx, cancel := context.WithCancel(ctx)
	b := &backend{key: w.key(), spec: w.spec, ready: make(chan struct{}), cancel: cancel}
	var l starter = &bentos{BentoML: in.BentoML, Dir: in.Dir, Insecure: in.Insecure, Ready: in.Ready, Log: in.Log}
	if in.start != nil {
		l = in.start
	}
	go func() {
		b.srv, b.work, b.err = l.start(ctx, w.image, name, append(append([]string(nil), in.Env...), w.env...))
		b.ended = time.Now()
		close(b.ready)
		if b.err != nil {
			in.logger().Error("loopback harness: serve", "deployment", name, "error", b.err)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if old := in.retiring[name]; old != nil && b.err == nil && in.backends[name] == b {
			in.retire(old)
			delete(in.retiring, name)
		}
		in.writeTargetsLogged()
	}()
	return b
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

// serving reports a backend whose server is ready and alive.
func (b *backend) serving() bool {
	select {
	case <-b.ready:
		return b.err == nil && b.srv.Alive()
	default:
		return false
	}
}

// endedAt is when the backend's start ended (zero while it runs).
func (b *backend) endedAt() time.Time {
	select {
	case <-b.ready:
		return b.ended
	default:
		return time.Time{}
	}
}

// stop ends the backend's start or server and removes its working directory.
func (b *backend) stop() {
	b.cancel()
	<-b.ready
	if b.srv != nil {
		b.srv.Stop()
	}
	if b.work != "" {
		_ = os.RemoveAll(b.work)
	}
}

// server is the backend that serves name now: its current one when serving, else the one it
// replaces while that still serves, else the current one (starting: a request waits for it).
// Callers hold in.mu.
func (in *Ingress) server(name string) *backend {
	b := in.backends[name]
	if b != nil && b.serving() {
		return b
	}
	if old := in.retiring[name]; old != nil && old.serving() {
		return old
	}
	return b
}

func randomIntn(n int) int { return rand.IntN(n) }
