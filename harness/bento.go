// Package harness is the local test-and-demo harness, kept out of the worker and its production
// path: on the local control plane KWOK's pods run no containers, so the harness's own process
// (cmd/loopback-harness) plays their data plane. Ingress watches the namespace's Deployments,
// serves each workload's packaged model on 127.0.0.1 (`bentoml serve` of the bento inside the
// workload's digest-pinned image) and answers for the Services in front of them at
// <ingress>/<service>/..., which is what a worker started with DEPLOYER_ENDPOINTS=ingress asks.
// On a real cluster the pods serve, and the worker uses kube.ServiceDNS or a real ingress.
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
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/temporaldeployer/temporaldeployer/packaging"
)

// bentos pulls workload images and serves the bento inside them.
type bentos struct {
	BentoML  string        // path of the bentoml executable
	Dir      string        // working directory: bento homes and logs
	Insecure bool          // plain HTTP to the OCI registry (loopback registries)
	Ready    time.Duration // how long a server may take to answer /readyz. Defaults to 3 min.
	Log      *slog.Logger
}

// start pulls image and serves its bento in a fresh directory under Dir/slot, returned as work
// (removed again when the server could not start).
func (l *bentos) start(ctx context.Context, image, slot string, env []string) (srv *Server, work string, err error) {
	work = filepath.Join(l.Dir, slot, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, "", err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(work)
			err = fmt.Errorf("serve %s: %w", image, err)
		}
	}()
	archive, err := l.pullBento(ctx, image, work)
	if err != nil {
		return nil, "", err
	}
	if srv, err = Serve(ctx, ServeOptions{BentoML: l.BentoML, Target: archive, Dir: work, Env: env, Ready: l.Ready}); err != nil {
		return nil, "", err
	}
	l.logger().Info("loopback harness serving", "image", image, "url", srv.URL, "slot", slot)
	return srv, work, nil
}

// pullBento fetches the image and writes the .bento archive its layer carries.
func (l *bentos) pullBento(ctx context.Context, image, work string) (string, error) {
	var opts []name.Option
	if l.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(image, opts...)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx),
		remote.WithTransport(packaging.RegistryTransport(remote.DefaultTransport, l.Insecure)))
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

func (l *bentos) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}
