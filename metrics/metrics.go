// Package metrics measures what a workload served, behind one small interface (flagger's metric
// providers and argo rollouts' metricproviders do the same): a Source answers with a rules.Sample
// for a workload over a window, and the pure rules judge it. One file per backend (prometheus.go);
// New picks one by kind and errors on a kind it does not know.
//
// A workload's series are selected by three target labels, put on by whatever scrapes the model
// servers: the Prometheus scrape config's relabeling on Kubernetes, or the loopback harness's
// file_sd targets file in tests and the demo (LabelDeployment, LabelEnvironment, LabelRole).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// Source measures what a workload served over a window.
type Source interface {
	// Sample measures w over [start, end]. A workload without series or without requests in the
	// window is a Sample with NoData set, not an error; an error means nothing could be measured
	// (the backend is unreachable or refused the query) and is never a pass.
	Sample(ctx context.Context, w rules.Workload, start, end time.Time) (rules.Sample, error)
}

// Backend kinds for Config.Kind.
const (
	KindPrometheus = "prometheus" // a Prometheus HTTP API at Config.URL
	KindNone       = "none"       // no metrics source (as is ""): New returns (nil, nil)
)

// Target labels that select a workload's series. Whatever scrapes a model server puts them on
// its series: Kubernetes relabeling (from the pod labels), or the harness's targets file.
const (
	LabelDeployment  = "td_deployment"  // rules.Workload.DeploymentName
	LabelEnvironment = "td_environment" // rules.Workload.Environment
	LabelRole        = "td_role"        // rules.Workload.Role: stable, canary or shadow
)

// DefaultTimeout bounds one query when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says which metrics source to use and where it is.
type Config struct {
	Kind    string        // KindPrometheus, or "" / KindNone for none
	URL     string        // the backend's base URL, e.g. http://127.0.0.1:9090
	Timeout time.Duration // per query. Defaults to DefaultTimeout.
}

// New returns the Source cfg names, (nil, nil) when cfg names none, or an error naming what is
// wrong with cfg (an unknown kind included: there is no fallback).
func New(cfg Config) (Source, error) {
	switch cfg.Kind {
	case "", KindNone:
		return nil, nil
	case KindPrometheus:
		return NewPrometheus(cfg)
	default:
		return nil, configError("kind", "%q is not a metrics source kind (want %q, %q or empty)", cfg.Kind, KindPrometheus, KindNone)
	}
}

// validate checks the fields every backend needs: an absolute http(s) URL and a non-negative
// timeout. It returns cfg with the defaults filled in.
func (cfg Config) validate() (Config, error) {
	if cfg.URL == "" {
		return cfg, configError("url", "empty: want the %s base URL, e.g. http://127.0.0.1:9090", cfg.Kind)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return cfg, configError("url", "%q: %v", redact.URL(cfg.URL), redact.Error(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, configError("url", "%q: want an absolute http:// or https:// URL with a host", redact.URL(cfg.URL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return cfg, configError("url", "%q: want a base URL without query or fragment", redact.URL(cfg.URL))
	}
	switch {
	case cfg.Timeout < 0:
		return cfg, configError("timeout", "%s is negative", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	return cfg, nil
}

// LatencyBucketsMS are the upper bounds, in milliseconds, of the model server's request-duration
// histogram buckets (below +Inf), as infra/bento/service.py configures them (LATENCY_BUCKETS_MS;
// a test keeps the two equal). A p99 is interpolated inside a bucket, so a latency threshold is
// judged exactly only at a bound: see IsBucketBound. Read-only.
var LatencyBucketsMS = []float64{5, 10, 25, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 750, 1000, 2500, 5000, 10000}

// IsBucketBound reports whether ms is one of LatencyBucketsMS, so a p99 threshold of ms can be
// judged without interpolation error.
func IsBucketBound(ms float64) bool {
	for _, b := range LatencyBucketsMS {
		if math.Abs(b-ms) <= 1e-9*math.Max(1, b) {
			return true
		}
	}
	return false
}

// ErrorKind says why a measurement failed.
type ErrorKind string

// The kinds. Permanent ones fail the same way on every attempt; the others may pass on a retry.
const (
	// KindInvalidConfig (permanent): the Config is wrong (kind, URL, timeout).
	KindInvalidConfig ErrorKind = "InvalidMetricsConfig"
	// KindInvalidRequest (permanent): the workload or the window cannot be queried (an empty or
	// non-UTF-8 label value, a window under a second, end before start).
	KindInvalidRequest ErrorKind = "InvalidMetricsRequest"
	// KindQueryRejected (permanent): the backend refused the query as malformed (Prometheus
	// bad_data) or answered 4xx (a wrong URL, missing credentials).
	KindQueryRejected ErrorKind = "MetricsQueryRejected"
	// KindUnavailable (transient): the backend could not be reached, timed out, answered 5xx or
	// something that is not its API, or answered with a result of an unexpected shape.
	KindUnavailable ErrorKind = "MetricsUnavailable"
)

// Error is a failed measurement: what was being done, for which workload, with which query.
// errors.As(err, &*Error) finds it through wrapping.
type Error struct {
	Kind     ErrorKind
	Op       string         // what was being done, e.g. "query requests"
	Workload rules.Workload // zero for configuration errors
	Query    string         // the query sent, if any
	Err      error          // the cause
}

func (e *Error) Error() string {
	s := "metrics: " + e.Op
	if e.Workload != (rules.Workload{}) {
		s += " for " + e.Workload.String()
	}
	s += ": " + string(e.Kind)
	if e.Query != "" {
		s += " (query " + e.Query + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help.
func (e *Error) Permanent() bool {
	return e.Kind == KindInvalidConfig || e.Kind == KindInvalidRequest || e.Kind == KindQueryRejected
}

// KindOf returns the kind of a metrics error anywhere in err's chain, or "" if there is none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func configError(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalidConfig, Op: "config", Err: fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))}
}
