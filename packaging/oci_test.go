package packaging

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestImageTag(t *testing.T) {
	cases := map[string]string{
		"e2i_7_model:v3":      "e2i_7_model-v3",
		"e2i_exp.1_model:v12": "e2i_exp.1_model-v12",
		"a/b:c":               "a-b-c",
		".hidden:v1":          "hidden-v1",
	}
	for in, want := range cases {
		if got := ImageTag(in); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSourceOf(t *testing.T) {
	s, err := sourceOf(Request{ModelName: "fraud", ModelVersion: "3", ModelURI: "runs:/abc/model", ExperimentID: "7", BentoTag: "e2i_7_model:v3"})
	if err != nil || s.packaged != "models:/fraud/3" || s.requested != "runs:/abc/model" {
		t.Fatalf("registry version: %+v, %v", s, err)
	}
	s, err = sourceOf(Request{ModelURI: "runs:/abc/model", BentoTag: "e2i_7_model:v3"})
	if err != nil || s.packaged != "runs:/abc/model" {
		t.Fatalf("bare URI: %+v, %v", s, err)
	}
	bad := []Request{
		{ModelName: "m", ModelVersion: "1", BentoTag: "E2I:v1"},
		{ModelName: "m", ModelVersion: "1", BentoTag: "no-version"},
		{ModelName: "m", ModelVersion: "1", BentoTag: "e2i_1_model:"},
		{ModelName: "m", ModelVersion: "one", BentoTag: "e2i_1_model:v1"},
		{BentoTag: "e2i_1_model:v1"},
	}
	for _, r := range bad {
		_, err := sourceOf(r)
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != KindInvalidRequest || !pe.Permanent() {
			t.Errorf("sourceOf(%+v) = %v, want a permanent InvalidRequest", r, err)
		}
	}
}

func TestRegistryKind(t *testing.T) {
	diag := func(status int, code transport.ErrorCode) error {
		e := &transport.Error{StatusCode: status}
		if code != "" {
			e.Errors = []transport.Diagnostic{{Code: code}}
		}
		return fmt.Errorf("wrapped: %w", e)
	}
	cases := []struct {
		err  error
		want ErrorKind
	}{
		{diag(401, ""), KindRegistryDenied},
		{diag(403, ""), KindRegistryDenied},
		{diag(400, transport.DeniedErrorCode), KindRegistryDenied},
		{diag(400, transport.ManifestInvalidErrorCode), KindRegistryRejected},
		{diag(404, ""), KindRegistryRejected},
		{diag(408, ""), KindRegistryUnavailable},
		{diag(429, transport.TooManyRequestsErrorCode), KindRegistryUnavailable},
		{diag(500, ""), KindRegistryUnavailable},
		{diag(503, transport.UnavailableErrorCode), KindRegistryUnavailable},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), KindRegistryUnavailable},
	}
	for _, tc := range cases {
		if got := registryKind(tc.err); got != tc.want {
			t.Errorf("registryKind(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if !isNotFound(diag(404, transport.ManifestUnknownErrorCode)) || isNotFound(diag(500, "")) {
		t.Error("isNotFound misclassifies")
	}
}

// TestWithRetry: transient failures are retried with backoff, permanent ones are not, and the
// attempts are bounded.
func TestWithRetry(t *testing.T) {
	b := &BentoML{cfg: withDefaults(BentoMLConfig{Attempts: 4, Backoff: time.Millisecond})}
	calls := 0
	err := b.withRetry(context.Background(), "op", func() error {
		calls++
		if calls < 3 {
			return &transport.Error{StatusCode: http.StatusServiceUnavailable}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("two 503s then success: err %v after %d calls", err, calls)
	}
	calls = 0
	err = b.withRetry(context.Background(), "op", func() error { calls++; return &transport.Error{StatusCode: http.StatusForbidden} })
	if KindOf(err) != KindRegistryDenied || calls != 1 {
		t.Fatalf("403: %v after %d calls, want RegistryDenied at once", err, calls)
	}
	calls = 0
	err = b.withRetry(context.Background(), "op", func() error { calls++; return &transport.Error{StatusCode: http.StatusBadGateway} })
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != KindRegistryUnavailable || pe.Permanent() || calls != 4 {
		t.Fatalf("always 502: %v after %d calls, want RegistryUnavailable after 4", err, calls)
	}
}

// TestRegistryErrorsRedacted: a registry error naming a signed blob URL or a token reaches the
// activity's error (and Temporal's history, which records every error of a chain) redacted, at
// every level of the chain; the kind is still judged on the original.
func TestRegistryErrorsRedacted(t *testing.T) {
	b := &BentoML{cfg: withDefaults(BentoMLConfig{Attempts: 2, Backoff: time.Millisecond})}
	for _, cause := range []error{
		fmt.Errorf("GET https://blob.example/sha256:ab?X-Amz-Signature=sig-Secret&X-Amz-Credential=cred-Secret: %w",
			&transport.Error{StatusCode: http.StatusBadGateway}),
		&url.Error{Op: "Get", URL: "https://realm.example/token?scope=repo&access_token=tok-Secret", Err: errors.New("EOF")},
		fmt.Errorf("denied for Bearer tok-Secret: %w", &transport.Error{StatusCode: http.StatusForbidden}),
	} {
		err := b.withRetry(context.Background(), "push", func() error { return cause })
		if KindOf(err) == "" {
			t.Fatalf("%v: not a packaging error", err)
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			for _, secret := range []string{"sig-Secret", "cred-Secret", "tok-Secret"} {
				if strings.Contains(e.Error(), secret) {
					t.Fatalf("%s in the chain: %v", secret, e)
				}
			}
		}
	}
	err := b.withRetry(context.Background(), "push", func() error {
		return fmt.Errorf("Bearer tok-Secret: %w", &transport.Error{StatusCode: http.StatusForbidden})
	})
	if KindOf(err) != KindRegistryDenied {
		t.Fatalf("a 403 behind a redacted message: %v, want RegistryDenied", err)
	}
}

// TestBentoImageDeterministic: the same archive and metadata give the same digest, and the layer
// holds the archive's bytes at BentoArchiveDir.
func TestBentoImageDeterministic(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "e2i_7_model-v3.bento")
	content := []byte("not really xz, but bytes all the same")
	if err := os.WriteFile(archive, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	meta := imageMeta{
		src:    source{requested: "runs:/r/model", packaged: "models:/fraud/3", modelName: "fraud", version: "3", experiment: "7", bentoTag: "e2i_7_model:v3"},
		built:  built{Archive: archive, BentoMLVersion: "1.4.39", MLflowVersion: "3.17.2", Flavour: "sklearn", created: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)},
		sha256: hex.EncodeToString(sum[:]), size: int64(len(content)),
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	var digests []v1.Hash
	for range 2 {
		if err := os.Chtimes(archive, time.Now(), time.Now()); err != nil { // file times must not matter
			t.Fatal(err)
		}
		img, err := bentoImage(base, meta, "")
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
		got := layerFile(t, img, "home/bentoml/bento-archive/e2i_7_model-v3.bento")
		if string(got) != string(content) {
			t.Fatalf("layer file = %q", got)
		}
		cf, _ := img.ConfigFile()
		if cf.Config.Labels[LabelBentoSHA256] != meta.sha256 || cf.Config.Labels[LabelPackagedURI] != "models:/fraud/3" {
			t.Fatalf("labels: %v", cf.Config.Labels)
		}
		mf, _ := img.Manifest()
		if mf.MediaType != types.OCIManifestSchema1 || mf.Annotations[LabelBentoTag] != "e2i_7_model:v3" {
			t.Fatalf("manifest: %s %v", mf.MediaType, mf.Annotations)
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("digests differ: %s vs %s", digests[0], digests[1])
	}
}

func layerFile(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v (%d)", err, len(layers))
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the layer: %v", name, err)
		}
		if hdr.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

func TestKeyedLock(t *testing.T) {
	k := newKeyedLock()
	unlock, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := k.lock(context.Background(), "b") // another key is free
	if err != nil {
		t.Fatal(err)
	}
	other()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := k.lock(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a held: got %v, want a deadline", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); unlock() }()
	again, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	again()
}
