package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// server answers health with the given codes in turn (the last repeats) and metrics with metricsCode.
func server(t *testing.T, codes []int, metricsCode int, delay time.Duration) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			w.WriteHeader(metricsCode)
			return
		}
		n := int(calls.Add(1)) - 1
		if n >= len(codes) {
			n = len(codes) - 1
		}
		time.Sleep(delay)
		w.WriteHeader(codes[n])
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestHTTPCheck(t *testing.T) {
	cases := []struct {
		name         string
		codes        []int
		metricsCode  int
		delay        time.Duration
		withMetrics  bool
		wantHealthy  bool
		wantAttempts int
	}{
		{"healthy first try", []int{200}, 200, 0, true, true, 1},
		{"recovers on third try", []int{503, 503, 200}, 200, 0, true, true, 3},
		{"never healthy", []int{500}, 200, 0, false, false, 3},
		{"healthy but metrics dark", []int{200}, 404, 0, true, false, 1},
		{"healthy without metrics url", []int{200}, 404, 0, false, true, 1},
		{"every attempt times out", []int{200}, 200, 300 * time.Millisecond, false, false, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := server(t, tc.codes, tc.metricsCode, tc.delay)
			p, err := NewHTTP(100*time.Millisecond, 3, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			target := Target{HealthURL: srv.URL + "/readyz"}
			if tc.withMetrics {
				target.MetricsURL = srv.URL + "/metrics"
			}
			res, err := p.Check(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if res.Healthy != tc.wantHealthy || res.Attempts != tc.wantAttempts {
				t.Fatalf("got healthy=%v attempts=%d (%s), want %v %d", res.Healthy, res.Attempts, res.Error, tc.wantHealthy, tc.wantAttempts)
			}
			if int(calls.Load()) != tc.wantAttempts {
				t.Fatalf("server saw %d health calls, want %d", calls.Load(), tc.wantAttempts)
			}
			if tc.wantHealthy && res.ResponseTime <= 0 {
				t.Fatalf("response time not measured: %v", res.ResponseTime)
			}
			if !tc.wantHealthy && res.Error == "" {
				t.Fatal("unhealthy result without an error")
			}
		})
	}
}

func TestHTTPCheckRefusesBadURLs(t *testing.T) {
	p, _ := NewHTTP(time.Second, 1, 0)
	for _, u := range []string{"", "ftp://x/health", "not a url", "http://"} {
		if _, err := p.Check(context.Background(), Target{HealthURL: u}); err == nil {
			t.Errorf("%q: want error", u)
		}
	}
}

func TestHTTPCheckConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	p, _ := NewHTTP(200*time.Millisecond, 2, time.Millisecond)
	res, err := p.Check(context.Background(), Target{HealthURL: addr + "/readyz"})
	if err != nil || res.Healthy || res.Attempts != 2 {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestNewHTTPValidates(t *testing.T) {
	if _, err := NewHTTP(0, 1, 0); err == nil {
		t.Error("zero timeout accepted")
	}
	if _, err := NewHTTP(time.Second, 0, 0); err == nil {
		t.Error("zero attempts accepted")
	}
}
