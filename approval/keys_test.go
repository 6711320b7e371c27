package approval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestGenerateKey: both algorithms give a private signing key with kid, alg and use; others fail.
func TestGenerateKey(t *testing.T) {
	for _, tc := range []struct {
		alg, kid, wantErr string
	}{
		{AlgEdDSA, "a-1", ""},
		{AlgES256, "b-1", ""},
		{"RS256", "c-1", `alg "RS256" not supported`},
		{"", "c-1", `alg "" not supported`},
		{AlgEdDSA, "", "kid must not be empty"},
	} {
		t.Run(tc.alg+"/"+tc.kid, func(t *testing.T) {
			k, err := GenerateKey(tc.alg, tc.kid)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.IsPublic() || !k.Valid() || k.KeyID != tc.kid || k.Algorithm != tc.alg || k.Use != "sig" {
				t.Fatalf("key = public %v valid %v kid %q alg %q use %q", k.IsPublic(), k.Valid(), k.KeyID, k.Algorithm, k.Use)
			}
			pub := Public(k)
			if !pub.IsPublic() || pub.KeyID != tc.kid || pub.Algorithm != tc.alg || pub.Use != "sig" {
				t.Fatalf("Public = public %v kid %q alg %q use %q", pub.IsPublic(), pub.KeyID, pub.Algorithm, pub.Use)
			}
		})
	}
}

// TestSignRefuses keys that cannot make an approval.
func TestSignRefuses(t *testing.T) {
	ed := mustKey(t, AlgEdDSA, "e-1")
	noKid := ed
	noKid.KeyID = ""
	wrongAlg := ed
	wrongAlg.Algorithm = AlgES256
	for _, tc := range []struct {
		name string
		key  jose.JSONWebKey
		want string
	}{
		{"public key", Public(ed), "is a public key"},
		{"no kid", noKid, "no kid"},
		{"alg not the key's", wrongAlg, `alg "ES256" does not fit`},
		{"symmetric key", jose.JSONWebKey{Key: []byte("secret"), KeyID: "s"}, "unsupported key type"},
	} {
		if _, err := Sign(tc.key, claims(alice)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestSignHeader: the header is exactly alg, kid and typ JWT.
func TestSignHeader(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		tok := mustSign(t, mustKey(t, alg, "k-"+alg), claims(alice))
		h, err := decodeHeader(strings.Split(tok, ".")[0])
		if err != nil || h != (tokenHeader{Alg: alg, Kid: "k-" + alg, Typ: "JWT"}) {
			t.Errorf("%s header = %+v, %v", alg, h, err)
		}
	}
}

// TestWriteReadKey: a written key reads back and signs approvals the policy accepts; the file is
// 0600 and never overwritten; public keys and junk do not read as signing keys.
func TestWriteReadKey(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	for _, s := range f.signers() {
		path := filepath.Join(dir, s.key.KeyID+".jwk")
		if err := WriteKey(path, s.key); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v; want 0600", path, fi.Mode(), err)
		}
		if err := WriteKey(path, s.key); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Fatalf("second WriteKey: %v, want a refusal", err)
		}
		k, err := ReadKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, rej := Judge(f.policy, request(), mustSign(t, k, claims(s.id)), "", testNow); rej != nil {
			t.Fatalf("approval signed with the read key: %v", rej)
		}
	}
	for name, text := range map[string]string{
		"public.jwk": publicJSON(t, f.keys[alice]),
		"junk.jwk":   "not json",
		"nokid.jwk":  strings.Replace(string(mustJSON(t, f.keys[alice])), `"kid":"alice-1",`, "", 1),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadKey(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadKey(%s) = %v, want an error naming the file", name, err)
		}
	}
	if _, err := ReadKey(filepath.Join(dir, "missing.jwk")); err == nil {
		t.Error("ReadKey of a missing file succeeded")
	}
}
