package approval

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// doc is a policy file as generic JSON, for cases that edit one part of it.
type doc = map[string]any

func approverAt(m doc, i int) doc { return m["approvers"].([]any)[i].(doc) }
func keyAt(m doc, i, j int) doc   { return approverAt(m, i)["keys"].([]any)[j].(doc) }
func envAt(m doc, name string) doc {
	return m["environments"].(doc)[name].(doc)
}

// TestParseErrors: every refusal names the JSON path at fault.
func TestParseErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		edit func(m doc)                     // edits the fixture policy, or
		text func(fixtureJSON string) string // rewrites its text
		want string
	}{
		{name: "not JSON", text: func(string) string { return "{" }, want: "invalid JSON"},
		{name: "trailing value", text: func(s string) string { return s + " {}" }, want: "exactly one JSON value"},
		{name: "an array", text: func(string) string { return "[]" }, want: "want an object, got array"},
		{name: "unknown top-level field", edit: func(m doc) { m["version"] = 2 }, want: `unknown field "version"`},
		{name: "field name in another case", text: func(s string) string { return strings.Replace(s, `"approvers": [`, `"Approvers": [`, 1) },
			want: `unknown field "Approvers"`},
		{name: "repeated field", text: func(s string) string { return strings.Replace(s, `{`, `{"environments": {},`, 1) },
			want: `duplicate field "environments"`},
		{name: "no approvers", edit: func(m doc) { m["approvers"] = []any{} }, want: "approvers: want at least one approver"},
		{name: "approvers absent", edit: func(m doc) { delete(m, "approvers") }, want: "approvers: want at least one approver"},
		{name: "approver unknown field", edit: func(m doc) { approverAt(m, 1)["email"] = "b@x" },
			want: `approvers[1]: unknown field "email"`},
		{name: "approver id not a string", edit: func(m doc) { approverAt(m, 1)["id"] = 7 }, want: "approvers[1].id: want a string, got number"},
		{name: "approvers an object", edit: func(m doc) { m["approvers"] = doc{} }, want: "approvers: want an array, got object"},
		{name: "group a number", edit: func(m doc) { approverAt(m, 0)["groups"] = []any{1} },
			want: "approvers[0].groups: want a string, got number"},
		{name: "empty id", edit: func(m doc) { approverAt(m, 0)["id"] = "" }, want: "approvers[0].id: must not be empty"},
		{name: "repeated id", edit: func(m doc) { approverAt(m, 2)["id"] = alice },
			want: `approvers[2].id: "alice@example.com" is already approvers[0]`},
		{name: "empty group", edit: func(m doc) { approverAt(m, 0)["groups"] = []any{""} }, want: "approvers[0].groups[0]: must not be empty"},
		{name: "no keys", edit: func(m doc) { approverAt(m, 1)["keys"] = []any{} }, want: "approvers[1].keys: want at least one public key"},
		{name: "private key", edit: func(m doc) { approverAt(m, 1)["keys"] = []any{generic(t, f.keys[bob])} },
			want: `approvers[1].keys[0]: private key material (member "d")`},
		{name: "symmetric key", edit: func(m doc) { approverAt(m, 1)["keys"] = []any{doc{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}} },
			want: `approvers[1].keys[0]: private key material (member "k")`},
		{name: "RSA key", edit: func(m doc) { approverAt(m, 1)["keys"] = []any{doc{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}} },
			want: `approvers[1].keys[0]: unsupported key kty "RSA"`},
		{name: "X25519 key", edit: func(m doc) { keyAt(m, 0, 0)["crv"] = "X25519" }, want: `approvers[0].keys[0]: unsupported key kty "OKP" crv "X25519"`},
		{name: "P-384 key", edit: func(m doc) { keyAt(m, 1, 0)["crv"] = "P-384" }, want: `approvers[1].keys[0]: unsupported key kty "EC" crv "P-384"`},
		{name: "alg not the key's", edit: func(m doc) { keyAt(m, 0, 0)["alg"] = "ES256" },
			want: `approvers[0].keys[0]: alg "ES256" does not fit a OKP Ed25519 key (want EdDSA)`},
		{name: "alg RS256", edit: func(m doc) { keyAt(m, 1, 0)["alg"] = "RS256" }, want: `approvers[1].keys[0]: alg "RS256"`},
		{name: "use enc", edit: func(m doc) { keyAt(m, 0, 0)["use"] = "enc" }, want: `approvers[0].keys[0]: use "enc"`},
		{name: "no kid", edit: func(m doc) { delete(keyAt(m, 3, 0), "kid") }, want: "approvers[3].keys[0]: kid: required"},
		{name: "kid not a string", edit: func(m doc) { keyAt(m, 3, 0)["kid"] = 1 }, want: "approvers[3].keys[0]: kid: want a string, got number"},
		{name: "repeated kid", edit: func(m doc) { keyAt(m, 2, 0)["kid"] = "alice-1" },
			want: `approvers[2].keys[0].kid: "alice-1" is already used by approvers[0].keys[0]`},
		{name: "certificate chain", edit: func(m doc) { keyAt(m, 0, 0)["x5c"] = []any{"MIIB"} },
			want: `approvers[0].keys[0]: unsupported JWK member "x5c"`},
		{name: "bad key bytes", edit: func(m doc) { keyAt(m, 0, 0)["x"] = "AAAA" }, want: "approvers[0].keys[0]: invalid key"},
		{name: "point not on the curve", edit: func(m doc) { keyAt(m, 1, 0)["y"] = keyAt(m, 1, 0)["x"] }, want: "approvers[1].keys[0]: invalid key"},
		{name: "unknown environment", edit: func(m doc) { m["environments"].(doc)["prod"] = envAt(m, "production") },
			want: "environments.prod: unknown environment (want one of staging, shadow, production)"},
		{name: "no production", edit: func(m doc) { delete(m["environments"].(doc), "production") },
			want: "environments.production: required"},
		{name: "environments absent", edit: func(m doc) { delete(m, "environments") }, want: "environments.production: required"},
		{name: "rule unknown field", edit: func(m doc) { envAt(m, "production")["quorum"] = 2 },
			want: `environments.production: unknown field "quorum"`},
		{name: "rule approver unknown", edit: func(m doc) { envAt(m, "staging")["approvers"] = []any{dave, "zed@example.com"} },
			want: `environments.staging.approvers[1]: no approver "zed@example.com" in this policy`},
		{name: "rule group empty", edit: func(m doc) { envAt(m, "production")["groups"] = []any{"ml-leads", "sre"} },
			want: `environments.production.groups[1]: no approver is in group "sre"`},
		{name: "rule with nobody", edit: func(m doc) { delete(envAt(m, "staging"), "approvers") },
			want: "environments.staging: list at least one approver or group"},
		{name: "required zero", edit: func(m doc) { envAt(m, "production")["required"] = 0 },
			want: "environments.production.required: must be at least 1, got 0"},
		{name: "required negative", edit: func(m doc) { envAt(m, "production")["required"] = -1 },
			want: "environments.production.required: must be at least 1, got -1"},
		{name: "required over eligible", edit: func(m doc) { envAt(m, "production")["required"] = 4 },
			want: "environments.production.required: 4 exceeds the 3 eligible approver(s) (alice@example.com, bob@example.com, carol@example.com)"},
		{name: "required a string", edit: func(m doc) { envAt(m, "production")["required"] = "2" },
			want: "environments.production.required: want an integer, got string"},
		{name: "max_age not a duration", edit: func(m doc) { envAt(m, "production")["max_age"] = "1 hour" },
			want: `environments.production.max_age: want a Go duration such as "1h"`},
		{name: "max_age nanoseconds", edit: func(m doc) { envAt(m, "production")["max_age"] = 3600 },
			want: "environments.production.max_age: want a string, got number"},
		{name: "max_age zero", edit: func(m doc) { envAt(m, "production")["max_age"] = "0s" },
			want: `environments.production.max_age: must be positive, got "0s"`},
		{name: "max_age negative", edit: func(m doc) { envAt(m, "staging")["max_age"] = "-1m" },
			want: `environments.staging.max_age: must be positive, got "-1m"`},
		{name: "max_age over a week", edit: func(m doc) { envAt(m, "production")["max_age"] = "169h" },
			want: `environments.production.max_age: "169h" exceeds the limit of 168h0m0s (7 days)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := f.json
			if tc.edit != nil {
				var m doc
				if err := json.Unmarshal([]byte(text), &m); err != nil {
					t.Fatal(err)
				}
				tc.edit(m)
				text = string(mustJSON(t, m))
			} else {
				text = tc.text(text)
			}
			_, err := Parse([]byte(text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// generic is k's JWK as generic JSON.
func generic(t testing.TB, k any) doc {
	var m doc
	if err := json.Unmarshal(mustJSON(t, k), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestParseDefaults: required, max_age and a key's alg are filled in; empty lists stay nil.
func TestParseDefaults(t *testing.T) {
	f := newFixture(t)
	bobKey := strings.Replace(publicJSON(t, f.keys[bob]), `"alg":"ES256",`, "", 1)
	if strings.Contains(bobKey, "alg") {
		t.Fatalf("could not drop alg from %s", bobKey)
	}
	p, err := Parse([]byte(`{"approvers": [{"id": "bob", "keys": [` + bobKey + `]}],
		"environments": {"production": {"approvers": ["bob"]}, "shadow": {"approvers": ["bob"], "groups": []}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{Approvers: []string{"bob"}, Required: 1, MaxAge: DefaultMaxAge}
	for _, env := range []string{"production", "shadow"} {
		if got, ok := p.Rule(env); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Rule(%s) = %+v, %v; want %+v", env, got, ok, want)
		}
	}
	if _, ok := p.Rule("staging"); ok {
		t.Error("staging has a rule")
	}
	if a := p.Approvers[0]; a.Groups != nil || a.Keys[0].Algorithm != AlgES256 {
		t.Errorf("approver = groups %v alg %q; want nil groups, alg ES256", a.Groups, a.Keys[0].Algorithm)
	}
}

// TestPolicyRoundTrip: a parsed policy survives encoding/json (as Temporal history carries it)
// exactly, and still verifies approvals of both key types.
func TestPolicyRoundTrip(t *testing.T) {
	f := newFixture(t)
	data := mustJSON(t, f.policy)
	var back Policy
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, f.policy) {
		t.Fatalf("round trip changed the policy:\n got %+v\nwant %+v", back, f.policy)
	}
	if again := mustJSON(t, back); string(again) != string(data) {
		t.Fatalf("second encoding differs:\n%s\n%s", again, data)
	}
	if r, _ := back.Rule("production"); r.MaxAge != time.Hour || !strings.Contains(string(data), `"max_age":3600000000000`) {
		t.Fatalf("max_age = %v in %s, want 1h as nanoseconds", r.MaxAge, data)
	}
	for _, s := range f.signers() {
		c := claims(s.id)
		if _, rej := Judge(back, request(), mustSign(t, s.key, c), "", testNow); rej != nil {
			t.Errorf("%s after round trip: %v", s.key.Algorithm, rej)
		}
	}
}

// TestPolicyQueries covers Configured, Rule and Eligible.
func TestPolicyQueries(t *testing.T) {
	f := newFixture(t)
	if !f.policy.Configured() || (Policy{}).Configured() {
		t.Error("Configured: want true for the fixture, false for the zero policy")
	}
	for _, tc := range []struct {
		env  string
		want []string
	}{
		{"production", []string{alice, bob, carol}},
		{"staging", []string{dave}},
		{"shadow", nil},
		{"", nil},
	} {
		if got := f.policy.Eligible(tc.env); !slices.Equal(got, tc.want) {
			t.Errorf("Eligible(%q) = %v, want %v", tc.env, got, tc.want)
		}
	}
	// A hand-built rule listing one approver twice, directly and through a group, counts them once.
	p := Policy{Approvers: f.policy.Approvers, Environments: map[string]Rule{"production": {
		Approvers: []string{carol, alice, carol, "ghost"}, Groups: []string{"ml-leads"}}}}
	if got, want := p.Eligible("production"), []string{alice, carol}; !slices.Equal(got, want) {
		t.Errorf("Eligible = %v, want %v", got, want)
	}
}

// TestNarrow: allowed_approvers may only narrow the policy.
func TestNarrow(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name    string
		env     string
		allowed []string
		index   int
		message string
	}{
		{"empty allows all", "production", nil, -1, ""},
		{"subset", "production", []string{carol, bob}, -1, ""},
		{"all eligible", "production", []string{alice, bob, carol}, -1, ""},
		{"one outsider", "production", []string{alice, dave}, 1,
			`allowed_approvers[1]: "dave@example.com" is not an eligible approver for production (eligible: alice@example.com, bob@example.com, carol@example.com)`},
		{"first outsider reported", "staging", []string{dave, alice, bob}, 1, `allowed_approvers[1]: "alice@example.com"`},
		{"empty entry", "staging", []string{""}, 0, `allowed_approvers[0]: "" is not an eligible approver for staging`},
		{"environment without a rule", "shadow", []string{alice}, 0,
			"allowed_approvers[0]: environment shadow needs no approval under this policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, msg := f.policy.Narrow(tc.env, tc.allowed)
			if i != tc.index || !strings.HasPrefix(msg, tc.message) || (tc.message == "") != (msg == "") {
				t.Fatalf("Narrow = %d, %q; want %d, %q", i, msg, tc.index, tc.message)
			}
		})
	}
}

// TestLoad reads a policy file, and names the file when it cannot.
func TestLoad(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "approvers.json"), filepath.Join(dir, "bad.json")
	for path, text := range map[string]string{good: f.json, bad: `{"approvers": []}`} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := Load(good); err != nil || !reflect.DeepEqual(p, f.policy) {
		t.Errorf("Load(good) = %v; want the fixture policy", err)
	}
	for _, tc := range []struct{ path, want string }{
		{bad, bad + ": approvers: want at least one approver"},
		{filepath.Join(dir, "missing.json"), "read approver policy"},
	} {
		if _, err := Load(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) error %v, want one containing %q", tc.path, err, tc.want)
		}
	}
}

// TestLeft: who may still approve, after the run's narrowing and without its requester.
func TestLeft(t *testing.T) {
	p := Policy{
		Approvers: []Approver{{ID: "alice"}, {ID: "bob", Groups: []string{"leads"}}, {ID: "carol", Groups: []string{"leads"}}},
		Environments: map[string]Rule{
			"production": {Approvers: []string{"alice"}, Groups: []string{"leads"}, Required: 2},
			"staging":    {Approvers: []string{"carol"}, Required: 1, AllowSelfApproval: true},
		},
	}
	cases := []struct {
		env, requester string
		allowed        []string
		want           string
	}{
		{"production", "", nil, "[alice bob carol]"},
		{"production", "bob", nil, "[alice carol]"},
		{"production", "bob", []string{"bob", "carol"}, "[carol]"},
		{"production", "x", []string{"alice"}, "[alice]"},
		{"staging", "carol", nil, "[carol]"}, // self-approval allowed there
		{"staging", "x", []string{"alice"}, "[]"},
		{"shadow", "x", nil, "[]"}, // no rule: nobody
	}
	for _, tc := range cases {
		if got := fmt.Sprint(p.Left(tc.env, tc.requester, tc.allowed)); got != tc.want {
			t.Errorf("Left(%s, %q, %v) = %s, want %s", tc.env, tc.requester, tc.allowed, got, tc.want)
		}
	}
}
