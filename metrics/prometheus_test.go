package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/temporaldeployer/temporaldeployer/rules"
)

// answer is what the fake API returns for one of the four queries.
type answer struct {
	v        model.Value
	warnings v1.Warnings
	err      error
}

// fakeAPI answers each query by its kind (requests, errors, model, p99) and records the calls.
type fakeAPI struct {
	answers map[string]answer
	calls   []fakeCall
}

type fakeCall struct {
	kind, query string
	ts          time.Time
	deadline    bool
}

func (f *fakeAPI) Query(ctx context.Context, query string, ts time.Time, _ ...v1.Option) (model.Value, v1.Warnings, error) {
	_, hasDeadline := ctx.Deadline()
	k := queryKind(query)
	f.calls = append(f.calls, fakeCall{kind: k, query: query, ts: ts, deadline: hasDeadline})
	a, ok := f.answers[k]
	if !ok {
		return model.Vector{}, nil, nil
	}
	return a.v, a.warnings, a.err
}

func queryKind(q string) string {
	switch {
	case strings.HasPrefix(q, "histogram_quantile"):
		return "p99"
	case strings.Contains(q, metricModelErrors):
		return "model"
	case strings.Contains(q, `http_response_code=~"5.."`):
		return "errors"
	default:
		return "requests"
	}
}

func vec(values ...float64) model.Vector {
	v := model.Vector{}
	for _, f := range values {
		v = append(v, &model.Sample{Metric: model.Metric{}, Value: model.SampleValue(f)})
	}
	return v
}

var (
	testWorkload = rules.Workload{DeploymentName: "fraud", Environment: "production", Role: "canary"}
	testEnd      = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	testStart    = testEnd.Add(-90 * time.Second)
)

func TestSample(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers map[string]answer
		want    rules.Sample // Workload, Start and End are filled in
		calls   int
	}{
		{"no series at all", nil, rules.Sample{NoData: true}, 1},
		{"no requests", map[string]answer{"requests": {v: vec(0)}}, rules.Sample{NoData: true}, 1},
		{"requests NaN", map[string]answer{"requests": {v: vec(math.NaN())}}, rules.Sample{NoData: true}, 1},
		{"requests +Inf", map[string]answer{"requests": {v: vec(math.Inf(1))}}, rules.Sample{NoData: true}, 1},
		{"all measured", map[string]answer{"requests": {v: vec(200)}, "errors": {v: vec(5)}, "model": {v: vec(2)}, "p99": {v: vec(0.1234)}},
			rules.Sample{Requests: 200, Errors: 5, ModelErrors: 2, ErrorRate: 0.025, P99MS: 123.4}, 4},
		{"no error series is no errors", map[string]answer{"requests": {v: vec(60)}, "p99": {v: vec(0.02)}},
			rules.Sample{Requests: 60, P99MS: 20}, 4},
		{"every request failed", map[string]answer{"requests": {v: vec(40)}, "errors": {v: vec(40)}, "model": {v: vec(40)}, "p99": {v: vec(0.004)}},
			rules.Sample{Requests: 40, Errors: 40, ModelErrors: 40, ErrorRate: 1, P99MS: 4}, 4},
		{"errors extrapolated above requests: rate clamped", map[string]answer{"requests": {v: vec(40)}, "errors": {v: vec(41)}, "p99": {v: vec(0.01)}},
			rules.Sample{Requests: 40, Errors: 41, ErrorRate: 1, P99MS: 10}, 4},
		{"partial: requests but no histogram", map[string]answer{"requests": {v: vec(10)}, "errors": {v: vec(1)}, "p99": {v: vec(math.NaN())}},
			rules.Sample{Requests: 10, Errors: 1, ErrorRate: 0.1, NoLatency: true}, 4},
		{"partial: histogram series missing", map[string]answer{"requests": {v: vec(10)}, "p99": {v: model.Vector{}}},
			rules.Sample{Requests: 10, NoLatency: true}, 4},
		{"scalar answer", map[string]answer{"requests": {v: &model.Scalar{Value: 3}}, "p99": {v: vec(0.2)}},
			rules.Sample{Requests: 3, P99MS: 200}, 4},
		{"warnings are not errors", map[string]answer{"requests": {v: vec(1), warnings: v1.Warnings{"PromQL info: x"}}, "p99": {v: vec(0.005)}},
			rules.Sample{Requests: 1, P99MS: 5}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{answers: tc.answers}
			got, err := newPrometheus(f, "http://prom", time.Second).Sample(context.Background(), testWorkload, testStart, testEnd)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Workload, want.Start, want.End = testWorkload, testStart, testEnd
			if math.Abs(got.P99MS-want.P99MS) < 1e-9 {
				got.P99MS = want.P99MS
			}
			if got != want {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			if len(f.calls) != tc.calls {
				t.Fatalf("%d queries, want %d", len(f.calls), tc.calls)
			}
			for _, c := range f.calls {
				if !c.ts.Equal(testEnd) || !c.deadline {
					t.Fatalf("query %s at %s (deadline %v), want at the window's end with a deadline", c.kind, c.ts, c.deadline)
				}
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("sample is not JSON-safe: %v", err)
			}
		})
	}
}

func TestSampleErrors(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
	for _, tc := range []struct {
		name    string
		answers map[string]answer
		kind    ErrorKind
		inError string
	}{
		{"transport error on requests", map[string]answer{"requests": {err: refused}}, KindUnavailable, "query requests"},
		{"transport error on p99", map[string]answer{"requests": {v: vec(5)}, "p99": {err: refused}}, KindUnavailable, "histogram_quantile"},
		{"server error", map[string]answer{"requests": {err: &v1.Error{Type: v1.ErrServer, Msg: "server error: 503"}}}, KindUnavailable, "server error: 503"},
		{"timeout", map[string]answer{"requests": {v: vec(5)}, "errors": {err: &v1.Error{Type: v1.ErrTimeout, Msg: "query timed out"}}}, KindUnavailable, "query errors"},
		{"bad data", map[string]answer{"requests": {err: &v1.Error{Type: v1.ErrBadData, Msg: "parse error"}}}, KindQueryRejected, "parse error"},
		{"client error with detail", map[string]answer{"requests": {err: &v1.Error{Type: v1.ErrClient, Msg: "client error: 404", Detail: "404 page not found"}}}, KindQueryRejected, "404 page not found"},
		{"two series", map[string]answer{"requests": {v: vec(1, 2)}}, KindUnavailable, "2 series"},
		{"a matrix", map[string]answer{"requests": {v: model.Matrix{}}}, KindUnavailable, "want a vector"},
		{"no result", map[string]answer{"requests": {v: nil}}, KindUnavailable, "unexpected result"},
		{"model errors fail", map[string]answer{"requests": {v: vec(5)}, "model": {err: refused}}, KindUnavailable, metricModelErrors},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newPrometheus(&fakeAPI{answers: tc.answers}, "http://prom", time.Second).Sample(context.Background(), testWorkload, testStart, testEnd)
			if err == nil {
				t.Fatalf("no error; sample %+v", got)
			}
			if KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.inError) || !strings.Contains(err.Error(), "fraud/production/canary") {
				t.Fatalf("error %q (kind %s), want kind %s mentioning %q and the workload", err, KindOf(err), tc.kind, tc.inError)
			}
			var me *Error
			if !errors.As(err, &me) || me.Query == "" || me.Permanent() != (tc.kind == KindQueryRejected) {
				t.Fatalf("error %#v: want the query recorded and Permanent() = %v", me, tc.kind == KindQueryRejected)
			}
			if got.ErrorRate != 0 || got.P99MS != 0 {
				t.Fatalf("a failed sample carries numbers: %+v", got)
			}
		})
	}
}

func TestSampleKeepsContextErrors(t *testing.T) {
	f := &fakeAPI{answers: map[string]answer{"requests": {err: context.DeadlineExceeded}}}
	_, err := newPrometheus(f, "http://prom", time.Second).Sample(context.Background(), testWorkload, testStart, testEnd)
	if !errors.Is(err, context.DeadlineExceeded) || KindOf(err) != KindUnavailable {
		t.Fatalf("got %v, want a wrapped deadline error", err)
	}
}

func TestQueries(t *testing.T) {
	q, err := buildQueries(testWorkload, testStart, testEnd)
	if err != nil {
		t.Fatal(err)
	}
	sel := `td_deployment="fraud",td_environment="production",td_role="canary"`
	want := Queries{
		Requests:    `sum(increase(bentoml_service_request_total{endpoint="/predict",` + sel + `}[90s]))`,
		Errors:      `sum(increase(bentoml_service_request_total{http_response_code=~"5..",endpoint="/predict",` + sel + `}[90s]))`,
		ModelErrors: `sum(increase(td_predict_errors_total{kind=~"model|fault",` + sel + `}[90s]))`,
		P99:         `histogram_quantile(0.99, sum by (le) (increase(bentoml_service_request_duration_seconds_bucket{endpoint="/predict",` + sel + `}[90s])))`,
	}
	if q != want {
		t.Fatalf("queries\n%+v\nwant\n%+v", q, want)
	}
}

func TestQueryWindow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width time.Duration
		want  string // the range selector, or "" for an error
	}{
		{"rounded down", 89*time.Second + 400*time.Millisecond, "[89s]"},
		{"rounded up", 89*time.Second + 600*time.Millisecond, "[90s]"},
		{"one second", time.Second, "[1s]"},
		{"shorter than two 1s scrapes: queried", 1500 * time.Millisecond, "[2s]"},
		{"a day", 24 * time.Hour, "[86400s]"},
		{"under half a second", 400 * time.Millisecond, ""},
		{"empty", 0, ""},
		{"end before start", -time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := buildQueries(testWorkload, testEnd.Add(-tc.width), testEnd)
			if tc.want == "" {
				if err == nil || KindOf(err) != KindInvalidRequest || !strings.Contains(err.Error(), "window") {
					t.Fatalf("got %v, want an invalid-request error about the window", err)
				}
				return
			}
			if err != nil || !strings.Contains(q.Requests, tc.want) || !strings.Contains(q.P99, tc.want) {
				t.Fatalf("got %+v, %v; want range %s", q, err, tc.want)
			}
		})
	}
}

func TestSelectorEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    rules.Workload
		want string // "" for an error
	}{
		{"plain", wl("fraud-detector", "staging", "stable"),
			`td_deployment="fraud-detector",td_environment="staging",td_role="stable"`},
		{"quotes and backslashes", wl(`a"b\c`, "prod", "stable"),
			`td_deployment="a\"b\\c",td_environment="prod",td_role="stable"`},
		{"closing brace and matcher text", wl(`x"} or vector(1) #`, "prod", "stable"),
			`td_deployment="x\"} or vector(1) #",td_environment="prod",td_role="stable"`},
		{"newline, tab and unicode", wl("a\nb\tc", "prød", "stable"),
			`td_deployment="a\nb\tc",td_environment="prød",td_role="stable"`},
		{"empty deployment", wl("", "prod", "stable"), ""},
		{"empty role", wl("fraud", "prod", ""), ""},
		{"not UTF-8", wl("fraud\xff", "prod", "stable"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selector(tc.w)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("selector(%q) = %s, want an error", tc.w, got)
				}
				_, err := newPrometheus(&fakeAPI{}, "http://prom", time.Second).Sample(context.Background(), tc.w, testStart, testEnd)
				if KindOf(err) != KindInvalidRequest {
					t.Fatalf("Sample: got %v, want an invalid-request error", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("selector(%q) = %s, %v; want %s", tc.w, got, err, tc.want)
			}
		})
	}
}

func wl(deployment, environment, role string) rules.Workload {
	return rules.Workload{DeploymentName: deployment, Environment: environment, Role: role}
}
