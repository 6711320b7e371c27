package drift

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Defaults of the drift judgement, each explained where it is used.
const (
	// DefaultThreshold is seed 003's R11 bar: a feature whose PSI is above it has drifted. 0.2 is
	// also the usual "significant shift" line in credit scoring, where PSI comes from.
	DefaultThreshold = 0.2
	// DefaultEpsilon floors both shares of a bin before the logarithm (see PSI).
	DefaultEpsilon = 1e-4
	// DefaultMinTotal is the fewest observations of a feature a judgement needs.
	DefaultMinTotal = 100
	// DefaultMinExpectedPerBin is the fewest observations each bin must expect (its reference share
	// times the total): the chi-square rule of thumb of 5.
	DefaultMinExpectedPerBin = 5
)

// Verdict outcomes: the ledger's words for the drift gate.
const (
	OutcomePassed       = "passed"
	OutcomeFailed       = "failed"
	OutcomeInconclusive = "inconclusive"
)

// ErrInvalidCounts is wrapped by the errors PSI and Judge return for measured counts that cannot
// be judged: a wrong number of bins, a negative, NaN or infinite count.
var ErrInvalidCounts = errors.New("invalid drift counts")

// Options tune the PSI and the sample-size rule. The zero value gives the defaults; the effective
// options are recorded with every Verdict.
type Options struct {
	// Epsilon is the floor applied to the reference and the measured share of every bin, so that
	// an empty bin gives a finite PSI. Must be in (0, 1). Defaults to DefaultEpsilon.
	Epsilon float64 `json:"epsilon"`
	// MinTotal is the fewest observations a feature needs to be judged; below it the result is
	// inconclusive, never failing. Defaults to DefaultMinTotal; a negative value means no minimum.
	MinTotal float64 `json:"min_total"`
	// MinExpectedPerBin is the fewest observations every bin with a reference share above 0 must
	// expect (share × total); below it the result is inconclusive. Defaults to
	// DefaultMinExpectedPerBin; a negative value means no minimum.
	MinExpectedPerBin float64 `json:"min_expected_per_bin"`
}

// resolve applies the defaults and refuses options that cannot be used.
func (o Options) resolve() (Options, error) {
	if o.Epsilon == 0 {
		o.Epsilon = DefaultEpsilon
	}
	if !(o.Epsilon > 0 && o.Epsilon < 1) {
		return Options{}, fmt.Errorf("drift options: epsilon %g, want 0 < epsilon < 1", o.Epsilon)
	}
	for _, m := range []struct {
		name string
		v    *float64
		def  float64
	}{{"min_total", &o.MinTotal, DefaultMinTotal}, {"min_expected_per_bin", &o.MinExpectedPerBin, DefaultMinExpectedPerBin}} {
		switch {
		case math.IsNaN(*m.v) || math.IsInf(*m.v, 1):
			return Options{}, fmt.Errorf("drift options: %s %g, want a finite number", m.name, *m.v)
		case *m.v == 0:
			*m.v = m.def
		case *m.v < 0:
			*m.v = 0
		}
	}
	return o, nil
}

// Result is the PSI of one feature's measured counts against its reference shares. Numbers are
// JSON-safe (never NaN or Inf). Inconclusive says the sample is too small to judge, and Reason
// why; the PSI is still computed when there was any observation, for the record. With Total 0,
// PSI is 0 and Actual nil: they mean nothing.
type Result struct {
	PSI          float64   `json:"psi"`
	Total        float64   `json:"total"`
	Actual       []float64 `json:"actual,omitempty"` // measured shares, counts[i] / Total
	Inconclusive bool      `json:"inconclusive"`
	Reason       string    `json:"reason,omitempty"`
}

// PSI is the population stability index of the measured counts against the expected shares:
//
//	PSI = Σ (a_i − e_i) · ln(a_i / e_i),  a_i = counts_i / Σ counts
//
// Before the logarithm both shares are floored at opt.Epsilon: a_i = max(a_i, ε), e_i = max(e_i, ε),
// without renormalising. An empty bin so adds a large but finite term: with ε = 1e-4, a bin
// expected at 0.5 and measured at 0 adds (1e-4 − 0.5)·ln(2e-4) ≈ 4.26. This matches Evidently's
// psi_stat_test (get_binned_data with feel_zeroes=True), which replaces zero shares by 0.0001 and
// does not renormalise; it differs only where Evidently, seeing a non-zero share already at or
// below 1e-4, fills zeros with that share / 1e6 instead (a data-dependent floor we avoid, so the
// result is a fixed function of the inputs and a Python mirror is one np.clip).
//
// The sample is sufficient when Total >= opt.MinTotal and every bin with an expected share above 0
// expects at least opt.MinExpectedPerBin observations; otherwise the result is Inconclusive.
// Errors: lengths that differ or are zero, counts that are negative, NaN or infinite (wrapping
// ErrInvalidCounts), expected shares that are negative or not finite, unusable options.
func PSI(expected []float64, counts []float64, opt Options) (Result, error) {
	o, err := opt.resolve()
	if err != nil {
		return Result{}, err
	}
	if len(expected) == 0 {
		return Result{}, errors.New("drift expected shares: empty, want one per bin")
	}
	if len(counts) != len(expected) {
		return Result{}, fmt.Errorf("%w: %d counts for %d bins", ErrInvalidCounts, len(counts), len(expected))
	}
	for i, e := range expected {
		if math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
			return Result{}, fmt.Errorf("drift expected shares: expected[%d] is %g, want a finite share >= 0", i, e)
		}
	}
	total, err := sumCounts(counts)
	if err != nil {
		return Result{}, err
	}
	r := Result{Total: total}
	if total == 0 {
		r.Inconclusive, r.Reason = true, "no observations"
		return r, nil
	}
	r.Actual = make([]float64, len(counts))
	for i, c := range counts {
		r.Actual[i] = c / total
		a, e := math.Max(r.Actual[i], o.Epsilon), math.Max(expected[i], o.Epsilon)
		r.PSI += (a - e) * math.Log(a/e)
	}
	r.Reason = insufficient(expected, total, o)
	r.Inconclusive = r.Reason != ""
	return r, nil
}

// sumCounts adds the counts, refusing any that is negative, NaN or infinite, or a sum that overflows.
func sumCounts(counts []float64) (float64, error) {
	total := 0.0
	for i, c := range counts {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return 0, fmt.Errorf("%w: counts[%d] is %g, want a finite count >= 0", ErrInvalidCounts, i, c)
		}
		total += c
	}
	if math.IsInf(total, 0) {
		return 0, fmt.Errorf("%w: counts sum to %g", ErrInvalidCounts, total)
	}
	return total, nil
}

// insufficient says why a sample of total observations is too small to judge, or "". Of the bins
// with a share above 0, the one with the smallest share is the one that binds.
func insufficient(expected []float64, total float64, o Options) string {
	if total < o.MinTotal {
		return fmt.Sprintf("%g observations, want at least %g", total, o.MinTotal)
	}
	bin := -1
	for i, e := range expected {
		if e > 0 && (bin < 0 || e < expected[bin]) {
			bin = i
		}
	}
	if bin >= 0 && expected[bin]*total < o.MinExpectedPerBin {
		return fmt.Sprintf("bin %d expects %.4g observations (share %g of %g), want at least %g",
			bin, expected[bin]*total, expected[bin], total, o.MinExpectedPerBin)
	}
	return ""
}

// FeatureResult is one feature's PSI, for the evidence ledger. Failed says its PSI is above the
// threshold on a sufficient sample; Missing that no counts were measured for it at all.
type FeatureResult struct {
	Feature  string    `json:"feature"`
	Expected []float64 `json:"expected"`
	Result
	Failed  bool `json:"failed"`
	Missing bool `json:"missing,omitempty"`
}

// Verdict is the drift gate's judgement over every feature of a profile. Features are sorted by
// name. Worst is the feature with the highest PSI among those judged on a sufficient sample (the
// first by name on a tie), or, when none was, among those with any observation; "" when none had.
type Verdict struct {
	Outcome         string          `json:"outcome"` // OutcomePassed | OutcomeFailed | OutcomeInconclusive
	Summary         string          `json:"summary"`
	Threshold       float64         `json:"threshold"`
	Options         Options         `json:"options"`
	Worst           string          `json:"worst_feature,omitempty"`
	WorstPSI        float64         `json:"worst_psi"`
	Features        []FeatureResult `json:"features"`
	UnknownFeatures []string        `json:"unknown_features,omitempty"` // counted but not in the profile, sorted
}

// Judge computes the PSI of every feature of the profile from its measured counts (one per bin,
// in bin order, keyed by feature name) and judges them against threshold (0 means
// DefaultThreshold). The outcome is failed if any feature's PSI is above the threshold on a
// sufficient sample (a PSI equal to it passes); otherwise inconclusive if any feature had no
// counts (absent or empty) or too small a sample; otherwise passed. Counts for names the profile
// does not have are listed, not judged. Errors name the feature: counts of the wrong length, or
// negative, NaN or infinite (wrapping ErrInvalidCounts); an invalid profile, threshold or options.
func Judge(p Profile, counts map[string][]float64, threshold float64, opt Options) (Verdict, error) {
	if err := p.Validate(); err != nil {
		return Verdict{}, err
	}
	o, err := opt.resolve()
	if err != nil {
		return Verdict{}, err
	}
	if threshold == 0 {
		threshold = DefaultThreshold
	}
	if !(threshold > 0) || math.IsInf(threshold, 1) {
		return Verdict{}, fmt.Errorf("drift threshold %g, want a finite number > 0", threshold)
	}
	v := Verdict{Threshold: threshold, Options: o, Features: make([]FeatureResult, 0, len(p.Features))}
	known := make(map[string]bool, len(p.Features))
	for _, f := range p.Features {
		known[f.Name] = true
		fr, err := judgeFeature(f, counts[f.Name], threshold, o)
		if err != nil {
			return Verdict{}, fmt.Errorf("feature %q: %w", f.Name, err)
		}
		v.Features = append(v.Features, fr)
	}
	sort.Slice(v.Features, func(i, j int) bool { return v.Features[i].Feature < v.Features[j].Feature })
	for name := range counts {
		if !known[name] {
			v.UnknownFeatures = append(v.UnknownFeatures, name)
		}
	}
	sort.Strings(v.UnknownFeatures)
	v.Outcome, v.Summary = outcome(v.Features, threshold)
	v.Worst, v.WorstPSI = worst(v.Features)
	if v.Worst != "" {
		v.Summary += fmt.Sprintf("; worst %s at PSI %.4g", v.Worst, v.WorstPSI)
	}
	return v, nil
}

// judgeFeature computes one feature's PSI; no counts at all make it Missing and inconclusive.
func judgeFeature(f Feature, counts []float64, threshold float64, o Options) (FeatureResult, error) {
	fr := FeatureResult{Feature: f.Name, Expected: f.Expected}
	if len(counts) == 0 {
		fr.Missing, fr.Inconclusive, fr.Reason = true, true, "no counts measured"
		return fr, nil
	}
	r, err := PSI(f.Expected, counts, o)
	if err != nil {
		return FeatureResult{}, err
	}
	fr.Result = r
	fr.Failed = !r.Inconclusive && r.PSI > threshold
	return fr, nil
}

// outcome judges the sorted feature results and says so in a line for the ledger and the UI.
func outcome(fs []FeatureResult, threshold float64) (string, string) {
	var failed, inconclusive []string
	for _, f := range fs {
		switch {
		case f.Failed:
			failed = append(failed, fmt.Sprintf("%s (PSI %.4g)", f.Feature, f.PSI))
		case f.Inconclusive:
			inconclusive = append(inconclusive, fmt.Sprintf("%s (%s)", f.Feature, f.Reason))
		}
	}
	switch {
	case len(failed) > 0:
		return OutcomeFailed, fmt.Sprintf("%d of %d features drifted above PSI %g: %s",
			len(failed), len(fs), threshold, strings.Join(failed, ", "))
	case len(inconclusive) > 0:
		return OutcomeInconclusive, fmt.Sprintf("%d of %d features could not be judged: %s",
			len(inconclusive), len(fs), strings.Join(inconclusive, ", "))
	default:
		return OutcomePassed, fmt.Sprintf("%d features within PSI %g", len(fs), threshold)
	}
}

// worst names the feature with the highest PSI among the conclusive results, or among those with
// any observation when none is conclusive; ties go to the first in fs.
func worst(fs []FeatureResult) (string, float64) {
	for _, onlyConclusive := range []bool{true, false} {
		name, psi := "", 0.0
		for _, f := range fs {
			if f.Total == 0 || (onlyConclusive && f.Inconclusive) {
				continue
			}
			if name == "" || f.PSI > psi {
				name, psi = f.Feature, f.PSI
			}
		}
		if name != "" {
			return name, psi
		}
	}
	return "", 0
}
