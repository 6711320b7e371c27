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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	Log      *slog.Logger

	mu      sync.Mutex
	servers map[string]*server // by namespace/service
}

var _ kube.Endpoints = (*Loopback)(nil)

type server struct {
	image string
	url   string
	cmd   *exec.Cmd
	done  chan struct{}
}

// Endpoint serves the spec's image for the Service (reusing a server already serving that image)
// and returns its loopback URL.
func (l *Loopback) Endpoint(ctx context.Context, s kube.Spec, service, namespace string) (string, error) {
	key := namespace + "/" + service
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.servers == nil {
		l.servers = map[string]*server{}
	}
	if sv, ok := l.servers[key]; ok {
		if sv.image == s.Image && sv.alive() {
			return sv.url, nil
		}
		sv.stop()
		delete(l.servers, key)
	}
	sv, err := l.start(ctx, s.Image, strings.ReplaceAll(key, "/", "_"))
	if err != nil {
		return "", fmt.Errorf("loopback harness: serve %s for %s: %w", s.Image, key, err)
	}
	l.servers[key] = sv
	return sv.url, nil
}

// Close stops every server.
func (l *Loopback) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, sv := range l.servers {
		sv.stop()
		delete(l.servers, k)
	}
}

func (l *Loopback) start(ctx context.Context, image, slot string) (*server, error) {
	bin, err := filepath.Abs(l.BentoML) // the server runs in its own directory
	if err != nil {
		return nil, err
	}
	work, err := filepath.Abs(filepath.Join(l.Dir, slot, strconv.FormatInt(time.Now().UnixNano(), 36)))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	archive, err := l.pullBento(ctx, image, work)
	if err != nil {
		return nil, err
	}
	env := append(append(os.Environ(), "BENTOML_HOME="+filepath.Join(work, "bentoml"), "BENTOML_DO_NOT_TRACK=true",
		"PYTHONUNBUFFERED=1"), l.Env...)
	tag, err := importBento(ctx, bin, archive, env)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", tag, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, work, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bentoml serve: %w", err)
	}
	sv := &server{image: image, url: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(sv.done) }()
	if err := sv.waitReady(ctx, l.readyTimeout()); err != nil {
		sv.stop()
		return nil, fmt.Errorf("%w (log: %s)", err, logFile.Name())
	}
	l.logger().Info("loopback harness serving", "image", image, "url", sv.url, "slot", slot)
	return sv, nil
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

var importedTag = regexp.MustCompile(`Bento\(tag="([^"]+)"\)`)

func importBento(ctx context.Context, bin, archive string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "import", archive)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	m := importedTag.FindSubmatch(out)
	if err != nil || m == nil {
		return "", fmt.Errorf("bentoml import %s: %v: %s", archive, err, tail(string(out), 600))
	}
	return string(m[1]), nil
}

func (l *Loopback) readyTimeout() time.Duration {
	if l.Ready > 0 {
		return l.Ready
	}
	return 3 * time.Minute
}

func (l *Loopback) logger() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

func (sv *server) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-sv.done:
			return errors.New("bentoml serve exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if resp, err := client.Get(sv.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("not ready within %s", timeout)
}

func (sv *server) alive() bool {
	select {
	case <-sv.done:
		return false
	default:
		return true
	}
}

// stop ends the server and its workers.
func (sv *server) stop() {
	StopTree(sv.cmd.Process.Pid, 10*time.Second)
	<-sv.done
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
