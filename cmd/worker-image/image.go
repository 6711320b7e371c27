package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where the worker lives in its image, and who it runs as (distroless' "nonroot").
const (
	BinaryPath = "/usr/local/bin/temporaldeployer-worker"
	StateDir   = "/var/lib/temporaldeployer" // WORKDIR and HOME: the worker's .cache (SQLite, ledger key)
	CABundle   = "/etc/ssl/certs/ca-certificates.crt"
	NonRoot    = 65532
)

// Meta is what the image says about itself (OCI labels and annotations).
type Meta struct {
	Source   string // org.opencontainers.image.source
	Revision string // org.opencontainers.image.revision
	Version  string // org.opencontainers.image.version (optional)
}

func (m Meta) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "temporaldeployer-worker",
		"org.opencontainers.image.description": "TemporalDeployer worker: durable ML model deployments on Temporal",
		"org.opencontainers.image.source":      m.Source,
		"org.opencontainers.image.revision":    m.Revision,
	}
	if m.Version != "" {
		l["org.opencontainers.image.version"] = m.Version
	}
	return l
}

// Image is base (nil: an empty OCI image, the binary alone) plus one layer holding the worker at
// BinaryPath, its state directory owned by NonRoot, /tmp, and caBundle (nil: none) at CABundle.
// It runs as NonRoot with the worker as entrypoint. The bytes depend only on the inputs: fixed
// timestamps and tar entries, so rebuilding the same commit gives the same digest.
func Image(base v1.Image, arch string, binary, caBundle []byte, m Meta) (v1.Image, error) {
	layerBytes, err := layerTar(binary, caBundle)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		CreatedBy: "cmd/worker-image: the worker, built with CGO_ENABLED=0", Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
	cf.Config.Entrypoint, cf.Config.Cmd = []string{BinaryPath}, nil
	cf.Config.WorkingDir = StateDir
	cf.Config.Env = setEnv(cf.Config.Env, "HOME", StateDir)
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range m.labels() {
		cf.Config.Labels[k] = v
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	if mt, err := img.MediaType(); err == nil && mt == types.OCIManifestSchema1 {
		img = mutate.Annotations(img, m.labels()).(v1.Image)
	}
	return img, nil
}

func setEnv(env []string, key, value string) []string {
	out := []string{}
	for _, e := range env {
		if len(e) <= len(key) || e[:len(key)+1] != key+"=" {
			out = append(out, e)
		}
	}
	return append(out, key+"="+value)
}

// layerTar is the layer's uncompressed tar: directories first, root-owned except the state
// directory, every timestamp the epoch.
func layerTar(binary, caBundle []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	steps := []func() error{
		func() error { return dir("usr/", 0o755, 0) },
		func() error { return dir("usr/local/", 0o755, 0) },
		func() error { return dir("usr/local/bin/", 0o755, 0) },
		func() error { return file(BinaryPath[1:], 0o755, binary) },
		func() error { return dir("var/", 0o755, 0) },
		func() error { return dir("var/lib/", 0o755, 0) },
		func() error { return dir(StateDir[1:]+"/", 0o700, NonRoot) },
		func() error { return dir("tmp/", 0o1777, 0) },
	}
	if caBundle != nil {
		steps = append(steps,
			func() error { return dir("etc/", 0o755, 0) },
			func() error { return dir("etc/ssl/", 0o755, 0) },
			func() error { return dir("etc/ssl/certs/", 0o755, 0) },
			func() error { return file(CABundle[1:], 0o644, caBundle) })
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readOptional reads path, or returns nil when path is "".
func readOptional(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	return os.ReadFile(path)
}
