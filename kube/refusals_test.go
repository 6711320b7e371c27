package kube

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	hex64 := strings.Repeat("ab12", 16)
	img := func(s string) func(*Spec) { return func(sp *Spec) { sp.Image = s } }
	env := func(e ...EnvVar) func(*Spec) { return func(sp *Spec) { sp.Env = e } }
	lit := func(name string) EnvVar { return EnvVar{Name: name, Value: "hunter2"} }
	ref := func(name string) EnvVar { return EnvVar{Name: name, SecretName: "creds", SecretKey: "k"} }
	args := func(a ...string) func(*Spec) { return func(sp *Spec) { sp.Args = a } }
	res := func(r map[string]string) func(*Spec) { return func(sp *Spec) { sp.Resources = r } }
	scale := func(sc Scaling) func(*Spec) { return func(sp *Spec) { sp.Scaling = sc } }

	cases := []struct {
		name string
		edit func(*Spec)
		rule string // "" passes
	}{
		// R5: digest pinning.
		{"digest with registry host:port and nested path", img("registry.example.com:5000/team/models/fraud@sha256:" + hex64), ""},
		{"digest on a bare repository", img("fraud@sha256:" + hex64), ""},
		{"digest on docker hub path", img("docker.io/library/fraud-detector@sha256:" + hex64), ""},
		{"digest with localhost port", img("localhost:5000/fraud_model@sha256:" + hex64), ""},
		{"digest with dotted path", img("ghcr.io/org/fraud.v2/serve@sha256:" + hex64), ""},
		{"tag latest", img("fraud:latest"), "R5"},
		{"tag v1 with registry", img("registry.example.com/fraud:v1"), "R5"},
		{"no tag no digest", img("registry.example.com/fraud"), "R5"},
		{"short digest", img("fraud@sha256:" + hex64[:63]), "R5"},
		{"long digest", img("fraud@sha256:" + hex64 + "0"), "R5"},
		{"uppercase hex", img("fraud@sha256:" + strings.ToUpper(hex64)), "R5"},
		{"sha512", img("fraud@sha512:" + hex64 + hex64), "R5"},
		{"digest only", img("sha256:" + hex64), "R5"},
		{"uppercase repository", img("Fraud@sha256:" + hex64), "R5"},
		{"trailing newline", img("fraud@sha256:" + hex64 + "\n"), "R5"},
		{"empty image", img(""), "R5"},

		// R2: no plaintext credentials in env.
		{"PASSWORD literal", env(lit("PASSWORD")), "R2"},
		{"DB_PASSWORD literal", env(lit("DB_PASSWORD")), "R2"},
		{"lowercase api_key literal", env(lit("api_key")), "R2"},
		{"AWS_SECRET_ACCESS_KEY literal", env(lit("AWS_SECRET_ACCESS_KEY")), "R2"},
		{"TOKEN literal", env(lit("TOKEN")), "R2"},
		{"DB_PASSWD literal", env(lit("DB_PASSWD")), "R2"},
		{"PRIVATE-KEY literal", env(lit("SSH_PRIVATE_KEY")), "R2"},
		{"credential after a harmless var", env(EnvVar{Name: "LOG_LEVEL", Value: "debug"}, lit("GITHUB_TOKEN")), "R2"},
		{"PASSWORD as Secret reference", env(ref("PASSWORD")), ""},
		{"DB_PASSWORD as Secret reference", env(ref("DB_PASSWORD")), ""},
		{"api_key as Secret reference", env(ref("api_key")), ""},
		{"AWS_SECRET_ACCESS_KEY as Secret reference", env(ref("AWS_SECRET_ACCESS_KEY")), ""},
		{"TOKEN as Secret reference", env(ref("TOKEN")), ""},
		{"credential name with empty value", env(EnvVar{Name: "PASSWORD"}), ""},
		{"harmless literal", env(EnvVar{Name: "LOG_LEVEL", Value: "info"}), ""},
		{"Secret reference with a value", env(EnvVar{Name: "TOKEN", Value: "x", SecretName: "creds", SecretKey: "k"}), "R2"},
		{"Secret reference missing key", env(EnvVar{Name: "TOKEN", SecretName: "creds"}), "R2"},
		{"Secret reference missing name", env(EnvVar{Name: "TOKEN", SecretKey: "k"}), "R2"},
		{"harmless name Secret reference with value", env(EnvVar{Name: "LOG_LEVEL", Value: "x", SecretName: "s", SecretKey: "k"}), "R2"},

		// R2: no plaintext credentials in args.
		{"--password=hunter2", args("--password=hunter2"), "R2"},
		{"token=abc", args("token=abc"), "R2"},
		{"--api-key=x", args("--api-key=x"), "R2"},
		{"--API_KEY=x", args("--API_KEY=x"), "R2"},
		{"--db-password=x after others", args("--port=3000", "--db-password=x"), "R2"},
		{"--secret-access-key=x", args("--secret-access-key=x"), "R2"},
		{"--model-name=x", args("--model-name=x"), ""},
		{"--workers=4 --timeout=30", args("--workers=4", "--timeout=30"), ""},

		// resources.
		{"missing cpu", res(map[string]string{"memory": "1Gi"}), "resources"},
		{"missing memory", res(map[string]string{"cpu": "1"}), "resources"},
		{"empty cpu", res(map[string]string{"cpu": "", "memory": "1Gi"}), "resources"},
		{"nil resources", res(nil), "resources"},
		{"extra resources", res(map[string]string{"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"}), ""},
		{"zero replicas", scale(Scaling{Replicas: 0, MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 80}), "resources"},
		{"zero min replicas", scale(Scaling{Replicas: 1, MinReplicas: 0, MaxReplicas: 3, TargetCPUPercent: 80}), "resources"},
		{"max below min", scale(Scaling{Replicas: 2, MinReplicas: 3, MaxReplicas: 2, TargetCPUPercent: 80}), "resources"},
		{"empty scaling", scale(Scaling{}), "resources"},
		{"min equals max", scale(Scaling{Replicas: 2, MinReplicas: 2, MaxReplicas: 2, TargetCPUPercent: 80}), ""},

		// rule order: the image is checked first.
		{"tag and credential: R5 first", func(sp *Spec) { sp.Image = "fraud:v1"; sp.Env = []EnvVar{lit("TOKEN")} }, "R5"},
		{"credential and no resources: R2 first", func(sp *Spec) { sp.Env = []EnvVar{lit("TOKEN")}; sp.Resources = nil }, "R2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec("production", RoleStable)
			tc.edit(&s)
			err := Check(s)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("Check = %v; want nil", err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Check = %v (%T); want a *RefusedError of rule %s", err, err, tc.rule)
			}
			if re.Rule != tc.rule {
				t.Errorf("rule = %q; want %q (%v)", re.Rule, tc.rule, err)
			}
			if !re.Permanent() {
				t.Error("a refusal is permanent")
			}
			var p interface{ Permanent() bool }
			if !errors.As(fmt.Errorf("wrapped: %w", err), &p) || !p.Permanent() {
				t.Error("a wrapped refusal still reports Permanent")
			}
			if !strings.HasPrefix(err.Error(), "refused ("+tc.rule+"): ") || re.Reason == "" {
				t.Errorf("message %q does not name the rule and a reason", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message %q repeats the credential", err)
			}
		})
	}
}

func TestCheckValidSpecs(t *testing.T) {
	for env := range seed000 {
		for _, role := range []Role{RoleStable, RoleCanary, RoleShadow} {
			if err := Check(testSpec(env, role)); err != nil {
				t.Errorf("Check(%s/%s) = %v", env, role, err)
			}
		}
	}
}
