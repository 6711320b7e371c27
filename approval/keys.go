package approval

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// The signature algorithms an approval may use.
const (
	AlgEdDSA = string(jose.EdDSA) // Ed25519
	AlgES256 = string(jose.ES256) // ECDSA P-256 with SHA-256
)

// publicMembers are the JWK members a policy key may have; privateMembers carry private material.
var (
	publicMembers  = []string{"alg", "crv", "kid", "kty", "use", "x", "y"}
	privateMembers = []string{"d", "dp", "dq", "k", "oth", "p", "priv", "q", "qi"}
)

// GenerateKey makes a new private signing key: alg EdDSA (Ed25519) or ES256 (P-256), with kid,
// alg and use "sig" set. It uses crypto/rand: never call it from workflow code.
func GenerateKey(alg, kid string) (jose.JSONWebKey, error) {
	if kid == "" {
		return jose.JSONWebKey{}, errors.New("generate key: kid must not be empty")
	}
	var key any
	var err error
	switch alg {
	case AlgEdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case AlgES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return jose.JSONWebKey{}, fmt.Errorf("generate key: alg %q not supported (want %s or %s)", alg, AlgEdDSA, AlgES256)
	}
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}, nil
}

// Public returns the public half of k, keeping its kid, alg and use.
func Public(k jose.JSONWebKey) jose.JSONWebKey { return k.Public() }

// Sign signs c with a private key as a compact JWS whose header carries alg, the key's kid and
// typ "JWT". It signs whatever it is given (tests sign bad claims on purpose); Judge decides.
func Sign(private jose.JSONWebKey, c Claims) (string, error) {
	alg, err := keyAlg(private)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if private.IsPublic() {
		return "", fmt.Errorf("sign: key %q is a public key", private.KeyID)
	}
	if private.KeyID == "" {
		return "", errors.New("sign: the key has no kid")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: private},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("sign with key %q: %w", private.KeyID, err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign: encode claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with key %q: %w", private.KeyID, err)
	}
	return jws.CompactSerialize()
}

// ReadKey reads a private signing key from a JWK JSON file (as WriteKey writes it).
func ReadKey(path string) (jose.JSONWebKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("read key: %w", err)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(data); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("key %s: %w", path, err)
	}
	if k.IsPublic() || !k.Valid() {
		return jose.JSONWebKey{}, fmt.Errorf("key %s: not a private key", path)
	}
	if k.KeyID == "" {
		return jose.JSONWebKey{}, fmt.Errorf("key %s: no kid", path)
	}
	alg, err := keyAlg(k)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("key %s: %w", path, err)
	}
	k.Algorithm = alg
	return k, nil
}

// WriteKey writes k as JWK JSON to a new file at path, mode 0600; it refuses to overwrite one.
func WriteKey(path string, k jose.JSONWebKey) error {
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key %q: %w", k.KeyID, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}

// keyAlg is the signature algorithm k's type implies: EdDSA for Ed25519, ES256 for P-256. A
// declared alg that does not fit the type, or another key type, is an error.
func keyAlg(k jose.JSONWebKey) (string, error) {
	alg := ""
	switch key := k.Key.(type) {
	case ed25519.PublicKey, ed25519.PrivateKey:
		alg = AlgEdDSA
	case *ecdsa.PublicKey:
		if key.Curve == elliptic.P256() {
			alg = AlgES256
		}
	case *ecdsa.PrivateKey:
		if key.Curve == elliptic.P256() {
			alg = AlgES256
		}
	}
	if alg == "" {
		return "", fmt.Errorf("key %q: unsupported key type %T (want Ed25519 or P-256)", k.KeyID, k.Key)
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return "", fmt.Errorf("key %q: alg %q does not fit its key type (want %s)", k.KeyID, k.Algorithm, alg)
	}
	return alg, nil
}

// keyHeader is the non-key-material part of a policy JWK.
type keyHeader struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// check validates a policy key's type, curve, alg, use and kid; it returns the alg the key takes.
func (h keyHeader) check() (string, error) {
	want := ""
	switch {
	case h.Kty == "OKP" && h.Crv == "Ed25519":
		want = AlgEdDSA
	case h.Kty == "EC" && h.Crv == "P-256":
		want = AlgES256
	default:
		return "", fmt.Errorf("unsupported key kty %q crv %q (want OKP Ed25519 or EC P-256)", h.Kty, h.Crv)
	}
	if h.Alg != "" && h.Alg != want {
		return "", fmt.Errorf("alg %q does not fit a %s %s key (want %s)", h.Alg, h.Kty, h.Crv, want)
	}
	if h.Use != "" && h.Use != "sig" {
		return "", fmt.Errorf("use %q: an approval key is for signatures (\"sig\")", h.Use)
	}
	if h.Kid == "" {
		return "", errors.New("kid: required")
	}
	return want, nil
}

// checkPrivateMembers refuses a JWK with private key material.
func checkPrivateMembers(members map[string]json.RawMessage) error {
	for _, name := range sortedNames(members) {
		if slices.Contains(privateMembers, name) {
			return fmt.Errorf("private key material (member %q): the policy takes public keys only; "+
				"give it the public JWK that tdctl keygen prints and keep the private one with its approver", name)
		}
	}
	return nil
}

// checkPublicMembers refuses JWK members a policy key does not use (certificates, RSA parameters).
func checkPublicMembers(members map[string]json.RawMessage) error {
	for _, name := range sortedNames(members) {
		if !slices.Contains(publicMembers, name) {
			return fmt.Errorf("unsupported JWK member %q (a policy key has only %s)", name, strings.Join(publicMembers, ", "))
		}
	}
	return nil
}
