package seal_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

// rfc8037Key is the Ed25519 key of RFC 8037 Appendix A.1.
const rfc8037Key = `{"kty":"OKP","crv":"Ed25519","kid":"rfc8037",
 "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`

func TestReadKeyRFC8037Vectors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.jwk")
	if err := os.WriteFile(path, []byte(rfc8037Key), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := seal.ReadKey(path)
	if err != nil {
		t.Fatalf("ReadKey: %v", err)
	}
	if k.KeyID() != "rfc8037" || k.Algorithm() != seal.AlgEdDSA {
		t.Fatalf("key %s alg %s", k.KeyID(), k.Algorithm())
	}
	// RFC 8037 A.3 and A.4.
	if got := seal.Thumbprint(k.Public().Key); got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Errorf("Thumbprint = %s", got)
	}
	sig := k.Sign([]byte("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"))
	want := "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	if got := base64.RawURLEncoding.EncodeToString(sig); got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestGenerateWriteReadKey(t *testing.T) {
	dir := t.TempDir()
	k, err := seal.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	if k.KeyID() != seal.Thumbprint(k.Public().Key) {
		t.Errorf("an empty kid is not the thumbprint: %s", k.KeyID())
	}
	path := filepath.Join(dir, "worker.jwk")
	if err := seal.WriteKey(path, k); err != nil {
		t.Fatalf("WriteKey: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if err := seal.WriteKey(path, k); err == nil {
		t.Error("WriteKey overwrote an existing file")
	}
	back, err := seal.ReadKey(path)
	if err != nil {
		t.Fatalf("ReadKey: %v", err)
	}
	if back.KeyID() != k.KeyID() || !bytes.Equal(back.Public().Key, k.Public().Key) {
		t.Fatalf("read back %v, want %v", back.Public(), k.Public())
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out, want := fmt.Sprintf(f, k), fmt.Sprintf("Ed25519 private key %q", k.KeyID()); out != want {
			t.Errorf("%s prints %s, want %s (no key material)", f, out, want)
		}
	}
}

func TestReadKeyRefuses(t *testing.T) {
	cases := []struct{ name, jwk, want string }{
		{"public key only", `{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "not a private key"},
		{"x not of d", strings.Replace(rfc8037Key, `"x":"11`, `"x":"12`, 1), "x is not the public key of d"},
		{"no kid", strings.Replace(rfc8037Key, `"kid":"rfc8037",`, ``, 1), "kid"},
		{"EC key", strings.Replace(rfc8037Key, `"kty":"OKP","crv":"Ed25519"`, `"kty":"EC","crv":"P-256"`, 1), "want OKP Ed25519"},
		{"other alg", strings.Replace(rfc8037Key, `"kid"`, `"alg":"ES256","kid"`, 1), "alg"},
		{"encryption key", strings.Replace(rfc8037Key, `"kid"`, `"use":"enc","kid"`, 1), "use"},
		{"unknown member", strings.Replace(rfc8037Key, `"kid"`, `"x5c":[],"kid"`, 1), "unsupported JWK member"},
		{"short seed", strings.Replace(rfc8037Key, `"d":"nWGx`, `"d":"`, 1), "seed"},
		{"not JSON", `{`, "JWK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.jwk")
			if err := os.WriteFile(path, []byte(tc.jwk), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := seal.ReadKey(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadKey error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestKeyringFile(t *testing.T) {
	a, b := testKey(t, "worker-2025"), testKey(t, "worker-2026")
	kr, err := keyring(t, a).With(b.Public())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.With(a.Public()); err == nil {
		t.Error("With accepted a kid the keyring has")
	}
	path := filepath.Join(t.TempDir(), "keyring.jwks")
	if err := seal.WriteKeyring(path, kr); err != nil {
		t.Fatalf("WriteKeyring: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"d"`)) {
		t.Fatalf("keyring file has private material:\n%s", data)
	}
	back, err := seal.ReadKeyring(path)
	if err != nil {
		t.Fatalf("ReadKeyring: %v", err)
	}
	if back.Len() != 2 || fmt.Sprint(back.Keys()) != fmt.Sprint(kr.Keys()) {
		t.Fatalf("read back %v, want %v", back.Keys(), kr.Keys())
	}
	chain := sealChain(t, entries(4), a, a, b, b)
	if r := seal.Verify(chain, back); !r.OK() {
		t.Fatalf("Verify with the read keyring: %v", r)
	}
}

func TestParseKeyringRefuses(t *testing.T) {
	pub := `{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	cases := []struct{ name, set, want string }{
		{"private key", `{"keys":[` + rfc8037Key + `]}`, "private key material"},
		{"RSA private member", `{"keys":[` + strings.Replace(pub, `"kid"`, `"p":"AQAB","kid"`, 1) + `]}`, "private key material"},
		{"duplicate kid", `{"keys":[` + pub + `,` + pub + `]}`, "given twice"},
		{"no keys", `{"keys":[]}`, "no keys"},
		{"not a set", pub, "JWK Set"},
		{"data after the set", `{"keys":[` + pub + `]} {}`, "data after"},
		{"unknown member", `{"keys":[` + strings.Replace(pub, `"kid"`, `"key_ops":["verify"],"kid"`, 1) + `]}`, "unsupported JWK member"},
		{"short x", `{"keys":[` + strings.Replace(pub, `"x":"11qY`, `"x":"`, 1) + `]}`, "x is not"},
		{"padded x", `{"keys":[` + strings.Replace(pub, `URo"`, `URo="`, 1) + `]}`, "x is not"},
		{"no kid", `{"keys":[` + strings.Replace(pub, `"kid":"a",`, ``, 1) + `]}`, "kid"},
		{"other alg", `{"keys":[` + strings.Replace(pub, `"EdDSA"`, `"ES256"`, 1) + `]}`, "alg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := seal.ParseKeyring([]byte(tc.set)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseKeyring error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if kr, err := seal.ParseKeyring([]byte(`{"keys":[` + pub + `]}`)); err != nil || kr.Len() != 1 {
		t.Fatalf("ParseKeyring of a good set = %v, %v", kr.Keys(), err)
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	k := testKey(t, "a").Public()
	if _, err := seal.NewKeyring(seal.PublicKey{Key: k.Key}); err == nil {
		t.Error("accepted a key without a kid")
	}
	if _, err := seal.NewKeyring(seal.PublicKey{KeyID: "a", Key: k.Key[:31]}); err == nil {
		t.Error("accepted a short key")
	}
	if _, err := seal.NewPrivateKey("", nil); err == nil {
		t.Error("NewPrivateKey accepted no kid")
	}
}
