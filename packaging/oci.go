package packaging

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/temporaldeployer/temporaldeployer/redact"
)

// BentoArchiveDir is where the image's bento layer puts the .bento archive
// (<name>-<version>.bento); TD_BENTO_ARCHIVE in the image's environment names the file.
const BentoArchiveDir = "/home/bentoml/bento-archive"

// remoteOpts turns go-containerregistry's own retries off: withRetry does them, with backoff
// and a classification of what is worth retrying.
func (b *BentoML) remoteOpts(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(b.cfg.Keychain),
		remote.WithTransport(RegistryTransport(b.cfg.Transport, b.cfg.Insecure)),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithUserAgent("temporaldeployer"),
	}
}

// lookup reads the image under ref; found is false when the registry has no such tag.
func (b *BentoML) lookup(ctx context.Context, ref name.Tag) (img v1.Image, found bool, err error) {
	err = b.withRetry(ctx, "look up "+ref.String(), func() error {
		i, err := remote.Image(ref, b.remoteOpts(ctx)...)
		if isNotFound(err) {
			img, found = nil, false
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := i.ConfigFile(); err != nil { // fetched now, so a failure is retried here
			return err
		}
		img, found = i, true
		return nil
	})
	return img, found, err
}

// push writes img under ref: blobs the registry lacks, then the manifest.
func (b *BentoML) push(ctx context.Context, ref name.Tag, img v1.Image) error {
	return b.withRetry(ctx, "push "+ref.String(), func() error {
		return remote.Write(ref, img, b.remoteOpts(ctx)...)
	})
}

// image builds the artifact: the base image (or an empty OCI image) plus the bento layer, with
// labels (and, on OCI manifests, annotations) naming the bento and its MLflow source. The bytes
// depend only on the archive, the base and the labels: fixed timestamps, fixed tar entries.
func (b *BentoML) image(ctx context.Context, m imageMeta) (v1.Image, string, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	baseName := ""
	if b.base != nil {
		err := b.withRetry(ctx, "pull base image "+b.base.String(), func() error {
			img, err := remote.Image(b.base, b.remoteOpts(ctx)...)
			if err != nil {
				return err
			}
			d, err := img.Digest()
			if err != nil {
				return err
			}
			base, baseName = img, b.base.Context().Name()+"@"+d.String()
			return nil
		})
		if err != nil {
			return nil, "", err
		}
	}
	img, err := bentoImage(base, m, baseName)
	if err != nil {
		return nil, "", newError(KindBuildFailed, "image for "+m.src.bentoTag, "%v", err)
	}
	return img, baseName, nil
}

func bentoImage(base v1.Image, m imageMeta, baseName string) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	oci := mt == types.OCIManifestSchema1
	layerType := types.DockerLayer
	if oci {
		layerType = types.OCILayer
	}
	file := path.Join(BentoArchiveDir, ImageTag(m.src.bentoTag)+".bento")
	created := m.built.created
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return archiveTar(m.built.Archive, file, created)
	}, tarball.WithMediaType(layerType))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: created}, CreatedBy: "temporaldeployer: bento " + m.src.bentoTag,
		Comment: "bento archive " + file,
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if cf.OS == "" {
		cf.OS, cf.Architecture = "linux", "amd64"
	}
	cf.Created = v1.Time{Time: created}
	labels := m.labels(baseName)
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		cf.Config.Labels[k] = v
	}
	cf.Config.Env = append(withoutEnv(cf.Config.Env, "TD_BENTO_ARCHIVE"), "TD_BENTO_ARCHIVE="+file)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	if oci {
		img = mutate.Annotations(img, annotations(labels)).(v1.Image)
	}
	return img, nil
}

func withoutEnv(env []string, key string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}

// archiveTar streams a tar holding the archive at file (and its parent directories), every entry
// owned by root, world-readable, with mtime.
func archiveTar(archive, file string, mtime time.Time) (io.ReadCloser, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		tw := tar.NewWriter(pw)
		err := func() error {
			dirs := strings.Split(strings.Trim(path.Dir(file), "/"), "/")
			for i := range dirs {
				hdr := &tar.Header{Typeflag: tar.TypeDir, Name: strings.Join(dirs[:i+1], "/") + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}
				if err := tw.WriteHeader(hdr); err != nil {
					return err
				}
			}
			hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(file, "/"), Mode: 0o644, Size: st.Size(), ModTime: mtime, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
			return tw.Close()
		}()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// withRetry runs f until it succeeds, fails permanently (refused, rejected), ctx ends or the
// attempts run out; the wait doubles from cfg.Backoff up to 30 s. Failures are *Error values.
func (b *BentoML) withRetry(ctx context.Context, op string, f func() error) error {
	wait := b.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		kind := registryKind(err)
		// Registry errors name URLs (a token realm, a blob redirect with a signed query): redacted,
		// and classified before, since the redacted error no longer unwraps.
		shown := redact.Error(err, b.secrets()...)
		if kind != KindRegistryUnavailable {
			return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf("attempt %d", attempt), Err: shown}
		}
		if attempt >= b.cfg.Attempts {
			return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf("gave up after %d attempts", attempt), Err: shown}
		}
		b.cfg.Log.Warn("OCI registry call failed; retrying", "op", op, "attempt", attempt, "wait", wait, "error", shown)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// registryKind classifies a registry failure: refusals (plain HTTP not allowed, 401, 403) and
// other 4xx are permanent; 408, 429, 5xx and network errors are worth another try.
func registryKind(err error) ErrorKind {
	var plain *PlainHTTPError
	if errors.As(err, &plain) {
		return KindRegistryDenied
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return KindRegistryUnavailable
	}
	for _, d := range te.Errors {
		if d.Code == transport.UnauthorizedErrorCode || d.Code == transport.DeniedErrorCode {
			return KindRegistryDenied
		}
	}
	switch s := te.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return KindRegistryDenied
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return KindRegistryUnavailable
	case s >= 400:
		return KindRegistryRejected
	}
	return KindRegistryUnavailable
}

func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
