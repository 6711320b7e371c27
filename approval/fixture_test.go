package approval

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testNow is the fixed "now" of the tests.
var testNow = time.Unix(1_800_000_000, 0).UTC()

// fixture is a policy with four approvers and their private keys:
// alice (EdDSA, group ml-leads), bob (ES256), carol (EdDSA, ml-leads), dave (ES256, staging only).
// production: bob + ml-leads, 2 required, max_age 1h; staging: dave, self-approval allowed, 10m.
type fixture struct {
	policy Policy
	keys   map[string]jose.JSONWebKey // approver ID -> private key
	json   string                     // the policy file
}

// signer is an approver with a private key; Judge cases run once per key type.
type signer struct {
	id  string
	key jose.JSONWebKey
}

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	carol = "carol@example.com"
	dave  = "dave@example.com"
)

// policyTemplate is the fixture's policy file; {alice} etc. become public JWKs.
const policyTemplate = `{
  "approvers": [
    {"id": "alice@example.com", "groups": ["ml-leads"], "keys": [{alice}]},
    {"id": "bob@example.com", "keys": [{bob}]},
    {"id": "carol@example.com", "groups": ["ml-leads"], "keys": [{carol}]},
    {"id": "dave@example.com", "keys": [{dave}]}
  ],
  "environments": {
    "production": {"approvers": ["bob@example.com"], "groups": ["ml-leads"], "required": 2,
                   "allow_self_approval": false, "max_age": "1h"},
    "staging": {"approvers": ["dave@example.com"], "allow_self_approval": true, "max_age": "10m"}
  }
}`

func newFixture(t testing.TB) fixture {
	t.Helper()
	f := fixture{keys: map[string]jose.JSONWebKey{}}
	f.json = policyTemplate
	for _, a := range []struct{ id, alg, kid string }{
		{alice, AlgEdDSA, "alice-1"}, {bob, AlgES256, "bob-1"}, {carol, AlgEdDSA, "carol-1"}, {dave, AlgES256, "dave-1"},
	} {
		k := mustKey(t, a.alg, a.kid)
		f.keys[a.id] = k
		f.json = strings.Replace(f.json, "{"+strings.Split(a.id, "@")[0]+"}", publicJSON(t, k), 1)
	}
	p, err := Parse([]byte(f.json))
	if err != nil {
		t.Fatalf("fixture policy: %v", err)
	}
	f.policy = p
	return f
}

// signers are alice (EdDSA) and bob (ES256), both eligible for production.
func (f fixture) signers() []signer {
	return []signer{{alice, f.keys[alice]}, {bob, f.keys[bob]}}
}

// request is what the run of the tests expects: production approval of fraud-model 3.
func request() Request {
	return Request{Binding: Binding{WorkflowID: "deploy-fraud-3", RunID: "run-1", DeploymentName: "fraud",
		ModelName: "fraud-model", ModelVersion: "3", Environment: "production", Action: "promote"},
		Requester: "erin@example.com"}
}

// claims are a good approval by sub of request(), issued a minute before testNow, valid 30 minutes.
func claims(sub string) Claims {
	return Claims{Binding: request().Binding, Approver: sub, IssuedAt: testNow.Unix() - 60,
		Expiry: testNow.Unix() + 1800, Comment: "looks good"}
}

func mustKey(t testing.TB, alg, kid string) jose.JSONWebKey {
	t.Helper()
	k, err := GenerateKey(alg, kid)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSign(t testing.TB, k jose.JSONWebKey, c Claims) string {
	t.Helper()
	tok, err := Sign(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func publicJSON(t testing.TB, k jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(Public(k))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handSigned builds a compact JWS from raw header and payload JSON without go-jose, signing with
// k (Ed25519 or P-256) whatever alg the header claims: the way to forge odd tokens.
func handSigned(t testing.TB, k jose.JSONWebKey, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	var sig []byte
	switch key := k.Key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(key, []byte(input))
	case *ecdsa.PrivateKey:
		h := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	default:
		t.Fatalf("handSigned: key type %T", k.Key)
	}
	return input + "." + enc.EncodeToString(sig)
}

// header is the JSON header a token signed by k would have.
func header(k jose.JSONWebKey) string {
	return `{"alg":"` + k.Algorithm + `","kid":"` + k.KeyID + `","typ":"JWT"}`
}
