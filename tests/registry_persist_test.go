package tests

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/temporaldeployer/temporaldeployer/packaging"
	reg "github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestRegistryKeepsImagesAcrossRestart is issue 10 item 7 on real parts: a model packaged by the
// project's packager (MLflow → BentoML → OCI image, pushed with go-containerregistry) into the
// demo's registry (CNCF distribution, filesystem storage) is still there, by digest, after the
// registry is stopped and started again on the same storage; packaging it again finds it
// (nothing rebuilt). The control: go-containerregistry's test registry, which the demo used
// before, answers 404 for the same digest after a restart on the same blob directory.
func TestRegistryKeepsImagesAcrossRestart(t *testing.T) {
	realparts.RequireBentoML(t)
	ctx := context.Background()
	oci := realparts.StartDistributionRegistry(t)
	ml := realparts.StartMLflow(t)
	req := registeredModel(t, ml)
	packager := func() *packaging.BentoML {
		b, err := packaging.NewBentoML(packaging.BentoMLConfig{
			TrackingURI: ml, Repository: oci.Host + "/models", Insecure: true, Home: filepath.Join(t.TempDir(), "bentoml"),
			Python: realparts.VenvBin("python"), Script: filepath.Join(realparts.Root(), "infra", "bento", "package.py"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	start := time.Now()
	art, err := packager().Package(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("packaged and pushed %s in %s", art.Image, time.Since(start).Round(time.Millisecond))
	if art.Existing || !strings.HasPrefix(art.Image, oci.Host+"/models@sha256:") {
		t.Fatalf("artifact %+v: want a fresh push pinned by digest to %s/models", art, oci.Host)
	}

	oci.Stop(t)
	if code := headManifest(t, art.Image); code != -1 {
		t.Fatalf("HEAD %s answered %d while the registry was stopped: the test is not reaching it", art.Image, code)
	}
	oci.Start(t)
	if code := headManifest(t, art.Image); code != http.StatusOK {
		t.Fatalf("after a restart, HEAD %s = %d, want 200", art.Image, code)
	}
	pulled := pullImage(t, art.Image)
	if d, _ := pulled.Digest(); d.String() != art.Digest {
		t.Fatalf("pulled digest %s, want %s", d, art.Digest)
	}
	again, err := packager().Package(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.Image != art.Image {
		t.Fatalf("packaging again after the restart: %s (existing %v), want %s found in the registry", again.Image, again.Existing, art.Image)
	}

	t.Run("the in-memory registry loses it", func(t *testing.T) {
		blobs := t.TempDir()
		serve := func() *httptest.Server {
			srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)),
				registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs))))
			t.Cleanup(srv.Close)
			return srv
		}
		srv := serve()
		ref := strings.TrimPrefix(srv.URL, "http://") + "/models@" + art.Digest
		if err := remote.Write(mustRef(t, ref), pulled, remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		if code := headManifest(t, ref); code != http.StatusOK {
			t.Fatalf("HEAD %s = %d before the restart, want 200", ref, code)
		}
		srv.Close()
		srv = serve()
		ref = strings.TrimPrefix(srv.URL, "http://") + "/models@" + art.Digest
		if code := headManifest(t, ref); code != http.StatusNotFound {
			t.Fatalf("go-containerregistry's registry after a restart: HEAD %s = %d, want 404 (manifests in memory)", ref, code)
		}
	})
}

// registeredModel logs a small sklearn model to MLflow, registers it and returns the packager's
// request for that version.
func registeredModel(t *testing.T, mlflowURL string) packaging.Request {
	t.Helper()
	m, err := reg.NewMLflow(mlflowURL)
	if err != nil {
		t.Fatal(err)
	}
	logged := realparts.LogSklearnModel(t, mlflowURL, "registry-persist")
	v, err := m.Register(context.Background(), "fraud-detector", logged.ModelURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	return packaging.Request{ModelName: v.Name, ModelVersion: v.Version, ModelURI: logged.ModelURI,
		ExperimentID: logged.ExperimentID, BentoTag: "e2i_" + logged.ExperimentID + "_model:v" + v.Version}
}

// headManifest is a registry HEAD of ref's manifest: the HTTP status, or -1 when the registry
// cannot be reached.
func headManifest(t *testing.T, ref string) int {
	t.Helper()
	_, err := remote.Head(mustRef(t, ref), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	var te *transport.Error
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &te):
		return te.StatusCode
	default:
		t.Logf("HEAD %s: %v", ref, err)
		return -1
	}
}

func pullImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	img, err := remote.Image(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers { // every blob is there too, not only the manifest
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	return img
}

func mustRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
