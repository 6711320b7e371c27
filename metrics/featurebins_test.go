package metrics

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func binSample(feature, bin string, v float64) *model.Sample {
	return &model.Sample{Metric: model.Metric{"feature": model.LabelValue(feature), "bin": model.LabelValue(bin)}, Value: model.SampleValue(v)}
}

// TestFeatureBins: the counts come back per feature and bin; series without the labels, NaN and
// infinite values are dropped, negative extrapolations clamp to 0; a failed query is an error.
func TestFeatureBins(t *testing.T) {
	cases := []struct {
		name    string
		answer  answer
		want    map[string]map[string]float64
		wantErr bool
	}{
		{"counts", answer{v: model.Vector{binSample("f0", "0", 10), binSample("f0", "1", 30.5), binSample("f1", "2", 4)}},
			map[string]map[string]float64{"f0": {"0": 10, "1": 30.5}, "f1": {"2": 4}}, false},
		{"no series", answer{v: model.Vector{}}, map[string]map[string]float64{}, false},
		{"odd samples dropped", answer{v: model.Vector{binSample("", "0", 1), binSample("f0", "", 1), binSample("f0", "0", math.NaN()),
			binSample("f0", "1", math.Inf(1)), binSample("f0", "2", -0.5)}}, map[string]map[string]float64{"f0": {"2": 0}}, false},
		{"backend down", answer{err: errors.New("connection refused")}, nil, true},
		{"not a vector", answer{v: &model.Scalar{Value: 1}}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{answers: map[string]answer{"requests": tc.answer}}
			got, err := newPrometheus(f, "http://prom", time.Second).FeatureBins(context.Background(), testWorkload, testStart, testEnd)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if len(f.calls) != 1 || !strings.HasPrefix(f.calls[0].query, `sum by (feature, bin) (increase(td_feature_bin_total{td_deployment="fraud",td_environment="production",td_role="canary"}[`) {
				t.Errorf("queries %+v", f.calls)
			}
		})
	}
	if _, err := FeatureBinsQuery(testWorkload, testStart, testStart); err == nil {
		t.Error("an empty window was queried")
	}
}
