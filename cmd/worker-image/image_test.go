package main

import (
	"archive/tar"
	"context"
	"debug/elf"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var meta = Meta{Source: defaultSource, Revision: "0123abcd"}

type entry struct {
	mode     int64
	uid, gid int
	body     string
}

// files lists an image's flattened filesystem (names without a trailing slash).
func files(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = entry{h.Mode, h.Uid, h.Gid, string(b)}
	}
}

// TestImage: on the empty base the image holds the binary, the CA bundle, a state directory the
// non-root user owns and /tmp; it runs the worker as 65532 and says where it comes from; the same
// inputs give the same digest.
func TestImage(t *testing.T) {
	img, err := Image(nil, "arm64", []byte("ELF worker"), []byte("CA PEM"), meta)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	eq(t, "os/arch", cf.OS+"/"+cf.Architecture, "linux/arm64")
	eq(t, "user", c.User, "65532:65532")
	eq(t, "entrypoint", c.Entrypoint, []string{BinaryPath})
	eq(t, "cmd", c.Cmd, []string(nil))
	eq(t, "workdir", c.WorkingDir, StateDir)
	eq(t, "env", c.Env, []string{"HOME=" + StateDir})
	eq(t, "source label", c.Labels["org.opencontainers.image.source"], defaultSource)
	eq(t, "revision label", c.Labels["org.opencontainers.image.revision"], "0123abcd")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "media type", m.MediaType, types.OCIManifestSchema1)
	eq(t, "revision annotation", m.Annotations["org.opencontainers.image.revision"], "0123abcd")
	eq(t, "layers", len(m.Layers), 1)
	fs := files(t, img)
	eq(t, "binary", fs[BinaryPath[1:]], entry{0o755, 0, 0, "ELF worker"})
	eq(t, "ca bundle", fs[CABundle[1:]], entry{0o644, 0, 0, "CA PEM"})
	eq(t, "state dir", fs[StateDir[1:]], entry{0o700, NonRoot, NonRoot, ""})
	eq(t, "tmp", fs["tmp"], entry{0o1777, 0, 0, ""})

	again, err := Image(nil, "arm64", []byte("ELF worker"), []byte("CA PEM"), meta)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	eq(t, "reproducible digest", d2, d1)
	other, _ := Image(nil, "arm64", []byte("ELF worker"), []byte("CA PEM"), Meta{Source: defaultSource, Revision: "other"})
	if d3, _ := other.Digest(); d3 == d1 {
		t.Error("another revision gave the same digest")
	}
}

// TestImageOnBase: on a base image the worker's layer comes last, the base's environment and
// files stay, and no CA bundle is added (the base brings its own).
func TestImageOnBase(t *testing.T) {
	base, err := Image(nil, "amd64", []byte("python"), nil, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := base.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Env = []string{"PATH=/usr/bin", "HOME=/root"}
	if base, err = mutate.ConfigFile(base, cf); err != nil {
		t.Fatal(err)
	}
	img, err := Image(base, "amd64", []byte("ELF worker"), nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	eq(t, "layers", len(m.Layers), 2)
	got, _ := img.ConfigFile()
	eq(t, "env", got.Config.Env, []string{"PATH=/usr/bin", "HOME=" + StateDir})
	fs := files(t, img)
	eq(t, "worker binary", fs[BinaryPath[1:]].body, "ELF worker")
	if _, ok := fs[CABundle[1:]]; ok {
		t.Error("a CA bundle was added on a base image")
	}
}

// TestPushByDigest: the image goes to a real OCI distribution registry under its digest (and a
// tag when asked), and pulls back as the same image.
func TestPushByDigest(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/temporaldeployer/worker", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Image(nil, "amd64", []byte("ELF worker"), nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	ref, size, err := push(repo, img, "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	eq(t, "digest", ref.DigestStr(), want.String())
	for _, r := range []name.Reference{ref, repo.Tag("dev")} {
		got, err := remote.Image(r)
		if err != nil {
			t.Fatalf("pull %s: %v", r, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Errorf("%s pulls %s; want %s", r, d, want)
		}
	}
	if size <= int64(len("ELF worker")) {
		t.Errorf("size %d", size)
	}
	if _, _, err := push(repo, empty.Image, "", []remote.Option{remote.WithContext(canceled())}); err == nil {
		t.Error("a push with a canceled context succeeded")
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestBuildWorkerStatic compiles the real worker as the image gets it: a static ELF (no
// interpreter, no shared libraries), so it runs on the empty base; this is what proves the SQLite
// driver needs no cgo.
func TestBuildWorkerStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the worker")
	}
	out := filepath.Join(t.TempDir(), "worker")
	if _, err := buildWorker(context.Background(), runtime.GOARCH, out); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the worker is dynamically linked (%s)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the worker needs shared libraries %v", libs)
	}
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
}
