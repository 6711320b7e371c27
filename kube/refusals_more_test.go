package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCheckEdges covers the refusal rules' edges: forms that are pinned or safe must pass, and
// every way of smuggling a credential must not.
func TestCheckEdges(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		name string
		mut  func(*Spec)
		rule string // "" = accepted
	}{
		{"tag plus digest is pinned", func(s *Spec) { s.Image = "ghcr.io/org/repo:v1" + digest }, ""},
		{"double underscore in a path", func(s *Spec) { s.Image = "ghcr.io/org/my__repo" + digest }, ""},
		{"bare repository", func(s *Spec) { s.Image = "fraud" + digest }, ""},
		{"tag alone", func(s *Spec) { s.Image = "ghcr.io/org/repo:v1" }, "R5"},
		{"two-argument password", func(s *Spec) { s.Args = []string{"--password", "hunter2"} }, "R2"},
		{"password from a Secret-fed variable", func(s *Spec) { s.Args = []string{"--password=$(DB_PASSWORD)"} }, ""},
		{"two-argument password from a variable", func(s *Spec) { s.Args = []string{"--password", "$(DB_PASSWORD)"} }, ""},
		{"password file path", func(s *Spec) { s.Args = []string{"--password-file=/run/secrets/pw"} }, ""},
		{"AUTHOR is no credential", func(s *Spec) { s.Env = []EnvVar{{Name: "AUTHOR", Value: "x"}} }, ""},
		{"OAUTH_CLIENT_ID is no credential", func(s *Spec) { s.Env = []EnvVar{{Name: "OAUTH_CLIENT_ID", Value: "x"}} }, ""},
		{"OAUTH_CLIENT_SECRET is", func(s *Spec) { s.Env = []EnvVar{{Name: "OAUTH_CLIENT_SECRET", Value: "x"}} }, "R2"},
		{"reserved env name", func(s *Spec) { s.Env = []EnvVar{{Name: "TD_MAX_BATCH_SIZE", Value: "8"}} }, "env"},
		{"duplicate env name", func(s *Spec) { s.Env = []EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}} }, "env"},
		{"CPU target 0", func(s *Spec) { s.Scaling.TargetCPUPercent = 0 }, "resources"},
		{"replicas above max", func(s *Spec) { s.Scaling.Replicas = s.Scaling.MaxReplicas + 1 }, "resources"},
		{"unknown resource name", func(s *Spec) { s.Resources["gpu"] = "1" }, "resources"},
		{"vendor resource name", func(s *Spec) { s.Resources["nvidia.com/gpu"] = "1" }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec("production", RoleStable)
			tc.mut(&s)
			err := Check(s)
			var ref *RefusedError
			switch {
			case tc.rule == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.rule != "" && (!errors.As(err, &ref) || ref.Rule != tc.rule):
				t.Fatalf("got %v, want rule %s", err, tc.rule)
			}
		})
	}
}

// TestRestoreRecreatesMissingStable: restoring a known-good spec where the stable Deployment is
// gone recreates it instead of failing on the scale-back.
func TestRestoreRecreatesMissingStable(t *testing.T) {
	k := newFakeCluster(t).backend(t, Options{})
	good := testSpec("production", RoleStable)
	if _, err := k.Restore(context.Background(), good.DeploymentName, "production", &good); err != nil {
		t.Fatalf("restore onto an empty environment: %v", err)
	}
	if _, found, err := k.Current(context.Background(), good.DeploymentName, "production"); err != nil || !found {
		t.Fatalf("stable not recreated: found=%v err=%v", found, err)
	}
}
