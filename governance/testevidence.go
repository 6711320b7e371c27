package governance

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The model-version tags the training CI records its test run in (R1).
const (
	// TagTestsPassed is the number of tests that passed: a decimal integer, at least 1.
	TagTestsPassed = "tests.passed"
	// TagTestsFailed is the number of tests that failed: a decimal integer, which must be 0.
	TagTestsFailed = "tests.failed"
	// TagTestsCoverage is the test coverage: a fraction in 0..1 ("0.935") or a percent in
	// 0..100 followed by % ("93.5%"). A number above 1 without % ("93.5") is ambiguous and refused.
	TagTestsCoverage = "tests.coverage"
)

// coverageTolerance absorbs float rounding, so a coverage exactly at the minimum passes whichever
// way it was written ("90%", "0.9", "90.0%").
const coverageTolerance = 1e-9

// decimal is an unsigned decimal number: no sign, exponent, hex, NaN or Inf.
var decimal = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// CheckTestEvidence is R1: the version records a test run with tests passed, none failed, and
// coverage at least minCoverage (a fraction). A missing tag fails naming the tag; a value that does
// not parse fails naming the tag and the value. Every problem is reported, not just the first.
func CheckTestEvidence(e Evidence, minCoverage float64) Finding {
	in := map[string]any{"min_coverage": minCoverage}
	var probs []string
	if n, ok := countTag(e.Tags, TagTestsPassed, in, &probs); ok && n == 0 {
		probs = append(probs, fmt.Sprintf("tag %s is 0: no tests ran", TagTestsPassed))
	}
	if n, ok := countTag(e.Tags, TagTestsFailed, in, &probs); ok && n > 0 {
		probs = append(probs, fmt.Sprintf("tag %s is %d: tests failed", TagTestsFailed, n))
	}
	raw, set := e.Tags[TagTestsCoverage]
	cov, err := parseCoverage(raw)
	switch {
	case !set:
		probs = append(probs, fmt.Sprintf("tag %s is missing", TagTestsCoverage))
	case err != nil:
		probs = append(probs, fmt.Sprintf("tag %s = %s %v", TagTestsCoverage, quote(raw), err))
	default:
		in["coverage"] = cov
		if !(cov >= minCoverage-coverageTolerance) {
			probs = append(probs, fmt.Sprintf("tag %s = %s: coverage %s is below the minimum %s",
				TagTestsCoverage, quote(raw), percent(cov), percent(minCoverage)))
		}
	}
	if len(probs) > 0 {
		return failed(RuleTestEvidence, probs, in)
	}
	return passed(RuleTestEvidence, fmt.Sprintf("%v tests passed, none failed, coverage %s ≥ %s",
		in[TagTestsPassed], percent(cov), percent(minCoverage)), in)
}

// countTag reads a test count tag into in[tag], or appends why it cannot.
func countTag(tags map[string]string, tag string, in map[string]any, probs *[]string) (int64, bool) {
	raw, set := tags[tag]
	if !set {
		*probs = append(*probs, fmt.Sprintf("tag %s is missing", tag))
		return 0, false
	}
	s := strings.TrimSpace(raw)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		*probs = append(*probs, fmt.Sprintf("tag %s = %s is not a count (a whole number ≥ 0)", tag, quote(raw)))
		return 0, false
	}
	in[tag] = n
	return n, true
}

// parseCoverage reads a coverage tag as a fraction in 0..1; its errors complete "tag = value …".
func parseCoverage(raw string) (float64, error) {
	s := strings.TrimSpace(raw)
	num, pct := strings.CutSuffix(s, "%")
	num = strings.TrimSpace(num)
	if !decimal.MatchString(num) {
		return 0, fmt.Errorf("is not a coverage: write a fraction (0.935) or a percent (93.5%%)")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("is not a number: %v", err)
	}
	switch {
	case pct && f > 100:
		return 0, fmt.Errorf("is above 100%%")
	case pct:
		return f / 100, nil
	case f > 1:
		return 0, fmt.Errorf("is ambiguous: above 1 without %% (write a fraction 0.935 or a percent 93.5%%)")
	}
	return f, nil
}

// percent renders a fraction as a percent for messages, to 4 decimals: 0.935 → "93.5%".
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e6)/1e4, 'f', -1, 64) + "%"
}
