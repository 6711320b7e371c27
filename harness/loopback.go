// Package harness is the local test-and-demo harness, kept out of the production path: on the
// local control plane KWOK's pods run no containers, so Loopback serves each workload's packaged
// model on 127.0.0.1 (`bentoml serve` of the bento inside the workload's digest-pinned image) and
// reports that address as the workload's endpoint. On a real cluster use kube.ServiceDNS or
// kube.IngressHost instead.
package harness

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/packaging"
)

// Loopback serves workloads on loopback. It implements kube.Endpoints.
type Loopback struct {
	BentoML  string        // path of the bentoml executable
	Dir      string        // working directory: bento homes and logs
	Insecure bool          // plain HTTP to the OCI registry (loopback registries)
	Ready    time.Duration // how long a server may take to answer /readyz. Defaults to 3 min.
	Env      []string      // extra environment for every server (e.g. TD_FAULT=error in tests)
	Faults   []Fault       // fault switches for chosen workloads only (see faults.go)
	Log      *slog.Logger
	// TargetsFile, if set, is a Prometheus file_sd JSON file rewritten after every server start
	// and stop, listing each server with its workload's labels (see targets.go).
	TargetsFile string

	mu      sync.Mutex
	servers map[string]*server // by namespace/service
}

var _ kube.Endpoints = (*Loopback)(nil)

type server struct {
	image  string
	target TargetGroup
	*Server
}

// Endpoint serves the spec's image for the Service (reusing a server already serving that image)
// and returns its loopback URL. With TargetsFile set, the file lists the new server before
// Endpoint returns.
func (l *Loopback) Endpoint(ctx context.Context, s kube.Spec, service, namespace string) (string, error) {
	key := namespace + "/" + service
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.servers == nil {
		l.servers = map[string]*server{}
	}
	if sv, ok := l.servers[key]; ok {
		if sv.image == s.Image && sv.Alive() {
			return sv.URL, nil
		}
		sv.Stop()
		delete(l.servers, key)
	}
	sv, err := l.start(ctx, s.Image, strings.ReplaceAll(key, "/", "_"), append(append([]string(nil), l.Env...), faultEnv(l.Faults, s)...))
	if err != nil {
		return "", errors.Join(fmt.Errorf("loopback harness: serve %s for %s: %w", s.Image, key, err), l.writeTargets())
	}
	sv.target = targetGroup(sv.URL, s, service)
	l.servers[key] = sv
	if err := l.writeTargets(); err != nil {
		sv.Stop()
		delete(l.servers, key)
		return "", err
	}
	return sv.URL, nil
}

// Close stops every server (and empties TargetsFile, if set).
func (l *Loopback) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, sv := range l.servers {
		sv.Stop()
		delete(l.servers, k)
	}
	if err := l.writeTargets(); err != nil {
		l.logger().Error("loopback harness: rewrite targets file", "error", err)
	}
}

func (l *Loopback) start(ctx context.Context, image, slot string, env []string) (*server, error) {
	work := filepath.Join(l.Dir, slot, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	archive, err := l.pullBento(ctx, image, work)
	if err != nil {
		return nil, err
	}
	srv, err := Serve(ctx, ServeOptions{BentoML: l.BentoML, Target: archive, Dir: work, Env: env, Ready: l.Ready})
	if err != nil {
		return nil, err
	}
	l.logger().Info("loopback harness serving", "image", image, "url", srv.URL, "slot", slot)
	return &server{image: image, Server: srv}, nil
}

// pullBento fetches the image and writes the .bento archive its layer carries.
func (l *Loopback) pullBento(ctx context.Context, image, work string) (string, error) {
	var opts []name.Option
	if l.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(image, opts...)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", image, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	prefix := strings.TrimPrefix(packaging.BentoArchiveDir, "/") + "/"
	for i := len(layers) - 1; i >= 0; i-- {
		rc, err := layers[i].Uncompressed()
		if err != nil {
			return "", err
		}
		path, err := extractBento(rc, prefix, work)
		rc.Close()
		if err != nil || path != "" {
			return path, err
		}
	}
	return "", fmt.Errorf("image %s carries no bento under %s", image, packaging.BentoArchiveDir)
}

func extractBento(r io.Reader, prefix, work string) (string, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		n := strings.TrimPrefix(h.Name, "./")
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ".bento") {
			continue
		}
		dst := filepath.Join(work, filepath.Base(n))
		f, err := os.Create(dst)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(f, io.LimitReader(tr, 1<<30))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return dst, err
	}
}

func (l *Loopback) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}
