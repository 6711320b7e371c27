package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTP probes over real HTTP.
type HTTP struct {
	client         *http.Client
	attemptTimeout time.Duration
	attempts       int
	backoff        time.Duration
}

var _ Prober = (*HTTP)(nil)

// NewHTTP returns a prober: each attempt is bounded by attemptTimeout; up to attempts tries, the
// wait between them starting at backoff and doubling.
func NewHTTP(attemptTimeout time.Duration, attempts int, backoff time.Duration) (*HTTP, error) {
	if attemptTimeout <= 0 || attempts < 1 || backoff < 0 {
		return nil, fmt.Errorf("probe: need a positive timeout and at least one attempt (got %s, %d)", attemptTimeout, attempts)
	}
	return &HTTP{client: &http.Client{}, attemptTimeout: attemptTimeout, attempts: attempts, backoff: backoff}, nil
}

// Check probes t.HealthURL until it answers 2xx or the attempts run out, then, if healthy and a
// metrics URL is given, checks that it answers 2xx too (an endpoint whose metrics are dark is not
// healthy: nobody could watch it).
func (h *HTTP) Check(ctx context.Context, t Target) (Result, error) {
	if err := checkURL(t.HealthURL); err != nil {
		return Result{}, fmt.Errorf("health url: %w", err)
	}
	if t.MetricsURL != "" {
		if err := checkURL(t.MetricsURL); err != nil {
			return Result{}, fmt.Errorf("metrics url: %w", err)
		}
	}
	var res Result
	wait := h.backoff
	for res.Attempts < h.attempts {
		res.Attempts++
		code, took, err := h.get(ctx, t.HealthURL)
		res.StatusCode, res.ResponseTime = code, took
		if err == nil && code/100 == 2 {
			res.Healthy, res.Error = true, ""
			break
		}
		res.Error = describe(t.HealthURL, code, err)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if res.Attempts < h.attempts {
			if err := sleep(ctx, wait); err != nil {
				return res, err
			}
			wait *= 2
		}
	}
	if res.Healthy && t.MetricsURL != "" {
		res.MetricsChecked = true
		code, _, err := h.get(ctx, t.MetricsURL)
		res.MetricsOK = err == nil && code/100 == 2
		if !res.MetricsOK {
			res.Healthy, res.Error = false, describe(t.MetricsURL, code, err)
		}
	}
	return res, nil
}

// get does one bounded GET and returns the status code and the time to the full response.
func (h *HTTP) get(ctx context.Context, u string) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, time.Since(start), nil
}

func describe(u string, code int, err error) string {
	if err != nil {
		return fmt.Sprintf("GET %s: %v", u, err)
	}
	return fmt.Sprintf("GET %s: HTTP %d", u, code)
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
