package tests

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	reg "github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestMLflowBasicAuth: against a real `mlflow server --app-name basic-auth`, the registry client
// and the bento build authenticate with MLFLOW_TRACKING_USERNAME/PASSWORD (the build gets them in
// its minimal environment, not the worker's), and without them or with a wrong password the
// server refuses permanently, no error showing the password. The worker's DATABASE_URL and cloud
// credentials are set meanwhile: the build works without them.
func TestMLflowBasicAuth(t *testing.T) {
	realparts.RequireBentoML(t)
	srv, password := realparts.StartMLflowBasicAuth(t)
	creds := mlflowauth.Credentials{Username: realparts.MLflowBasicAuthUser, Password: password}
	ctx := context.Background()

	t.Run("refused without credentials or with a wrong password", func(t *testing.T) {
		for _, c := range []mlflowauth.Credentials{{}, {Username: creds.Username, Password: "wrong-" + password}, {Token: password}} {
			m, err := reg.NewMLflow(srv.URL, reg.WithAuth(c))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Register(ctx, "fraud-auth", "runs:/0123456789abcdef/model", nil)
			if err == nil || !reg.IsPermanent(err) {
				t.Fatalf("%v: %v, want a permanent refusal", c, err)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("the password is in the error: %v", err)
			}
		}
	})

	logged := realparts.LogSklearnModelWithEnv(t, srv.URL, "auth-e2e", creds.Env()...)
	m, err := reg.NewMLflow(srv.URL, reg.WithAuth(creds))
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Register(ctx, "fraud-auth", logged.ModelURI, nil)
	if err != nil {
		t.Fatalf("register with basic auth: %v", err)
	}
	if _, err := m.SetStage(ctx, v.Name, v.Version, reg.StageChange{Stage: contract.StageStaging, Reason: "auth test", Actor: "test"}); err != nil {
		t.Fatalf("set stage with basic auth: %v", err)
	}

	t.Setenv("DATABASE_URL", "postgres://td:db-secret@127.0.0.1:1/td")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
	oci := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(oci.Close)
	packager := func(c mlflowauth.Credentials) *packaging.BentoML {
		p, err := packaging.NewBentoML(packaging.BentoMLConfig{TrackingURI: srv.URL, MLflowAuth: c,
			Repository: strings.TrimPrefix(oci.URL, "http://") + "/models", Insecure: true,
			Home: filepath.Join(t.TempDir(), "bentoml"), Python: realparts.VenvBin("python"),
			Script: filepath.Join(realparts.Root(), "infra", "bento", "package.py"), Attempts: 2, Backoff: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	req := packaging.Request{ModelName: v.Name, ModelVersion: v.Version, ModelURI: logged.ModelURI,
		ExperimentID: logged.ExperimentID, BentoTag: "e2i_" + logged.ExperimentID + "_model:v" + v.Version}

	_, err = packager(mlflowauth.Credentials{Username: creds.Username, Password: "wrong-" + password}).Package(ctx, req)
	if packaging.KindOf(err) != packaging.KindMLflowDenied {
		t.Fatalf("a build with a wrong MLflow password: %v, want a permanent MLflowDenied", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("the password is in the build's error: %v", err)
	}
	t.Logf("build with a wrong password: %v", err)

	start := time.Now()
	art, err := packager(creds).Package(ctx, req)
	if err != nil {
		t.Fatalf("build with basic auth: %v", err)
	}
	t.Logf("packaged %s with basic auth in %s: %s", art.BentoTag, time.Since(start).Round(time.Millisecond), art.Image)
}
