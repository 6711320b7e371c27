package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/approval"
)

// TestKeygen: usage errors exit 2 naming the flag, failures exit 1, and a good run writes a 0600
// private key whose printed policy entry, pasted into a policy, accepts what the key signs.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	taken := filepath.Join(dir, "taken.jwk")
	if err := os.WriteFile(taken, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stderr     string // a substring of stderr
		docs       int    // JSON documents on stdout
		approverID string // the approver entry printed, if any
	}{
		{"EdDSA with entry", []string{"-kid", "alice-1", "-out", "{dir}/alice.jwk", "-approver", "alice@example.com"}, 0, "written to", 2, "alice@example.com"},
		{"ES256 key only", []string{"-alg", "ES256", "-kid", "bob-1", "-out", "{dir}/bob.jwk"}, 0, "keep it secret", 1, ""},
		{"no kid", []string{"-out", "{dir}/x.jwk"}, 2, "-kid is required", 0, ""},
		{"no out", []string{"-kid", "x"}, 2, "-out is required", 0, ""},
		{"bad alg", []string{"-alg", "RS256", "-kid", "x", "-out", "{dir}/x.jwk"}, 2, `-alg "RS256": want EdDSA or ES256`, 0, ""},
		{"stray argument", []string{"-kid", "x", "-out", "{dir}/x.jwk", "extra"}, 2, `unexpected argument "extra"`, 0, ""},
		{"unknown flag", []string{"-kidd", "x"}, 2, "-kidd", 0, ""},
		{"existing file", []string{"-kid", "x", "-out", taken}, 1, "exists", 0, ""},
		{"missing directory", []string{"-kid", "x", "-out", "{dir}/no/such/x.jwk"}, 1, "no such file", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{dir}", dir)
			}
			var stdout, stderr bytes.Buffer
			code := keygen(args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
			docs := jsonDocs(t, stdout.Bytes())
			if len(docs) != tc.docs {
				t.Fatalf("%d JSON documents on stdout, want %d:\n%s", len(docs), tc.docs, stdout.String())
			}
			if code == 0 {
				checkKeyPair(t, args, docs, tc.approverID)
			}
		})
	}
	if b, err := os.ReadFile(taken); err != nil || string(b) != "{}" {
		t.Errorf("the existing file changed: %q, %v", b, err)
	}
}

// checkKeyPair: the private key file is 0600 and the printed public key is its public half;
// the policy built from the printed key accepts an approval the private key signs.
func checkKeyPair(t *testing.T, args []string, docs []json.RawMessage, approverID string) {
	t.Helper()
	out := args[len(args)-1]
	for i, a := range args {
		if a == "-out" {
			out = args[i+1]
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want mode 0600", out, fi, err)
	}
	if bytes.Contains(docs[0], []byte(`"d"`)) {
		t.Fatalf("stdout holds private material: %s", docs[0])
	}
	entry := []byte(`{"id": "ops@example.com", "keys": [` + string(docs[0]) + `]}`)
	if approverID != "" {
		entry = docs[1]
	} else {
		approverID = "ops@example.com"
	}
	policy, err := approval.Parse([]byte(`{"approvers": [` + string(entry) + `],
		"environments": {"production": {"approvers": ["` + approverID + `"]}}}`))
	if err != nil {
		t.Fatalf("pasted policy: %v", err)
	}
	key, err := approval.ReadKey(out)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	want := approval.Request{Binding: approval.Binding{WorkflowID: "w", RunID: "r", DeploymentName: "d",
		ModelName: "m", ModelVersion: "1", Environment: "production", Action: "deploy"}}
	tok, err := approval.Sign(key, approval.Claims{Binding: want.Binding, Approver: approverID,
		IssuedAt: now.Unix(), Expiry: now.Add(time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if _, rej := approval.Judge(policy, want, tok, "", now); rej != nil {
		t.Fatalf("approval signed with the new key: %v", rej)
	}
}

// jsonDocs splits a stream of JSON documents.
func jsonDocs(t *testing.T, b []byte) []json.RawMessage {
	t.Helper()
	var docs []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var d json.RawMessage
		err := dec.Decode(&d)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, b)
		}
		docs = append(docs, d)
	}
}
