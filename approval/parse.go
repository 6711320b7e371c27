package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// policyFile is the approver policy file's top level (the contract's format).
type policyFile struct {
	Approvers    []json.RawMessage          `json:"approvers"`
	Environments map[string]json.RawMessage `json:"environments"`
}

// approverFile is one approver as the policy file writes it; keys are checked one by one.
type approverFile struct {
	ID     string            `json:"id"`
	Groups []string          `json:"groups"`
	Keys   []json.RawMessage `json:"keys"`
}

// ruleFile is one environment's rule as the policy file writes it: pointers tell an absent
// required or max_age (default applies) from a present one, and max_age is a Go duration string.
type ruleFile struct {
	Approvers         []string `json:"approvers"`
	Groups            []string `json:"groups"`
	Required          *int     `json:"required"`
	AllowSelfApproval bool     `json:"allow_self_approval"`
	MaxAge            *string  `json:"max_age"`
}

// Load reads and validates the approver policy file at path (see Parse).
func Load(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("read approver policy: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return Policy{}, fmt.Errorf("approver policy %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates an approver policy file strictly: unknown or repeated fields,
// private keys, key types other than Ed25519/P-256, repeated ids or kids, unknown environments,
// a missing production rule, and rules that cannot be met are refused, each error naming the
// JSON path at fault. Defaults are filled in (required 1, max_age DefaultMaxAge, a key's alg).
func Parse(data []byte) (Policy, error) {
	if err := checkJSON(data, true); err != nil {
		return Policy{}, err
	}
	var f policyFile
	if err := decodeStrict("", data, &f); err != nil {
		return Policy{}, err
	}
	if len(f.Approvers) == 0 {
		return Policy{}, errors.New("approvers: want at least one approver")
	}
	var p Policy
	kids := map[string]string{} // kid -> path of the key that has it
	for i, raw := range f.Approvers {
		a, err := parseApprover(fmt.Sprintf("approvers[%d]", i), raw, p.Approvers, kids)
		if err != nil {
			return Policy{}, err
		}
		p.Approvers = append(p.Approvers, a)
	}
	envs, err := p.parseEnvironments(f.Environments)
	if err != nil {
		return Policy{}, err
	}
	p.Environments = envs
	return p, nil
}

// parseApprover validates the approver at path; earlier holds the approvers before it and kids
// the key IDs seen so far (it adds its own).
func parseApprover(path string, raw json.RawMessage, earlier []Approver, kids map[string]string) (Approver, error) {
	var f approverFile
	if err := decodeStrict(path, raw, &f); err != nil {
		return Approver{}, err
	}
	if f.ID == "" {
		return Approver{}, fmt.Errorf("%s.id: must not be empty", path)
	}
	if j := slices.IndexFunc(earlier, func(a Approver) bool { return a.ID == f.ID }); j >= 0 {
		return Approver{}, fmt.Errorf("%s.id: %q is already approvers[%d]", path, f.ID, j)
	}
	for j, g := range f.Groups {
		if g == "" {
			return Approver{}, fmt.Errorf("%s.groups[%d]: must not be empty", path, j)
		}
	}
	if len(f.Keys) == 0 {
		return Approver{}, fmt.Errorf("%s.keys: want at least one public key", path)
	}
	a := Approver{ID: f.ID, Groups: nilIfEmpty(f.Groups)}
	for j, rawKey := range f.Keys {
		keyPath := fmt.Sprintf("%s.keys[%d]", path, j)
		k, err := parsePublicKey(rawKey)
		if err != nil {
			return Approver{}, fmt.Errorf("%s: %w", keyPath, err)
		}
		if other, dup := kids[k.KeyID]; dup {
			return Approver{}, fmt.Errorf("%s.kid: %q is already used by %s", keyPath, k.KeyID, other)
		}
		kids[k.KeyID] = keyPath
		a.Keys = append(a.Keys, k)
	}
	return a, nil
}

// parseEnvironments validates the environments' rules against p's approvers, in a fixed order so
// that the error reported is always the same one.
func (p Policy) parseEnvironments(raw map[string]json.RawMessage) (map[string]Rule, error) {
	rules := map[string]Rule{}
	for _, name := range sortedNames(raw) {
		path := "environments." + name
		if !slices.Contains(environments, name) {
			return nil, fmt.Errorf("%s: unknown environment (want one of %s)", path, strings.Join(environments, ", "))
		}
		r, err := p.parseRule(path, raw[name])
		if err != nil {
			return nil, err
		}
		rules[name] = r
	}
	if _, ok := rules["production"]; !ok {
		return nil, errors.New("environments.production: required (a policy must be able to approve production)")
	}
	return rules, nil
}

// parseRule validates the rule at path and fills in its defaults.
func (p Policy) parseRule(path string, raw json.RawMessage) (Rule, error) {
	var f ruleFile
	if err := decodeStrict(path, raw, &f); err != nil {
		return Rule{}, err
	}
	if len(f.Approvers) == 0 && len(f.Groups) == 0 {
		return Rule{}, fmt.Errorf("%s: list at least one approver or group", path)
	}
	for i, id := range f.Approvers {
		if !slices.ContainsFunc(p.Approvers, func(a Approver) bool { return a.ID == id }) {
			return Rule{}, fmt.Errorf("%s.approvers[%d]: no approver %q in this policy", path, i, id)
		}
	}
	for i, g := range f.Groups {
		if !slices.ContainsFunc(p.Approvers, func(a Approver) bool { return slices.Contains(a.Groups, g) }) {
			return Rule{}, fmt.Errorf("%s.groups[%d]: no approver is in group %q", path, i, g)
		}
	}
	r := Rule{Approvers: nilIfEmpty(f.Approvers), Groups: nilIfEmpty(f.Groups), Required: 1,
		AllowSelfApproval: f.AllowSelfApproval, MaxAge: DefaultMaxAge}
	if f.Required != nil {
		r.Required = *f.Required
	}
	eligible := Policy{Approvers: p.Approvers, Environments: map[string]Rule{"": r}}.Eligible("")
	if r.Required < 1 {
		return Rule{}, fmt.Errorf("%s.required: must be at least 1, got %d", path, r.Required)
	}
	if r.Required > len(eligible) {
		return Rule{}, fmt.Errorf("%s.required: %d exceeds the %d eligible approver(s) (%s)",
			path, r.Required, len(eligible), strings.Join(eligible, ", "))
	}
	if f.MaxAge != nil {
		d, err := parseMaxAge(*f.MaxAge)
		if err != nil {
			return Rule{}, fmt.Errorf("%s.max_age: %w", path, err)
		}
		r.MaxAge = d
	}
	return r, nil
}

// parseMaxAge reads a max_age: a Go duration string, positive and at most seven days.
func parseMaxAge(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a Go duration such as \"1h\": %w", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive, got %q", s)
	}
	if d > maxMaxAge {
		return 0, fmt.Errorf("%q exceeds the limit of %s (7 days)", s, maxMaxAge)
	}
	return d, nil
}

// decodeStrict decodes the JSON value at path into v, refusing fields v does not have.
func decodeStrict(path string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(path, err)
	}
	return nil
}

// jsonError restates an encoding/json error about the value at path in the policy's words, e.g.
// `approvers[1].id: want a string, got number`.
func jsonError(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := strings.Trim(path+"."+te.Field, ".")
		if where != "" {
			where += ": "
		}
		return fmt.Errorf("%swant %s, got %s", where, kindName(te.Type.Kind()), te.Value)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if path == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// kindName names a JSON kind for a message.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// nilIfEmpty keeps empty lists nil, so a policy's JSON encoding (omitempty) round-trips exactly.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// parsePublicKey reads one policy key: a public Ed25519 (OKP) or P-256 (EC) JWK with a kid; its
// alg, when given, must fit the key, and is filled in when not.
func parsePublicKey(raw json.RawMessage) (jose.JSONWebKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("want a JWK object: %w", err)
	}
	if err := checkPrivateMembers(members); err != nil {
		return jose.JSONWebKey{}, err
	}
	var h keyHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return jose.JSONWebKey{}, jsonError("", err)
	}
	alg, err := h.check()
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if err := checkPublicMembers(members); err != nil {
		return jose.JSONWebKey{}, err
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("invalid key: %w", err)
	}
	if !k.IsPublic() || !k.Valid() {
		return jose.JSONWebKey{}, errors.New("invalid key: not a valid public key")
	}
	k.Algorithm = alg
	return k, nil
}
