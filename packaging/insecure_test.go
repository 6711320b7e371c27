package packaging_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/temporaldeployer/temporaldeployer/packaging"
)

// TestPlainHTTPOnlyWhenConfigured: go-containerregistry speaks plain HTTP to a loopback registry
// by itself; the packager's transport refuses it unless insecure is configured, names the
// setting, and lets TLS through either way. Against the real ggcr registry on loopback.
func TestPlainHTTPOnlyWhenConfigured(t *testing.T) {
	plain := newRegistry(t, nil)
	tlsReg := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(tlsReg.Close)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	push := func(host string, next http.RoundTripper, insecure bool) error {
		ref, err := name.ParseReference(host + "/models/guard:v1")
		if err != nil {
			t.Fatal(err)
		}
		return remote.Write(ref, img, remote.WithTransport(packaging.RegistryTransport(next, insecure)))
	}

	err = push(plain.host, remote.DefaultTransport, false)
	var refused *packaging.PlainHTTPError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "DEPLOYER_OCI_INSECURE") {
		t.Fatalf("plain HTTP without insecure: %v, want a refusal naming DEPLOYER_OCI_INSECURE", err)
	}
	if plain.manifestPuts.Load() != 0 || plain.uploads.Load() != 0 {
		t.Fatalf("the refused push reached the registry")
	}
	if err := push(plain.host, remote.DefaultTransport, true); err != nil {
		t.Fatalf("plain HTTP with insecure: %v", err)
	}
	if plain.manifestPuts.Load() != 1 {
		t.Fatalf("manifest puts %d, want 1", plain.manifestPuts.Load())
	}
	if err := push(strings.TrimPrefix(tlsReg.URL, "https://"), tlsReg.Client().Transport, false); err != nil {
		t.Fatalf("TLS to a loopback registry without insecure: %v", err)
	}
}

// TestPackagerRefusesPlainHTTP: a packager not configured for plain HTTP fails at once, before
// building anything, with a permanent RegistryDenied naming DEPLOYER_OCI_INSECURE.
func TestPackagerRefusesPlainHTTP(t *testing.T) {
	f := &fixture{home: t.TempDir(), mlflow: "http://127.0.0.1:1"}
	plain := newRegistry(t, nil)
	p := f.packager(t, plain.host+"/models", func(c *packaging.BentoMLConfig) { c.Insecure = false; c.Python = "/bin/sh" })
	_, err := p.Package(context.Background(), packaging.Request{ModelName: "fraud", ModelVersion: "1",
		ModelURI: "models:/fraud/1", ExperimentID: "1", BentoTag: "e2i_1_model:v1"})
	wantPermanent(t, err, packaging.KindRegistryDenied)
	if !strings.Contains(err.Error(), "DEPLOYER_OCI_INSECURE") {
		t.Fatalf("the refusal does not name DEPLOYER_OCI_INSECURE: %v", err)
	}
}
