// Command worker-image builds the worker's OCI image without a Docker engine and pushes it by
// digest: it compiles cmd/worker statically (CGO_ENABLED=0; the SQLite driver, modernc.org/sqlite,
// is pure Go), puts the binary in one layer on an empty base (or on -base, for an image that also
// has Python and BentoML to package models in the cluster), runs it as user 65532, labels it with
// its source and revision, pushes it to -repository by digest and prints repository@sha256:….
//
//	go run ./cmd/worker-image -repository registry.example.com/temporaldeployer/worker
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const defaultSource = "https://github.com/temporaldeployer/temporaldeployer"

type options struct {
	repository, base, arch, tag, caBundle string
	insecure                              bool
	meta                                  Meta
}

func main() {
	var o options
	flag.StringVar(&o.repository, "repository", "", "where to push, e.g. registry.example.com/temporaldeployer/worker (required)")
	flag.StringVar(&o.base, "base", "", "base image reference (default: none, the binary alone; give one with Python and BentoML to package in the cluster)")
	flag.StringVar(&o.arch, "arch", "amd64", "GOARCH of the binary and the image (linux only)")
	flag.StringVar(&o.tag, "tag", "", "also tag the pushed image (optional; deploy by the printed digest)")
	flag.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", `CA certificates to put in the image ("" for none; ignored with -base)`)
	flag.BoolVar(&o.insecure, "insecure", false, "plain HTTP to the registry (a loopback registry)")
	flag.StringVar(&o.meta.Source, "source", defaultSource, "org.opencontainers.image.source")
	flag.StringVar(&o.meta.Revision, "revision", "", "org.opencontainers.image.revision (default: git rev-parse HEAD, +dirty)")
	flag.StringVar(&o.meta.Version, "version", "", "org.opencontainers.image.version (optional)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ref, size, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker-image:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "worker-image: pushed %s (%d bytes: manifest, config and layers)\n", ref, size)
	fmt.Println(ref)
}

func run(ctx context.Context, o options) (name.Digest, int64, error) {
	if o.repository == "" {
		return name.Digest{}, 0, errors.New("-repository is required")
	}
	var nameOpts []name.Option
	if o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := name.NewRepository(o.repository, nameOpts...)
	if err != nil {
		return name.Digest{}, 0, fmt.Errorf("-repository: %w", err)
	}
	if o.meta.Revision == "" {
		if o.meta.Revision, err = gitRevision(ctx); err != nil {
			return name.Digest{}, 0, err
		}
	}
	remoteOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("temporaldeployer")}
	var base v1.Image
	if o.base != "" {
		baseRef, err := name.ParseReference(o.base, nameOpts...)
		if err != nil {
			return name.Digest{}, 0, fmt.Errorf("-base: %w", err)
		}
		if base, err = remote.Image(baseRef, append(remoteOpts, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: o.arch}))...); err != nil {
			return name.Digest{}, 0, fmt.Errorf("base image %s: %w", baseRef, err)
		}
		o.caBundle = "" // the base brings its own
	}
	dir, err := os.MkdirTemp("", "worker-image-")
	if err != nil {
		return name.Digest{}, 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildWorker(ctx, o.arch, filepath.Join(dir, "worker"))
	if err != nil {
		return name.Digest{}, 0, err
	}
	ca, err := readOptional(o.caBundle)
	if err != nil {
		return name.Digest{}, 0, fmt.Errorf("-ca-bundle: %w", err)
	}
	img, err := Image(base, o.arch, bin, ca, o.meta)
	if err != nil {
		return name.Digest{}, 0, fmt.Errorf("assemble the image: %w", err)
	}
	return push(repo, img, o.tag, remoteOpts)
}

// push writes img to repo by digest (and under tag, if given) and returns its digest reference
// and its size in the registry.
func push(repo name.Repository, img v1.Image, tag string, opts []remote.Option) (name.Digest, int64, error) {
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, 0, err
	}
	ref := repo.Digest(d.String())
	if err := remote.Write(ref, img, opts...); err != nil {
		return name.Digest{}, 0, fmt.Errorf("push %s: %w", ref, err)
	}
	if tag != "" {
		if err := remote.Tag(repo.Tag(tag), img, opts...); err != nil {
			return name.Digest{}, 0, fmt.Errorf("tag %s: %w", repo.Tag(tag), err)
		}
	}
	size, err := imageSize(img)
	return ref, size, err
}

// imageSize is what a pull transfers: manifest, config and (compressed) layers.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

// buildWorker compiles cmd/worker for linux/arch with cgo off (a static binary) into out.
func buildWorker(ctx context.Context, arch, out string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./cmd/worker")
	cmd.Dir = moduleRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/worker (CGO_ENABLED=0): %v\n%s", err, b)
	}
	return os.ReadFile(out)
}

// moduleRoot is the directory of the project's go.mod (go run and go test run from elsewhere).
func moduleRoot() string {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(b)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod)
	}
	return "."
}

// gitRevision is HEAD's commit, with "+dirty" when the work tree has changes.
func gitRevision(ctx context.Context) (string, error) {
	root := moduleRoot()
	b, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse HEAD (give -revision): %w", err)
	}
	rev := strings.TrimSpace(string(b))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
		rev += "+dirty"
	}
	return rev, nil
}
