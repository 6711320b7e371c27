package governance

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestPolicyDefault: seed 003's gates, all on, before Production only.
func TestPolicyDefault(t *testing.T) {
	p := DefaultPolicy()
	want := Policy{Environments: []contract.Environment{contract.EnvProduction}, RequireModelCard: true,
		RequireTestEvidence: true, MinCoverage: 0.90, RequirePinned: true}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("DefaultPolicy() = %+v, want %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
	for env, want := range map[contract.Environment]bool{
		contract.EnvProduction: true, contract.EnvShadow: false, contract.EnvStaging: false, "": false, "Production": false,
	} {
		if got := p.AppliesTo(env); got != want {
			t.Errorf("AppliesTo(%q) = %v, want %v", env, got, want)
		}
	}
}

// TestPolicyValidate: every problem is named, all of them in one error.
func TestPolicyValidate(t *testing.T) {
	with := func(edit func(*Policy)) Policy { p := DefaultPolicy(); edit(&p); return p }
	cases := []struct {
		name string
		p    Policy
		want []string // substrings; none means valid
	}{
		{"default", DefaultPolicy(), nil},
		{"every environment", with(func(p *Policy) { p.Environments = contract.Environments }), nil},
		{"coverage 0", with(func(p *Policy) { p.MinCoverage = 0 }), nil},
		{"coverage 1", with(func(p *Policy) { p.MinCoverage = 1 }), nil},
		{"all gates off", with(func(p *Policy) { p.RequireModelCard, p.RequireTestEvidence, p.RequirePinned = false, false, false }), nil},
		{"no environments", with(func(p *Policy) { p.Environments = nil }),
			[]string{"environments is empty: name at least one of staging, shadow, production"}},
		{"unknown environment", with(func(p *Policy) { p.Environments = []contract.Environment{"production", "prod"} }),
			[]string{`environments[1] "prod" is not an environment (staging, shadow, production)`}},
		{"environment twice", with(func(p *Policy) { p.Environments = []contract.Environment{"production", "shadow", "production"} }),
			[]string{`environments[2] "production" is listed twice`}},
		{"coverage as a percent", with(func(p *Policy) { p.MinCoverage = 90 }),
			[]string{"min_coverage 90 is not a fraction in 0..1 (write 0.90 for 90 %)"}},
		{"negative coverage", with(func(p *Policy) { p.MinCoverage = -0.1 }), []string{"min_coverage -0.1 is not a fraction"}},
		{"NaN coverage", with(func(p *Policy) { p.MinCoverage = math.NaN() }), []string{"min_coverage NaN is not a fraction"}},
		{"two problems", with(func(p *Policy) { p.Environments = []contract.Environment{"qa"}; p.MinCoverage = 2 }),
			[]string{`environments[0] "qa"`, "min_coverage 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "governance policy: ") {
				t.Errorf("error %q does not start with the policy's name", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestPolicyJSON: the policy file's form; a left-out field keeps its default, unknown fields fail.
func TestPolicyJSON(t *testing.T) {
	b, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	const wire = `{"environments":["production"],"require_model_card":true,"require_test_evidence":true,"min_coverage":0.9,"require_pinned":true}`
	if string(b) != wire {
		t.Fatalf("json.Marshal(DefaultPolicy()) = %s, want %s", b, wire)
	}
	custom := Policy{Environments: []contract.Environment{"shadow", "production"}, MinCoverage: 0.8, RequirePinned: true}
	cases := []struct {
		name    string
		in      string
		want    Policy
		wantErr string
	}{
		{"round trip of the default", wire, DefaultPolicy(), ""},
		{"round trip with gates off", mustJSON(t, custom), custom, ""},
		{"empty object keeps the defaults", `{}`, DefaultPolicy(), ""},
		{"null keeps the defaults", `null`, DefaultPolicy(), ""},
		{"one field changed", `{"min_coverage": 0.95}`,
			func() Policy { p := DefaultPolicy(); p.MinCoverage = 0.95; return p }(), ""},
		{"a gate switched off explicitly", `{"require_model_card": false}`,
			func() Policy { p := DefaultPolicy(); p.RequireModelCard = false; return p }(), ""},
		{"misspelt switch", `{"require_model_crd": false}`, Policy{}, `unknown field "require_model_crd"`},
		{"wrong type", `{"min_coverage": "90%"}`, Policy{}, "cannot unmarshal string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			err := json.Unmarshal([]byte(tc.in), &p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Unmarshal(%s) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tc.in, err)
			}
			if !reflect.DeepEqual(p, tc.want) {
				t.Errorf("Unmarshal(%s) = %+v, want %+v", tc.in, p, tc.want)
			}
		})
	}
}

// TestPolicyJSONNested: inside a larger policy file, a governance object left out entirely keeps
// the zero value (the caller starts from DefaultPolicy), one given is decoded over the defaults.
func TestPolicyJSONNested(t *testing.T) {
	var file struct {
		Governance Policy `json:"governance"`
	}
	file.Governance = DefaultPolicy()
	if err := json.Unmarshal([]byte(`{"governance": {"environments": ["shadow", "production"]}}`), &file); err != nil {
		t.Fatal(err)
	}
	want := DefaultPolicy()
	want.Environments = []contract.Environment{contract.EnvShadow, contract.EnvProduction}
	if !reflect.DeepEqual(file.Governance, want) {
		t.Errorf("nested = %+v, want %+v", file.Governance, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
