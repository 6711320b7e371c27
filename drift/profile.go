// Package drift judges input drift of a model while it runs in the shadow or the canary (seed 003,
// rule R11: PSI > 0.2 pages the on-call). The training side logs a reference profile with the
// model; it fixes, per input feature, the bins and the share of training inputs in each. The
// serving template counts live inputs over the same bins; the population stability index (PSI)
// per feature says how far the live shares moved from the reference.
//
// Everything here is pure and deterministic: it parses bytes it is handed, does arithmetic and
// judges. Measurement (Prometheus) and recording (the ledger) live elsewhere, as in package rules.
//
// # Reference profile
//
// The profile is a JSON document, logged as the MLflow artifact ArtifactName:
//
//	{"version": 1,
//	 "features": [{"name": "f0", "edges": [-1.0, 0.0, 1.0], "expected": [0.1, 0.4, 0.4, 0.1]}]}
//
// edges are finite and strictly increasing; they cut the line into len(edges)+1 bins
// (-inf, e0], (e0, e1], …, (e[n-1], +inf), so len(expected) == len(edges)+1 (see Bin for the
// boundary rule). expected are the shares of the training inputs in each bin: each >= 0, summing
// to 1 within ShareTolerance. A feature name is a Prometheus label value and name alike:
// [a-zA-Z_][a-zA-Z0-9_]*, at most MaxNameLen characters, unique. At most MaxFeatures features and
// MaxEdges edges per feature. Unknown fields are refused.
//
// A training script writes it in a few lines (NaN dropped first: JSON has no NaN):
//
//	def feature(name, x, n=10):
//	    edges = np.unique(np.quantile(x, np.linspace(0, 1, n + 1)[1:-1])).tolist()
//	    idx = np.searchsorted(edges, x, side="left")  # same rule as Bin
//	    counts = np.bincount(idx, minlength=len(edges) + 1)
//	    return {"name": name, "edges": edges, "expected": (counts / counts.sum()).tolist()}
//
//	mlflow.log_dict({"version": 1, "features": [feature(c, X[c].dropna().to_numpy()) for c in X]},
//	                "drift_reference.json")
//
// np.histogram must not be used for the shares: its bins are closed on the left, not the right.
package drift

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Limits and names of the reference profile format.
const (
	// ArtifactName is the MLflow artifact the training side logs the profile as.
	ArtifactName = "drift_reference.json"
	// ProfileVersion is the only format version understood.
	ProfileVersion = 1
	// MaxFeatures is the most features a profile may have.
	MaxFeatures = 256
	// MaxEdges is the most bin edges a feature may have (MaxEdges+1 bins).
	MaxEdges = 100
	// MaxNameLen is the longest feature name.
	MaxNameLen = 64
	// MaxProfileBytes is the largest profile document ParseProfile reads.
	MaxProfileBytes = 4 << 20
	// ShareTolerance is how far the expected shares of a feature may sum from 1.
	ShareTolerance = 1e-6
)

// Label names the serving template exports its per-feature bin counters with, and the metrics
// query groups by. The bin label's values are Feature.BinLabels.
const (
	LabelFeature = "feature"
	LabelBin     = "bin"
)

// NaNBin is what Bin returns for NaN: it belongs to no bin. The serving template counts NaN
// inputs apart (or not at all); they never enter the PSI.
const NaNBin = -1

// ErrInvalidProfile is wrapped by every error ParseProfile and Profile.Validate return; the text
// after it names the JSON path of the problem.
var ErrInvalidProfile = errors.New("invalid drift reference profile")

// Profile is a parsed, valid reference profile.
type Profile struct {
	Version  int       `json:"version"`
	Features []Feature `json:"features"`
}

// Feature is one input feature's bins and the share of training inputs in each.
type Feature struct {
	Name     string    `json:"name"`
	Edges    []float64 `json:"edges"`
	Expected []float64 `json:"expected"`
}

// wireProfile and wireFeature decode with pointers, so that a missing field or a JSON null is
// refused instead of read as zero.
type wireProfile struct {
	Version  *int              `json:"version"`
	Features []json.RawMessage `json:"features"`
}

type wireFeature struct {
	Name     *string    `json:"name"`
	Edges    []*float64 `json:"edges"`
	Expected []*float64 `json:"expected"`
}

// ParseProfile decodes and validates a reference profile. Unknown fields, nulls, trailing data
// and documents over MaxProfileBytes are refused; errors wrap ErrInvalidProfile and name the
// JSON path of the problem, e.g. "features[2].expected: shares sum to 0.93, want 1 (±1e-06)".
func ParseProfile(b []byte) (Profile, error) {
	if len(b) > MaxProfileBytes {
		return Profile{}, invalid("$", "%d bytes, want at most %d", len(b), MaxProfileBytes)
	}
	var w wireProfile
	if err := decodeStrict(b, &w); err != nil {
		return Profile{}, jsonError("$", err)
	}
	if w.Version == nil {
		return Profile{}, invalid("version", "missing, want %d", ProfileVersion)
	}
	p := Profile{Version: *w.Version}
	if len(w.Features) > MaxFeatures {
		return Profile{}, invalid("features", "%d features, want at most %d", len(w.Features), MaxFeatures)
	}
	for i, raw := range w.Features {
		f, err := parseFeature(fmt.Sprintf("features[%d]", i), raw)
		if err != nil {
			return Profile{}, err
		}
		p.Features = append(p.Features, f)
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

func parseFeature(path string, raw json.RawMessage) (Feature, error) {
	if string(raw) == "null" {
		return Feature{}, invalid(path, "null, want an object")
	}
	var w wireFeature
	if err := decodeStrict(raw, &w); err != nil {
		return Feature{}, jsonError(path, err)
	}
	if w.Name == nil {
		return Feature{}, invalid(path+".name", "missing")
	}
	edges, err := numbers(path+".edges", w.Edges)
	if err != nil {
		return Feature{}, err
	}
	expected, err := numbers(path+".expected", w.Expected)
	if err != nil {
		return Feature{}, err
	}
	return Feature{Name: *w.Name, Edges: edges, Expected: expected}, nil
}

// numbers refuses a missing array and null elements (which encoding/json would read as 0).
func numbers(path string, in []*float64) ([]float64, error) {
	if in == nil {
		return nil, invalid(path, "missing")
	}
	out := make([]float64, len(in))
	for i, x := range in {
		if x == nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", path, i), "null, want a number")
		}
		out[i] = *x
	}
	return out, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// jsonError turns encoding/json's errors into ones that name the path and say what was wanted.
func jsonError(path string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalid(path, "not JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		if typ.Field != "" {
			if path == "$" {
				path = typ.Field
			} else {
				path += "." + typ.Field
			}
		}
		return invalid(path, "JSON %s, want %s", typ.Value, want(typ))
	case errors.Is(err, io.EOF):
		return invalid(path, "empty document")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid(path, "not JSON: the document ends early")
	default: // an unknown field, in encoding/json's words
		return invalid(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func want(typ *json.UnmarshalTypeError) string {
	if typ.Type == nil {
		return "another type"
	}
	switch k := typ.Type.String(); k {
	case "string", "*string":
		return "a string"
	case "int", "*int":
		return "an integer"
	case "float64", "*float64":
		if strings.HasPrefix(typ.Value, "number") {
			return "a number within float64 range"
		}
		return "a number"
	default:
		if typ.Type.Kind().String() == "slice" {
			return "an array"
		}
		return "an object"
	}
}

func invalid(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidProfile, path, fmt.Sprintf(format, args...))
}

// Validate checks a profile against the format's rules (see the package documentation), for
// profiles built in Go as well as parsed ones. Errors wrap ErrInvalidProfile.
func (p Profile) Validate() error {
	if p.Version != ProfileVersion {
		return invalid("version", "%d, want %d", p.Version, ProfileVersion)
	}
	if len(p.Features) == 0 {
		return invalid("features", "missing or empty, want at least one feature")
	}
	if len(p.Features) > MaxFeatures {
		return invalid("features", "%d features, want at most %d", len(p.Features), MaxFeatures)
	}
	seen := make(map[string]int, len(p.Features))
	for i, f := range p.Features {
		if err := f.validate(i); err != nil {
			return err
		}
		if j, dup := seen[f.Name]; dup {
			return invalid(fmt.Sprintf("features[%d].name", i), "%q duplicates features[%d].name", f.Name, j)
		}
		seen[f.Name] = i
	}
	return nil
}

// validate checks the i-th feature of a profile; paths are formatted only for an error.
func (f Feature) validate(i int) error {
	path := func(field string, idx ...int) string {
		p := fmt.Sprintf("features[%d].%s", i, field)
		for _, k := range idx {
			p += fmt.Sprintf("[%d]", k)
		}
		return p
	}
	if err := validName(f.Name); err != nil {
		return invalid(path("name"), "%v", err)
	}
	if len(f.Edges) == 0 {
		return invalid(path("edges"), "empty, want at least 1 edge")
	}
	if len(f.Edges) > MaxEdges {
		return invalid(path("edges"), "%d edges, want at most %d", len(f.Edges), MaxEdges)
	}
	for k, e := range f.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return invalid(path("edges", k), "%g, want a finite number", e)
		}
		if k > 0 && !(e > f.Edges[k-1]) {
			return invalid(path("edges", k), "%g is not above edges[%d] = %g, want strictly increasing", e, k-1, f.Edges[k-1])
		}
	}
	if len(f.Expected) != len(f.Edges)+1 {
		return invalid(path("expected"), "%d shares for %d edges, want %d (one per bin: len(edges)+1)",
			len(f.Expected), len(f.Edges), len(f.Edges)+1)
	}
	sum := 0.0
	for k, s := range f.Expected {
		if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
			return invalid(path("expected", k), "%g, want a finite share >= 0", s)
		}
		sum += s
	}
	if math.Abs(sum-1) > ShareTolerance {
		return invalid(path("expected"), "shares sum to %.9g, want 1 (±%g)", sum, ShareTolerance)
	}
	return nil
}

// validName says why a feature name is not a Prometheus-label-safe name, or nil.
func validName(name string) error {
	if name == "" {
		return errors.New("empty, want a name")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%d characters, want at most %d", len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && !(i > 0 && '0' <= c && c <= '9') {
			return fmt.Errorf("%q is not label-safe, want [a-zA-Z_][a-zA-Z0-9_]*", name)
		}
	}
	return nil
}

// BinLabels gives the values of the LabelBin label the serving template exports for the feature's
// bins, in bin order: the bin index in decimal, "0" for (-inf, e0] up to strconv.Itoa(len(edges))
// for (e[n-1], +inf). Bin index i has label strconv.Itoa(i).
func (f Feature) BinLabels() []string {
	labels := make([]string, len(f.Edges)+1)
	for i := range labels {
		labels[i] = strconv.Itoa(i)
	}
	return labels
}

// Bin gives the index of the bin x falls in, for edges strictly increasing: 0 for x <= e0, i for
// e[i-1] < x <= e[i], len(edges) for x > e[n-1]. A value equal to an edge goes into the lower bin
// (the bins are closed on the right, like Prometheus's le buckets); -Inf goes into bin 0 and +Inf
// into the last. NaN gives NaNBin. The serving template mirrors it with
// bisect.bisect_left(edges, x) or numpy.searchsorted(edges, x, side="left").
func Bin(edges []float64, x float64) int {
	if math.IsNaN(x) {
		return NaNBin
	}
	return sort.SearchFloat64s(edges, x)
}
