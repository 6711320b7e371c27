package packaging_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/temporaldeployer/temporaldeployer/packaging"
	reg "github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// ociRegistry is go-containerregistry's registry on a loopback httptest server, counting
// requests; fail (if set) answers a request instead of the registry when it returns true.
type ociRegistry struct {
	srv          *httptest.Server
	host         string
	manifestPuts atomic.Int32
	uploads      atomic.Int32 // POST /v2/<repo>/blobs/uploads/
	failed       atomic.Int32
	fail         func(r *http.Request, w http.ResponseWriter) bool
}

func newRegistry(t *testing.T, fail func(r *http.Request, w http.ResponseWriter) bool) *ociRegistry {
	t.Helper()
	o := &ociRegistry{fail: fail}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.fail != nil && o.fail(r, w) {
			o.failed.Add(1)
			return
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			o.manifestPuts.Add(1)
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
			o.uploads.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(o.srv.Close)
	o.host = strings.TrimPrefix(o.srv.URL, "http://")
	return o
}

func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch
}

// fixture: one MLflow server with a registered sklearn model (version 1) and a registered model
// without the python_function flavour, shared by the subtests.
type fixture struct {
	mlflow, home string
	model        packaging.Request // the sklearn model's registry version
	noPyfunc     packaging.Request
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	realparts.RequireBentoML(t)
	f := &fixture{mlflow: realparts.StartMLflow(t), home: filepath.Join(t.TempDir(), "bentoml")}
	ctx := context.Background()
	m, err := reg.NewMLflow(f.mlflow)
	if err != nil {
		t.Fatal(err)
	}
	logged := realparts.LogSklearnModel(t, f.mlflow, "packaging-test")
	v, err := m.Register(ctx, "fraud-detector", logged.ModelURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.model = packaging.Request{ModelName: v.Name, ModelVersion: v.Version, ModelURI: logged.ModelURI,
		ExperimentID: logged.ExperimentID, BentoTag: "e2i_" + logged.ExperimentID + "_model:v" + v.Version}
	odd := realparts.LogModelWithoutPyfunc(t, f.mlflow, "packaging-test")
	ov, err := m.Register(ctx, "custom-flavour", odd.ModelURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.noPyfunc = packaging.Request{ModelName: ov.Name, ModelVersion: ov.Version, ModelURI: odd.ModelURI,
		ExperimentID: odd.ExperimentID, BentoTag: "e2i_" + odd.ExperimentID + "_model:v" + ov.Version + "-custom"}
	return f
}

func (f *fixture) packager(t *testing.T, repo string, mod func(*packaging.BentoMLConfig)) *packaging.BentoML {
	t.Helper()
	cfg := packaging.BentoMLConfig{
		TrackingURI: f.mlflow, Repository: repo, Home: f.home, Insecure: true, // a loopback httptest registry
		Python: realparts.VenvBin("python"), Script: filepath.Join(realparts.Root(), "infra", "bento", "package.py"),
		Attempts: 4, Backoff: 20 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := packaging.NewBentoML(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantMetric checks that the Prometheus sample `name{...}` with all the given label pairs is want.
func wantMetric(t *testing.T, metrics, name string, want float64, labels ...string) {
	t.Helper()
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(line, l)
		}
		if !all {
			continue
		}
		var got float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &got); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", line, got, err, want)
		}
		return
	}
	t.Errorf("no %s%v sample in /metrics", name, labels)
}

func wantPermanent(t *testing.T, err error, kind packaging.ErrorKind) {
	t.Helper()
	var pe *packaging.Error
	if !errors.As(err, &pe) || pe.Kind != kind || !pe.Permanent() {
		t.Fatalf("got %v, want a permanent %s", err, kind)
	}
}

func pull(t *testing.T, ref string) v1.Image {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// verifyPulled pulls the image by digest and checks the digest, the labels and that the bento
// layer's archive has the recorded sha256.
func verifyPulled(t *testing.T, art packaging.Artifact, r packaging.Request) {
	t.Helper()
	img := pull(t, art.Image)
	d, err := img.Digest()
	if err != nil || d.String() != art.Digest {
		t.Fatalf("pulled digest %s (%v), want %s", d, err, art.Digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	l := cf.Config.Labels
	if l[packaging.LabelBentoTag] != r.BentoTag || l[packaging.LabelBentoSHA256] != art.SHA256 ||
		l[packaging.LabelModelURI] != r.ModelURI || l[packaging.LabelModelVersion] != r.ModelVersion ||
		l[packaging.LabelPackagedURI] != "models:/"+r.ModelName+"/"+r.ModelVersion {
		t.Fatalf("labels %v do not trace back to %+v", l, r)
	}
	layers, _ := img.Layers()
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	want := strings.TrimPrefix(packaging.BentoArchiveDir, "/") + "/" + packaging.ImageTag(r.BentoTag) + ".bento"
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the bento layer: %v", want, err)
		}
		if hdr.Name != want {
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != art.SHA256 {
			t.Fatalf("layer archive sha256 %s, recorded %s", got, art.SHA256)
		}
		return
	}
}

// extractBento writes the .bento archive in a pulled image's last layer to a file.
func extractBento(t *testing.T, img v1.Image, bentoTag string) string {
	t.Helper()
	layers, _ := img.Layers()
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	base := packaging.ImageTag(bentoTag) + ".bento"
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in the layer: %v", base, err)
		}
		if filepath.Base(hdr.Name) != base {
			continue
		}
		out := filepath.Join(t.TempDir(), base)
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return out
	}
}
