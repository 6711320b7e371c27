package approval

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// maxTokenBytes bounds an approval token, which ends up in workflow history.
	maxTokenBytes = 16 << 10
	// maxUnixTime (9999-12-31T23:59:59Z) bounds iat and exp, keeping time arithmetic exact.
	maxUnixTime = 253402300799
)

// claimNames are the approval claims in the order they are checked; all but comment are required.
var claimNames = []string{"workflow_id", "run_id", "deployment_name", "model_name", "model_version",
	"environment", "action", "sub", "iat", "exp", "comment"}

// tokenHeader is an approval's protected JWS header: alg and kid required, typ optional ("JWT").
type tokenHeader struct {
	Alg string
	Kid string
	Typ string
}

// parseToken reads a compact JWS approval without verifying its signature: the header must be
// exactly alg (EdDSA or ES256), kid and optionally typ "JWT", and the payload strict claims.
func parseToken(token string) (*jose.JSONWebSignature, tokenHeader, Claims, error) {
	if len(token) > maxTokenBytes {
		return nil, tokenHeader{}, Claims{}, fmt.Errorf("token is %d bytes, over the limit of %d", len(token), maxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, tokenHeader{}, Claims{}, fmt.Errorf("not a compact JWS (want header.payload.signature, got %d part(s))", len(parts))
	}
	h, err := decodeHeader(parts[0])
	if err != nil {
		return nil, tokenHeader{}, Claims{}, err
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
	if err != nil {
		return nil, tokenHeader{}, Claims{}, fmt.Errorf("not a compact JWS: %w", err)
	}
	c, err := decodeClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, tokenHeader{}, Claims{}, fmt.Errorf("payload: %w", err)
	}
	return jws, h, c, nil
}

// decodeHeader reads and checks the base64url protected header of a compact JWS.
func decodeHeader(segment string) (tokenHeader, error) {
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return tokenHeader{}, fmt.Errorf("header is not base64url: %w", err)
	}
	members, err := decodeObject(data)
	if err != nil {
		return tokenHeader{}, fmt.Errorf("header: %w", err)
	}
	var h tokenHeader
	fields := map[string]*string{"alg": &h.Alg, "kid": &h.Kid, "typ": &h.Typ}
	for _, name := range sortedNames(members) {
		target, ok := fields[name]
		if !ok {
			return tokenHeader{}, fmt.Errorf("header member %q is not allowed (only alg, kid, typ)", name)
		}
		if err := decodeMember(name, members[name], target); err != nil {
			return tokenHeader{}, fmt.Errorf("header: %w", err)
		}
	}
	if h.Alg != AlgEdDSA && h.Alg != AlgES256 {
		return tokenHeader{}, fmt.Errorf("alg %q is not accepted (want %s or %s)", h.Alg, AlgEdDSA, AlgES256)
	}
	if h.Kid == "" {
		return tokenHeader{}, errors.New("header has no kid")
	}
	if h.Typ != "" && h.Typ != "JWT" {
		return tokenHeader{}, fmt.Errorf("header typ %q (want \"JWT\")", h.Typ)
	}
	return h, nil
}

// decodeClaims decodes approval claims strictly: one JSON object, no repeated or unknown claims,
// every claim but comment present with the right type, iat and exp positive Unix seconds.
func decodeClaims(payload []byte) (Claims, error) {
	members, err := decodeObject(payload)
	if err != nil {
		return Claims{}, err
	}
	for _, name := range sortedNames(members) {
		if !slices.Contains(claimNames, name) {
			return Claims{}, fmt.Errorf("unknown claim %q", name)
		}
	}
	var c Claims
	for _, name := range claimNames {
		raw, ok := members[name]
		if !ok {
			if name == "comment" {
				continue
			}
			return Claims{}, fmt.Errorf("missing claim %q", name)
		}
		if err := decodeMember(name, raw, c.field(name)); err != nil {
			return Claims{}, fmt.Errorf("claim %w", err)
		}
	}
	for _, t := range []struct {
		name string
		v    int64
	}{{"iat", c.IssuedAt}, {"exp", c.Expiry}} {
		if t.v <= 0 || t.v > maxUnixTime {
			return Claims{}, fmt.Errorf("claim %q: want Unix seconds between 1 and %d, got %d", t.name, maxUnixTime, t.v)
		}
	}
	return c, nil
}

// field is where claim name goes in c: a *string or, for iat and exp, an *int64.
func (c *Claims) field(name string) any {
	switch name {
	case "workflow_id":
		return &c.WorkflowID
	case "run_id":
		return &c.RunID
	case "deployment_name":
		return &c.DeploymentName
	case "model_name":
		return &c.ModelName
	case "model_version":
		return &c.ModelVersion
	case "environment":
		return &c.Environment
	case "action":
		return &c.Action
	case "sub":
		return &c.Approver
	case "iat":
		return &c.IssuedAt
	case "exp":
		return &c.Expiry
	case "comment":
		return &c.Comment
	}
	return nil
}

// decodeObject decodes one JSON object with no repeated member names into its raw members.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if err := checkJSON(data, false); err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, errors.New("want a JSON object")
	}
	return members, nil
}

// decodeMember decodes one member into target (*string or *int64), refusing null and other types.
func decodeMember(name string, raw json.RawMessage, target any) error {
	want := "a string"
	if _, ok := target.(*int64); ok {
		want = "an integer"
	}
	if bytes.Equal(raw, []byte("null")) || json.Unmarshal(raw, target) != nil {
		return fmt.Errorf("%q: want %s, got %s", name, want, Clip(string(raw), 40))
	}
	return nil
}

// sortedNames returns m's keys in order, so that checks and their messages never depend on map order.
func sortedNames(m map[string]json.RawMessage) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Clip shortens s to at most n bytes (and an ellipsis), for a message or a record.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
