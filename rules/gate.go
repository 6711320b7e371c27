package rules

import (
	"fmt"
	"math"
	"sort"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Verdict is a rule's decision with every reason it failed.
type Verdict struct {
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

func verdict(failures []string) Verdict {
	return Verdict{Passed: len(failures) == 0, Failures: failures}
}

// SuccessGate is seed 002's gate: nothing is deployed or promoted unless the trainer reported its
// success criteria met and the validation evidence passes every threshold.
func SuccessGate(met bool, metrics map[string]float64, thresholds map[string]contract.Threshold) Verdict {
	var fails []string
	if !met {
		fails = append(fails, "success_criteria_met is false")
	}
	if len(metrics) == 0 {
		fails = append(fails, "validation_metrics is empty: no evidence")
	}
	names := make([]string, 0, len(thresholds))
	for n := range thresholds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		th := thresholds[n]
		v, ok := metrics[n]
		switch {
		case !ok:
			fails = append(fails, fmt.Sprintf("validation_metrics.%s is missing (threshold set)", n))
		case math.IsNaN(v):
			fails = append(fails, fmt.Sprintf("validation_metrics.%s is NaN", n))
		case th.Min != nil && v < *th.Min:
			fails = append(fails, fmt.Sprintf("validation_metrics.%s = %g is below min %g", n, v, *th.Min))
		case th.Max != nil && v > *th.Max:
			fails = append(fails, fmt.Sprintf("validation_metrics.%s = %g is above max %g", n, v, *th.Max))
		}
	}
	return verdict(fails)
}
