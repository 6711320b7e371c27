package metrics_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/metrics"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     metrics.Config
		none    bool   // (nil, nil): not configured
		inError string // "" for success
	}{
		{name: "empty kind: none", cfg: metrics.Config{}, none: true},
		{name: "none", cfg: metrics.Config{Kind: "none", URL: "ignored"}, none: true},
		{name: "prometheus", cfg: metrics.Config{Kind: "prometheus", URL: "http://127.0.0.1:9090"}},
		{name: "prometheus https with path", cfg: metrics.Config{Kind: "prometheus", URL: "https://prom.example/prometheus", Timeout: time.Minute}},
		{name: "unknown kind", cfg: metrics.Config{Kind: "datadog", URL: "http://x"}, inError: `"datadog" is not a metrics source kind`},
		{name: "kind is case-sensitive", cfg: metrics.Config{Kind: "Prometheus", URL: "http://x"}, inError: "kind"},
		{name: "no URL", cfg: metrics.Config{Kind: "prometheus"}, inError: "url: empty"},
		{name: "relative URL", cfg: metrics.Config{Kind: "prometheus", URL: "127.0.0.1:9090"}, inError: "url"},
		{name: "other scheme", cfg: metrics.Config{Kind: "prometheus", URL: "ftp://127.0.0.1:9090"}, inError: "http:// or https://"},
		{name: "query in URL", cfg: metrics.Config{Kind: "prometheus", URL: "http://127.0.0.1:9090/?x=1"}, inError: "without query"},
		{name: "negative timeout", cfg: metrics.Config{Kind: "prometheus", URL: "http://127.0.0.1:9090", Timeout: -time.Second}, inError: "timeout: -1s is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := metrics.New(tc.cfg)
			switch {
			case tc.inError != "":
				if err == nil || !strings.Contains(err.Error(), tc.inError) || metrics.KindOf(err) != metrics.KindInvalidConfig {
					t.Fatalf("New(%+v) = %v, %v; want an invalid-config error containing %q", tc.cfg, src, err, tc.inError)
				}
			case err != nil:
				t.Fatal(err)
			case tc.none != (src == nil):
				t.Fatalf("New(%+v) = %v, want none: %v", tc.cfg, src, tc.none)
			}
		})
	}
}

func TestNewPrometheusRejectsAnotherKind(t *testing.T) {
	if _, err := metrics.NewPrometheus(metrics.Config{Kind: "none", URL: "http://x"}); metrics.KindOf(err) != metrics.KindInvalidConfig {
		t.Fatalf("got %v", err)
	}
}

// TestLatencyBucketsMatchTheService keeps LatencyBucketsMS equal to the buckets the bento template
// configures (LATENCY_BUCKETS_MS in infra/bento/service.py).
func TestLatencyBucketsMatchTheService(t *testing.T) {
	src, err := os.ReadFile("../infra/bento/service.py")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LATENCY_BUCKETS_MS = \(([^)]*)\)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("infra/bento/service.py has no `LATENCY_BUCKETS_MS = (...)` line")
	}
	var service []float64
	for _, f := range strings.Split(string(m[1]), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			t.Fatalf("LATENCY_BUCKETS_MS entry %q: %v", f, err)
		}
		service = append(service, v)
	}
	if !reflect.DeepEqual(service, metrics.LatencyBucketsMS) {
		t.Fatalf("service.py buckets %v, metrics.LatencyBucketsMS %v", service, metrics.LatencyBucketsMS)
	}
	for i := 1; i < len(service); i++ {
		if service[i] <= service[i-1] {
			t.Fatalf("buckets not increasing at %v", service[i])
		}
	}
	if !strings.Contains(string(src), "metrics=_METRICS") {
		t.Fatal("service.py does not pass its metrics configuration to @bentoml.service")
	}
}

func TestIsBucketBound(t *testing.T) {
	for ms, want := range map[float64]bool{150: true, 5: true, 10000: true, 250: true, 150.0000000001: true, 151: false, 0: false, 20000: false, -150: false} {
		if got := metrics.IsBucketBound(ms); got != want {
			t.Errorf("IsBucketBound(%v) = %v, want %v", ms, got, want)
		}
	}
}

// TestPrometheusHTTPErrors runs the real client against answers a Prometheus (or something else
// at its address) may give, and checks they are errors of the right kind, never a pass.
func TestPrometheusHTTPErrors(t *testing.T) {
	w := rules.Workload{DeploymentName: "fraud", Environment: "staging", Role: "stable"}
	end := time.Now()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   metrics.ErrorKind
	}{
		{"503 unavailable", 503, `{"status":"error","errorType":"unavailable","error":"not ready"}`, metrics.KindUnavailable},
		{"502 from a proxy", 502, "<html>bad gateway</html>", metrics.KindUnavailable},
		{"400 bad data", 400, `{"status":"error","errorType":"bad_data","error":"parse error at char 3"}`, metrics.KindQueryRejected},
		{"404: not the API", 404, "404 page not found", metrics.KindQueryRejected},
		{"200 but not JSON", 200, "<html>login</html>", metrics.KindUnavailable},
		{"422 execution error", 422, `{"status":"error","errorType":"execution","error":"many-to-many matching"}`, metrics.KindUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.WriteHeader(tc.status)
				_, _ = rw.Write([]byte(tc.body))
			}))
			defer srv.Close()
			src, err := metrics.NewPrometheus(metrics.Config{URL: srv.URL, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			s, err := src.Sample(context.Background(), w, end.Add(-time.Minute), end)
			if err == nil || metrics.KindOf(err) != tc.kind || !strings.Contains(err.Error(), "bentoml_service_request_total") {
				t.Fatalf("got %+v, %v (kind %s); want a %s error naming the query", s, err, metrics.KindOf(err), tc.kind)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		ln.Close()
		src, _ := metrics.NewPrometheus(metrics.Config{URL: url})
		if _, err := src.Sample(context.Background(), w, end.Add(-time.Minute), end); metrics.KindOf(err) != metrics.KindUnavailable {
			t.Fatalf("got %v, want unavailable", err)
		}
	})
	t.Run("slower than the timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		defer srv.Close()
		src, _ := metrics.NewPrometheus(metrics.Config{URL: srv.URL, Timeout: 100 * time.Millisecond})
		start := time.Now()
		_, err := src.Sample(context.Background(), w, end.Add(-time.Minute), end)
		if metrics.KindOf(err) != metrics.KindUnavailable || time.Since(start) > 3*time.Second {
			t.Fatalf("got %v after %s, want unavailable within the timeout", err, time.Since(start))
		}
	})
}

// TestPrometheusSendsTheQuery checks, through the real client, what reaches the server: the
// query and the evaluation time (the window's end) of an instant query.
func TestPrometheusSendsTheQuery(t *testing.T) {
	var queries, times []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" || r.ParseForm() != nil {
			rw.WriteHeader(404)
			return
		}
		queries, times = append(queries, r.Form.Get("query")), append(times, r.Form.Get("time"))
		v := "12"
		if strings.HasPrefix(r.Form.Get("query"), "histogram_quantile") {
			v = "0.0425"
		}
		_, _ = rw.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764676800,"` + v + `"]}]}}`))
	}))
	defer srv.Close()
	src, err := metrics.New(metrics.Config{Kind: "prometheus", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Unix(1764676800, 500_000_000)
	w := rules.Workload{DeploymentName: `we"ird`, Environment: "staging", Role: "shadow"}
	s, err := src.Sample(context.Background(), w, end.Add(-30*time.Second), end)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 12 || s.ErrorRate != 1 || s.P99MS != 42.5 || s.NoData {
		t.Fatalf("sample %+v", s)
	}
	if len(queries) != 4 || !strings.Contains(queries[0], `td_deployment="we\"ird"`) || !strings.Contains(queries[0], "[30s]") {
		t.Fatalf("queries %q", queries)
	}
	for _, ts := range times {
		if ts != "1764676800.5" {
			t.Fatalf("evaluated at %q, want the window's end 1764676800.5", ts)
		}
	}
}
