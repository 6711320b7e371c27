package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// What the model server (infra/bento/service.py, BentoML 1.4 new-style service) exports, as read
// from a served bento's /metrics:
//
//	bentoml_service_request_total{endpoint="/predict",http_response_code="200",runner_name,service_name,service_version}
//	bentoml_service_request_duration_seconds_bucket{endpoint,http_response_code,le,runner_name,service_name,service_version}
//	td_predict_errors_total{kind="input"|"model"|"fault"}
//
// BentoML creates the request_total series of every route with codes 200 and 500 at 0 when it
// serves its first request (the first /readyz), so a new server's first predict calls are counted;
// the histogram's series appear with the first predict, so increase() misses the observations of a
// new server's first scrape interval.
const (
	metricRequests    = "bentoml_service_request_total"
	metricDuration    = "bentoml_service_request_duration_seconds_bucket"
	metricModelErrors = "td_predict_errors_total"
	predictEndpoint   = "/predict"
)

// queryAPI is the part of client_golang's v1.API the backend uses; tests inject a fake.
type queryAPI interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, error)
}

var _ queryAPI = v1.API(nil)

// Prometheus measures workloads with PromQL instant queries over Prometheus's HTTP API.
//
// Each Sample runs up to four queries over the window W = end-start (rounded to whole seconds),
// evaluated at end: requests and 5xx errors (sum of increase() of the predict endpoint's request
// counter), model errors (td_predict_errors_total of kind model or fault) and the p99 latency
// (histogram_quantile over the bucket increases, summed by le). increase() extrapolates from the
// samples inside the window, so counts are approximate and need at least two scrapes in the
// window: a window shorter than two scrape intervals may be answered with no data, and requests in
// the last scrape interval before end are not yet scraped (they count in the next window). Any
// window of at least a second is queried; judging short windows is the caller's choice.
type Prometheus struct {
	api     queryAPI
	url     string
	timeout time.Duration
	log     *slog.Logger
}

var _ Source = (*Prometheus)(nil)

// NewPrometheus returns a Prometheus source for cfg.URL; cfg.Kind must be KindPrometheus or empty.
func NewPrometheus(cfg Config) (*Prometheus, error) {
	if cfg.Kind != "" && cfg.Kind != KindPrometheus {
		return nil, configError("kind", "%q given to the Prometheus source", cfg.Kind)
	}
	cfg.Kind = KindPrometheus
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL})
	if err != nil {
		return nil, configError("url", "%q: %v", redact.URL(cfg.URL), redact.Error(err))
	}
	return newPrometheus(v1.NewAPI(client), redact.URL(cfg.URL), cfg.Timeout), nil // url: for messages
}

func newPrometheus(a queryAPI, url string, timeout time.Duration) *Prometheus {
	return &Prometheus{api: a, url: url, timeout: timeout, log: slog.Default()}
}

// Sample measures w over [start, end]. No requests in the window (or no series at all) is NoData;
// requests without a latency histogram is NoLatency: the error rate is measured, the p99 unknown.
func (p *Prometheus) Sample(ctx context.Context, w rules.Workload, start, end time.Time) (rules.Sample, error) {
	s := rules.Sample{Workload: w, Start: start, End: end}
	q, err := buildQueries(w, start, end)
	if err != nil {
		return s, err
	}
	requests, ok, err := p.value(ctx, w, "query requests", q.Requests, end)
	if err != nil || !ok || requests <= 0 {
		s.NoData = true
		return s, err
	}
	errs, _, err := p.value(ctx, w, "query errors", q.Errors, end)
	if err != nil {
		return s, err
	}
	modelErrs, _, err := p.value(ctx, w, "query model errors", q.ModelErrors, end)
	if err != nil {
		return s, err
	}
	p99, hasP99, err := p.value(ctx, w, "query p99 latency", q.P99, end)
	if err != nil {
		return s, err
	}
	return assemble(s, requests, errs, modelErrs, p99, hasP99), nil
}

// assemble fills in a Sample from measured values (p99 in seconds; hasP99 false: no histogram,
// NoLatency). The error rate is clamped to [0, 1]: errors and requests are extrapolated separately.
func assemble(s rules.Sample, requests, errs, modelErrs, p99 float64, hasP99 bool) rules.Sample {
	s.Requests, s.Errors, s.ModelErrors = requests, math.Max(errs, 0), math.Max(modelErrs, 0)
	s.ErrorRate = math.Min(s.Errors/requests, 1)
	if !hasP99 {
		s.NoLatency = true
		return s
	}
	s.P99MS = p99 * 1000
	return s
}

// Queries are the PromQL queries for one workload and window.
type Queries struct {
	Requests, Errors, ModelErrors, P99 string
}

// buildQueries returns the queries for w over [start, end], or an error if the window is under a
// second or a label value cannot select a workload.
func buildQueries(w rules.Workload, start, end time.Time) (Queries, error) {
	window := end.Sub(start).Round(time.Second)
	if window < time.Second {
		return Queries{}, &Error{Kind: KindInvalidRequest, Op: "build queries", Workload: w,
			Err: fmt.Errorf("window [%s, %s] is %s: want end at least 1s after start", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), end.Sub(start))}
	}
	sel, err := selector(w)
	if err != nil {
		return Queries{}, &Error{Kind: KindInvalidRequest, Op: "build queries", Workload: w, Err: err}
	}
	rng := "[" + strconv.FormatInt(int64(window/time.Second), 10) + "s]"
	predict := `endpoint="` + predictEndpoint + `",` + sel
	return Queries{
		Requests:    "sum(increase(" + metricRequests + "{" + predict + "}" + rng + "))",
		Errors:      "sum(increase(" + metricRequests + `{http_response_code=~"5..",` + predict + "}" + rng + "))",
		ModelErrors: "sum(increase(" + metricModelErrors + `{kind=~"model|fault",` + sel + "}" + rng + "))",
		P99:         "histogram_quantile(0.99, sum by (le) (increase(" + metricDuration + "{" + predict + "}" + rng + ")))",
	}, nil
}

// selector returns the label matchers for w's target labels. Values are quoted with Go's
// escaping, which PromQL string literals share; an empty value (it would match series without the
// label) or one that is not UTF-8 is an error.
func selector(w rules.Workload) (string, error) {
	pairs := [...]struct{ name, value string }{
		{LabelDeployment, w.DeploymentName}, {LabelEnvironment, w.Environment}, {LabelRole, w.Role}}
	parts := make([]string, 0, len(pairs))
	for _, p := range pairs {
		switch {
		case p.value == "":
			return "", fmt.Errorf("label %s: empty value (it would select series without the label)", p.name)
		case !utf8.ValidString(p.value):
			return "", fmt.Errorf("label %s: value %q is not valid UTF-8", p.name, p.value)
		}
		parts = append(parts, p.name+"="+strconv.Quote(p.value))
	}
	return strings.Join(parts, ","), nil
}

// value runs one instant query at ts and returns its single number; ok is false for no data (an
// empty result, NaN or ±Inf).
func (p *Prometheus) value(ctx context.Context, w rules.Workload, op, query string, ts time.Time) (float64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, warnings, err := p.api.Query(ctx, query, ts, v1.WithTimeout(p.timeout))
	if err != nil {
		return 0, false, queryError(op+" from "+p.url, w, query, err)
	}
	if len(warnings) > 0 {
		p.log.Warn("prometheus query warnings", "workload", w.String(), "query", query, "warnings", strings.Join(warnings, "; "))
	}
	f, ok, err := number(v)
	if err != nil {
		return 0, false, &Error{Kind: KindUnavailable, Op: op + " from " + p.url, Workload: w, Query: query, Err: err}
	}
	return f, ok, nil
}

// number reads an instant query's result: one sample (or a scalar) is a number; no sample, NaN
// and ±Inf are no data; more than one sample, or another type, is an error.
func number(v model.Value) (float64, bool, error) {
	var f float64
	switch r := v.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, false, nil
		case 1:
			f = float64(r[0].Value)
		default:
			return 0, false, fmt.Errorf("unexpected result: %d series, want at most one", len(r))
		}
	case *model.Scalar:
		if r == nil {
			return 0, false, errors.New("unexpected result: nil scalar")
		}
		f = float64(r.Value)
	case nil:
		return 0, false, errors.New("unexpected result: none")
	default:
		return 0, false, fmt.Errorf("unexpected result type %s, want a vector", v.Type())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, nil
	}
	return f, true, nil
}

// queryError classifies a failed query: Prometheus refusing the query (bad_data) or a 4xx is
// permanent; transport errors, timeouts, 5xx and answers that are not the API are transient.
func queryError(op string, w rules.Workload, query string, err error) *Error {
	kind := KindUnavailable
	var ae *v1.Error
	if errors.As(err, &ae) {
		if ae.Type == v1.ErrBadData || ae.Type == v1.ErrClient {
			kind = KindQueryRejected
		}
		if d := strings.TrimSpace(ae.Detail); d != "" {
			if len(d) > 300 {
				d = d[:300] + "…"
			}
			err = fmt.Errorf("%w: %s", err, d)
		}
	}
	return &Error{Kind: kind, Op: op, Workload: w, Query: query, Err: err}
}
