package metrics

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/temporaldeployer/temporaldeployer/rules"
)

// MetricFeatureBins is the serving template's per-feature input counter (infra/bento/service.py):
// td_feature_bin_total{feature="f0",bin="3"} counts the inputs of feature f0 that fell in bin 3 of
// the model's drift reference profile (package drift: the bin labels are drift.Feature.BinLabels).
const MetricFeatureBins = "td_feature_bin_total"

// BinCounter counts what a workload's inputs were, per feature and bin, over a window: the live
// side of the drift gate. The counts are feature → bin label → count; a workload with no counter
// series in the window gives an empty map, not an error.
type BinCounter interface {
	FeatureBins(ctx context.Context, w rules.Workload, start, end time.Time) (map[string]map[string]float64, error)
}

var _ BinCounter = (*Prometheus)(nil)

// FeatureBinsQuery is the PromQL FeatureBins runs for w over [start, end].
func FeatureBinsQuery(w rules.Workload, start, end time.Time) (string, error) {
	window := end.Sub(start).Round(time.Second)
	if window < time.Second {
		return "", &Error{Kind: KindInvalidRequest, Op: "build feature bins query", Workload: w,
			Err: fmt.Errorf("window is %s: want end at least 1s after start", end.Sub(start))}
	}
	sel, err := selector(w)
	if err != nil {
		return "", &Error{Kind: KindInvalidRequest, Op: "build feature bins query", Workload: w, Err: err}
	}
	return "sum by (feature, bin) (increase(" + MetricFeatureBins + "{" + sel + "}[" +
		strconv.FormatInt(int64(window/time.Second), 10) + "s]))", nil
}

// FeatureBins measures w's inputs per feature and bin over [start, end], with increase() (so the
// counts are extrapolated like the request counts of Sample).
func (p *Prometheus) FeatureBins(ctx context.Context, w rules.Workload, start, end time.Time) (map[string]map[string]float64, error) {
	query, err := FeatureBinsQuery(w, start, end)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, warnings, err := p.api.Query(qctx, query, end, v1.WithTimeout(p.timeout))
	if err != nil {
		return nil, queryError("query feature bins from "+p.url, w, query, err)
	}
	if len(warnings) > 0 {
		p.log.Warn("prometheus query warnings", "workload", w.String(), "query", query, "warnings", strings.Join(warnings, "; "))
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, &Error{Kind: KindUnavailable, Op: "query feature bins from " + p.url, Workload: w, Query: query,
			Err: fmt.Errorf("unexpected result type %v, want a vector", v)}
	}
	out := map[string]map[string]float64{}
	for _, s := range vec {
		f, b, c := string(s.Metric["feature"]), string(s.Metric["bin"]), float64(s.Value)
		if f == "" || b == "" || math.IsNaN(c) || math.IsInf(c, 0) {
			continue
		}
		if out[f] == nil {
			out[f] = map[string]float64{}
		}
		out[f][b] = math.Max(c, 0)
	}
	return out, nil
}
