package packaging

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// TestScriptEnvPassEnv: PassEnv (DEPLOYER_BENTO_ENV) adds exactly the listed variables that are set
// in the worker's environment, each once, and nothing else of it.
func TestScriptEnvPassEnv(t *testing.T) {
	worker := map[string]string{"PATH": "/usr/bin", "HOME": "/home/worker", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE7Q",
		"AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_SESSION_TOKEN": "session", "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
		"DATABASE_URL": "postgres://td:db@db/td", "TEMPORAL_API_KEY": "temporal-key"}
	getenv := func(k string) string { return worker[k] }
	tests := []struct {
		name string
		pass []string
		want map[string]string // what PassEnv adds to the minimal environment
	}{
		{name: "none listed", pass: nil, want: map[string]string{}},
		{name: "listed and set", pass: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL"},
			want: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE7Q", "AWS_SECRET_ACCESS_KEY": "aws-secret", "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000"}},
		{name: "listed but unset", pass: []string{"AWS_REGION", "AWS_SESSION_TOKEN"}, want: map[string]string{"AWS_SESSION_TOKEN": "session"}},
		{name: "passed anyway", pass: []string{"PATH", "HOME", "AWS_ACCESS_KEY_ID"}, want: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE7Q"}},
	}
	minimal := (&BentoML{cfg: BentoMLConfig{Home: "/bentoml", TrackingURI: "http://mlflow"}}).scriptEnv(getenv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &BentoML{cfg: BentoMLConfig{Home: "/bentoml", TrackingURI: "http://mlflow", PassEnv: tt.pass}}
			env := b.scriptEnv(getenv)
			got, seen := map[string]string{}, map[string]bool{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				if seen[k] {
					t.Errorf("%s is passed twice: %q", k, env)
				}
				seen[k] = true
				if !slices.Contains(minimal, kv) {
					got[k] = v
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PassEnv %q added %q, want %q", tt.pass, got, tt.want)
			}
			for _, kv := range minimal {
				if !slices.Contains(env, kv) {
					t.Errorf("%s is gone from the build's environment", kv)
				}
			}
		})
	}
}

// TestBuildGetsPassEnv: a real process gets the listed variables that are set, and still nothing
// else of the worker's environment (TestBuildEnvironmentIsMinimal without the list).
func TestBuildGetsPassEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE7Q")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
	t.Setenv("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000")
	t.Setenv("AWS_SESSION_TOKEN", "not-listed")
	t.Setenv("DATABASE_URL", "postgres://td:db-secret@db/td")
	t.Setenv("TEMPORAL_API_KEY", "temporal-secret")
	t.Setenv("AWS_REGION", "")
	os.Unsetenv("AWS_REGION")
	pass := []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL", "AWS_REGION"}
	b, envFile := fakeBuildPassing(t, "", mlflowauth.Credentials{}, pass)
	if _, err := b.build(context.Background(), "models:/fraud/1", "e2i_1_model:v1"); err == nil {
		t.Fatal("the fake build succeeded")
	}
	got := readEnv(t, envFile)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE7Q", "AWS_SECRET_ACCESS_KEY": "aws-secret",
		"MLFLOW_S3_ENDPOINT_URL": "http://minio:9000"} {
		if got[k] != v {
			t.Errorf("%s=%q in the build, want %q", k, got[k], v)
		}
	}
	allowed := map[string]bool{"PWD": true, "SHLVL": true, "_": true, "OLDPWD": true, "LANG": true,
		"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "MLFLOW_S3_ENDPOINT_URL": true}
	for _, k := range slices.Concat(buildEnvPassed, buildEnvSet, []string{"MLFLOW_HTTP_REQUEST_MAX_RETRIES"}) {
		allowed[k] = true
	}
	for k := range got {
		if !allowed[k] {
			t.Errorf("the build sees %s, which it was not given", k)
		}
	}
}

// TestBuildFailureHidesPassEnvValues: the values PassEnv gives the build are secrets: echoed by a
// failing build, they do not reach its error (and so Temporal's history).
func TestBuildFailureHidesPassEnvValues(t *testing.T) {
	const keyID, key, conn = "AKIAEXAMPLE7Q", "wJalrXUtnFEMI-K7MDENG", "conn-Secret-Azure-0"
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", key)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
	tail := "botocore: signing with " + keyID + " and " + key + " failed\nazure: could not open " + conn + "\nS3 GetObject denied"
	b, _ := fakeBuildPassing(t, tail, mlflowauth.Credentials{},
		[]string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING"})
	_, err := b.build(context.Background(), "models:/fraud/1", "e2i_1_model:v1")
	if err == nil {
		t.Fatal("the fake build succeeded")
	}
	for _, secret := range []string{keyID, key, conn} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s is in the error:\n%s", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "S3 GetObject denied") {
		t.Errorf("the stderr tail is gone from the error:\n%s", err)
	}
}

// TestNewBentoMLRefusesPassEnvItSets: PassEnv may not name what the build sets from the packager's
// configuration; the refusal names DEPLOYER_BENTO_ENV and the entry.
func TestNewBentoMLRefusesPassEnvItSets(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "build.sh")
	if err := os.WriteFile(script, []byte("exit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range buildEnvSet {
		t.Run(name, func(t *testing.T) {
			_, err := NewBentoML(BentoMLConfig{TrackingURI: "http://127.0.0.1:1", Repository: "127.0.0.1:1/models",
				Python: "/bin/sh", Script: script, Home: filepath.Join(dir, "home"), PassEnv: []string{"AWS_REGION", name}})
			if err == nil || !strings.Contains(err.Error(), "DEPLOYER_BENTO_ENV") || !strings.Contains(err.Error(), name) {
				t.Errorf("PassEnv %s: %v; want a refusal naming DEPLOYER_BENTO_ENV and %s", name, err, name)
			}
		})
	}
}
