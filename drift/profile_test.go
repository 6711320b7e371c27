package drift

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// pythonProfile is what json.dumps writes for the package documentation's training snippet.
const pythonProfile = `{"version": 1, "features": [
  {"name": "f0", "edges": [-1.0, 0.0, 1.0], "expected": [0.1, 0.4, 0.4, 0.1]},
  {"name": "_Amount_usd2", "edges": [12.5], "expected": [1.0, 0.0]}
]}`

// TestParseProfileValid: documents a training script writes parse to the profile they describe.
func TestParseProfileValid(t *testing.T) {
	name64 := strings.Repeat("a", 64)
	cases := []struct {
		name string
		doc  string
		want Profile
	}{
		{"as the Python snippet writes it", pythonProfile, Profile{Version: 1, Features: []Feature{
			{Name: "f0", Edges: []float64{-1, 0, 1}, Expected: []float64{0.1, 0.4, 0.4, 0.1}},
			{Name: "_Amount_usd2", Edges: []float64{12.5}, Expected: []float64{1, 0}},
		}}},
		{"shares summing to 1 within 1e-6 pass",
			`{"version":1,"features":[{"name":"x","edges":[0],"expected":[0.5,0.5000009]}]}`,
			Profile{Version: 1, Features: []Feature{{Name: "x", Edges: []float64{0}, Expected: []float64{0.5, 0.5000009}}}}},
		{"a 64-character name passes",
			`{"version":1,"features":[{"name":"` + name64 + `","edges":[1e-300,1e300],"expected":[0,0,1]}]}`,
			Profile{Version: 1, Features: []Feature{{Name: name64, Edges: []float64{1e-300, 1e300}, Expected: []float64{0, 0, 1}}}}},
		{"field order and whitespace do not matter",
			"\n{\"features\":[{\"expected\":[0.25,0.75],\"edges\":[3],\"name\":\"Z\"}],\"version\":1}\n",
			Profile{Version: 1, Features: []Feature{{Name: "Z", Edges: []float64{3}, Expected: []float64{0.25, 0.75}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProfile([]byte(tc.doc))
			if err != nil {
				t.Fatalf("ParseProfile: %v", err)
			}
			if !reflect.DeepEqual(p, tc.want) {
				t.Fatalf("ParseProfile = %+v, want %+v", p, tc.want)
			}
		})
	}
}

// feat wraps one feature's JSON into a profile document.
func feat(f string) string { return `{"version":1,"features":[` + f + `]}` }

// TestParseProfileErrors: each rule of the format refuses with the JSON path of the problem.
func TestParseProfileErrors(t *testing.T) {
	ok := `{"name":"f0","edges":[0],"expected":[0.5,0.5]}`
	many := func(n int, item func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		return strings.Join(parts, ",")
	}
	cases := []struct {
		name string
		doc  string
		want string // the whole error after "invalid drift reference profile: "
	}{
		{"empty document", ``, "$: empty document"},
		{"not JSON", `{"version":1,]`, "$: not JSON at byte 14: invalid character ']' looking for beginning of object key string"},
		{"truncated", `{"version":1,`, "$: not JSON: the document ends early"},
		{"NaN as Python's json.dumps writes it", feat(`{"name":"f0","edges":[NaN],"expected":[1,0]}`), "$: not JSON at byte 48: invalid character 'N' looking for beginning of value"},
		{"trailing data", feat(ok) + ` {}`, "$: trailing data after the JSON value"},
		{"top level is an array", `[]`, "$: JSON array, want an object"},
		{"unknown top-level field", `{"version":1,"features":[` + ok + `],"bins":3}`, `$: unknown field "bins"`},
		{"unknown feature field", feat(`{"name":"f0","edges":[0],"expected":[0.5,0.5],"kind":"num"}`), `features[0]: unknown field "kind"`},
		{"version missing", `{"features":[` + ok + `]}`, "version: missing, want 1"},
		{"version 2", `{"version":2,"features":[` + ok + `]}`, "version: 2, want 1"},
		{"version a string", `{"version":"1","features":[` + ok + `]}`, "version: JSON string, want an integer"},
		{"features missing", `{"version":1}`, "features: missing or empty, want at least one feature"},
		{"features empty", `{"version":1,"features":[]}`, "features: missing or empty, want at least one feature"},
		{"features an object", `{"version":1,"features":{}}`, "features: JSON object, want an array"},
		{"257 features", feat(many(257, func(i int) string {
			return fmt.Sprintf(`{"name":"f%d","edges":[0],"expected":[0.5,0.5]}`, i)
		})), "features: 257 features, want at most 256"},
		{"feature null", feat(ok + `,null`), "features[1]: null, want an object"},
		{"name missing", feat(`{"edges":[0],"expected":[0.5,0.5]}`), "features[0].name: missing"},
		{"name empty", feat(`{"name":"","edges":[0],"expected":[0.5,0.5]}`), "features[0].name: empty, want a name"},
		{"name a number", feat(`{"name":7,"edges":[0],"expected":[0.5,0.5]}`), "features[0].name: JSON number, want a string"},
		{"name with a dash", feat(`{"name":"f-0","edges":[0],"expected":[0.5,0.5]}`),
			`features[0].name: "f-0" is not label-safe, want [a-zA-Z_][a-zA-Z0-9_]*`},
		{"name starting with a digit", feat(`{"name":"0f","edges":[0],"expected":[0.5,0.5]}`), `features[0].name: "0f" is not label-safe, want [a-zA-Z_][a-zA-Z0-9_]*`},
		{"name not ASCII", feat(`{"name":"größe","edges":[0],"expected":[0.5,0.5]}`), `features[0].name: "größe" is not label-safe, want [a-zA-Z_][a-zA-Z0-9_]*`},
		{"name 65 characters", feat(`{"name":"` + strings.Repeat("a", 65) + `","edges":[0],"expected":[0.5,0.5]}`),
			"features[0].name: 65 characters, want at most 64"},
		{"duplicate name", feat(ok + `,{"name":"g","edges":[0],"expected":[1,0]},` + ok),
			`features[2].name: "f0" duplicates features[0].name`},
		{"edges missing", feat(`{"name":"f0","expected":[1]}`), "features[0].edges: missing"},
		{"edges empty", feat(`{"name":"f0","edges":[],"expected":[1]}`), "features[0].edges: empty, want at least 1 edge"},
		{"101 edges", feat(`{"name":"f0","edges":[` + many(101, func(i int) string { return fmt.Sprint(i) }) +
			`],"expected":[1` + strings.Repeat(",0", 101) + `]}`), "features[0].edges: 101 edges, want at most 100"},
		{"edge null", feat(`{"name":"f0","edges":[0,null],"expected":[0.5,0.5,0]}`), "features[0].edges[1]: null, want a number"},
		{"edge a string", feat(`{"name":"f0","edges":["0"],"expected":[0.5,0.5]}`), "features[0].edges: JSON string, want a number"},
		{"edge beyond float64", feat(`{"name":"f0","edges":[1e400],"expected":[0.5,0.5]}`),
			"features[0].edges: JSON number 1e400, want a number within float64 range"},
		{"edges equal", feat(`{"name":"f0","edges":[0,1,1],"expected":[0.25,0.25,0.25,0.25]}`),
			"features[0].edges[2]: 1 is not above edges[1] = 1, want strictly increasing"},
		{"edges decreasing", feat(`{"name":"f0","edges":[1,0],"expected":[0.5,0.25,0.25]}`),
			"features[0].edges[1]: 0 is not above edges[0] = 1, want strictly increasing"},
		{"expected missing", feat(`{"name":"f0","edges":[0]}`), "features[0].expected: missing"},
		{"expected one short", feat(`{"name":"f0","edges":[-1,0,1],"expected":[0.5,0.25,0.25]}`),
			"features[0].expected: 3 shares for 3 edges, want 4 (one per bin: len(edges)+1)"},
		{"expected one long", feat(`{"name":"f0","edges":[0],"expected":[0.5,0.25,0.25]}`),
			"features[0].expected: 3 shares for 1 edges, want 2 (one per bin: len(edges)+1)"},
		{"expected null share", feat(`{"name":"f0","edges":[0],"expected":[1,null]}`), "features[0].expected[1]: null, want a number"},
		{"negative share", feat(`{"name":"f0","edges":[0,1],"expected":[0.6,-0.1,0.5]}`),
			"features[0].expected[1]: -0.1, want a finite share >= 0"},
		{"shares sum to 0.93", feat(ok + `,{"name":"b","edges":[0],"expected":[0.5,0.5]},` +
			`{"name":"c","edges":[-1,0,1],"expected":[0.1,0.4,0.4,0.03]}`),
			"features[2].expected: shares sum to 0.93, want 1 (±1e-06)"},
		{"shares sum 2e-6 over 1", feat(`{"name":"f0","edges":[0],"expected":[0.5,0.500002]}`),
			"features[0].expected: shares sum to 1.000002, want 1 (±1e-06)"},
		{"over MaxProfileBytes", feat(ok) + strings.Repeat(" ", MaxProfileBytes), fmt.Sprintf("$: %d bytes, want at most 4194304", len(feat(ok))+MaxProfileBytes)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProfile([]byte(tc.doc))
			if err == nil {
				t.Fatalf("ParseProfile = %+v, want error %q", p, tc.want)
			}
			if !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("error %v does not wrap ErrInvalidProfile", err)
			}
			if want := ErrInvalidProfile.Error() + ": " + tc.want; err.Error() != want {
				t.Errorf("error\n  %v\nwant\n  %s", err, want)
			}
		})
	}
}

// TestProfileValidate: profiles built in Go meet the same rules, including those JSON cannot break.
func TestProfileValidate(t *testing.T) {
	good := Feature{Name: "f0", Edges: []float64{0, 1}, Expected: []float64{0.25, 0.5, 0.25}}
	with := func(edit func(f *Feature)) Profile {
		f := good
		f.Edges, f.Expected = append([]float64(nil), good.Edges...), append([]float64(nil), good.Expected...)
		edit(&f)
		return Profile{Version: 1, Features: []Feature{f}}
	}
	cases := []struct {
		name string
		p    Profile
		want string // "" = valid
	}{
		{"valid", with(func(*Feature) {}), ""},
		{"zero value", Profile{}, "version: 0, want 1"},
		{"+Inf edge", with(func(f *Feature) { f.Edges[1] = math.Inf(1) }), "features[0].edges[1]: +Inf, want a finite number"},
		{"-Inf edge", with(func(f *Feature) { f.Edges[0] = math.Inf(-1) }), "features[0].edges[0]: -Inf, want a finite number"},
		{"NaN edge", with(func(f *Feature) { f.Edges[0] = math.NaN() }), "features[0].edges[0]: NaN, want a finite number"},
		{"NaN share", with(func(f *Feature) { f.Expected[2] = math.NaN() }), "features[0].expected[2]: NaN, want a finite share >= 0"},
		{"Inf share", with(func(f *Feature) { f.Expected[0] = math.Inf(1) }), "features[0].expected[0]: +Inf, want a finite share >= 0"},
		{"nil edges", with(func(f *Feature) { f.Edges = nil }), "features[0].edges: empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidProfile) || !strings.Contains(err.Error(), ": "+tc.want) {
				t.Fatalf("Validate = %v, want an ErrInvalidProfile naming %q", err, tc.want)
			}
		})
	}
}

// TestBin: a value equal to an edge goes into the lower bin, as bisect_left and Prometheus's le do.
func TestBin(t *testing.T) {
	edges := []float64{-1, 0, 1}
	cases := []struct {
		name  string
		edges []float64
		x     float64
		want  int
	}{
		{"below the first edge", edges, -2, 0},
		{"equal to the first edge: lower bin", edges, -1, 0},
		{"just above the first edge", edges, math.Nextafter(-1, 0), 1},
		{"inside the second bin", edges, -0.5, 1},
		{"equal to a middle edge: lower bin", edges, 0, 1},
		{"negative zero equals the 0 edge", edges, math.Copysign(0, -1), 1},
		{"inside the third bin", edges, 0.5, 2},
		{"equal to the last edge: lower bin", edges, 1, 2},
		{"just above the last edge", edges, math.Nextafter(1, 2), 3},
		{"far above the last edge", edges, 1e300, 3},
		{"-Inf: first bin", edges, math.Inf(-1), 0},
		{"+Inf: last bin", edges, math.Inf(1), 3},
		{"NaN: no bin", edges, math.NaN(), NaNBin},
		{"one edge, equal", []float64{12.5}, 12.5, 0},
		{"one edge, above", []float64{12.5}, 13, 1},
		{"no edges: one bin", nil, 42, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bin(tc.edges, tc.x); got != tc.want {
				t.Fatalf("Bin(%v, %v) = %d, want %d", tc.edges, tc.x, got, tc.want)
			}
		})
	}
}

// TestBinLabels: one label per bin, the bin index in decimal.
func TestBinLabels(t *testing.T) {
	cases := []struct {
		edges []float64
		want  []string
	}{
		{[]float64{12.5}, []string{"0", "1"}},
		{[]float64{-1, 0, 1}, []string{"0", "1", "2", "3"}},
		{make([]float64, 10), []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}},
	}
	for _, tc := range cases {
		if got := (Feature{Edges: tc.edges}).BinLabels(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("BinLabels for %d edges = %q, want %q", len(tc.edges), got, tc.want)
		}
	}
}

// FuzzParseProfile: no input panics, and what parses is valid.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(pythonProfile))
	f.Add([]byte(feat(`{"name":"f0","edges":[0,null],"expected":[0.5,0.5,0]}`)))
	f.Add([]byte(`{"version":1,"features":[null,{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile(b)
		if err == nil {
			if verr := p.Validate(); verr != nil {
				t.Fatalf("ParseProfile accepted an invalid profile: %v", verr)
			}
		}
	})
}
