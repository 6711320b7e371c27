package probe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/temporaldeployer/temporaldeployer/redact"
)

// HTTP probes over real HTTP. It follows no redirects, for the readiness GET as for the predict
// POST: a 3xx is an answer, and not a healthy one (a readiness URL redirecting to a login page
// is not a ready model server).
type HTTP struct {
	client         *http.Client
	attemptTimeout time.Duration
	attempts       int
	backoff        time.Duration
}

var _ Prober = (*HTTP)(nil)

// maxResponseBytes bounds what is read of any answer.
const maxResponseBytes = 1 << 20

// NewHTTP returns a prober: each attempt is bounded by attemptTimeout; up to attempts tries, the
// wait between them starting at backoff and doubling.
func NewHTTP(attemptTimeout time.Duration, attempts int, backoff time.Duration) (*HTTP, error) {
	if attemptTimeout <= 0 || attempts < 1 || backoff < 0 {
		return nil, fmt.Errorf("probe: need a positive timeout and at least one attempt (got %s, %d)", attemptTimeout, attempts)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &HTTP{client: client, attemptTimeout: attemptTimeout, attempts: attempts, backoff: backoff}, nil
}

// Check probes t.HealthURL until it answers 2xx or the attempts run out; then, if healthy and a
// metrics URL is given, checks that it answers 2xx too (an endpoint whose metrics are dark is not
// healthy: nobody could watch it); then, if healthy and a predict URL is given, sends the
// synthetic inference (see Target.PredictURL), with the same timeout and attempts. A bad URL or
// predict body is an error: the probe cannot run.
func (h *HTTP) Check(ctx context.Context, t Target) (Result, error) {
	rows, err := checkTarget(t)
	if err != nil {
		return Result{}, err
	}
	res, err := h.ready(ctx, t.HealthURL)
	if err != nil {
		return res, err
	}
	if res.Healthy && t.MetricsURL != "" {
		res.MetricsChecked = true
		a, err := h.do(ctx, http.MethodGet, t.MetricsURL, nil)
		res.MetricsOK = err == nil && a.code/100 == 2
		if !res.MetricsOK {
			res.Healthy, res.Error = false, describe(http.MethodGet, t.MetricsURL, a, err)
		}
	}
	if t.PredictURL == "" {
		return res, nil
	}
	inf := &InferenceResult{URL: t.PredictURL, RowsSent: rows}
	res.Inference = inf
	switch {
	case len(t.PredictBody) == 0:
		inf.Note = "no input example or signature recorded for the model: readiness only, no inference sent"
	case !res.Healthy:
		inf.Note = "not sent: the workload is not healthy"
	default:
		if err := h.infer(ctx, t, inf); err != nil {
			return res, err
		}
		if !inf.OK {
			res.Healthy, res.Error = false, inf.Error
		}
	}
	return res, nil
}

// ready GETs u until it answers 2xx or the attempts run out; an error only when ctx ends.
func (h *HTTP) ready(ctx context.Context, u string) (Result, error) {
	var res Result
	err := h.retry(ctx, &res.Attempts, func() bool {
		a, err := h.do(ctx, http.MethodGet, u, nil)
		res.StatusCode, res.ResponseTime = a.code, a.took
		res.Healthy = err == nil && a.code/100 == 2
		res.Error = ""
		if !res.Healthy {
			res.Error = describe(http.MethodGet, u, a, err)
		}
		return res.Healthy
	})
	return res, err
}

// retry calls try until it returns true or h.attempts calls were made, counting them in
// *attempts, waiting between them from h.backoff, doubling. It returns ctx's error if ctx ends.
func (h *HTTP) retry(ctx context.Context, attempts *int, try func() bool) error {
	wait := h.backoff
	for *attempts < h.attempts {
		*attempts++
		if try() {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if *attempts < h.attempts {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			wait *= 2
		}
	}
	return nil
}

// answer is one HTTP exchange's outcome.
type answer struct {
	code     int
	took     time.Duration // to the full response
	location string        // of a redirect
	body     []byte        // at most maxResponseBytes+1 bytes
}

// do sends one request bounded by the per-attempt timeout and reads the answer in full.
func (h *HTTP) do(ctx context.Context, method, u string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, h.attemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		return answer{took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	a := answer{code: resp.StatusCode, took: time.Since(start), location: resp.Header.Get("Location"), body: b}
	if err != nil {
		return a, fmt.Errorf("read the answer: %w", err)
	}
	return a, nil
}

// describe says why an exchange was not a healthy answer, redacted: it goes to history and the ledger.
func describe(method, u string, a answer, err error) string {
	switch {
	case err != nil:
		return redact.Text(fmt.Sprintf("%s %s: %v", method, u, err))
	case a.code/100 == 3: // the Location is the server's to choose: a signed or credentialled URL is redacted
		return fmt.Sprintf("%s %s: HTTP %d, a redirect to %q (not followed)", method, u, a.code, redact.URL(a.location))
	}
	return fmt.Sprintf("%s %s: HTTP %d", method, u, a.code)
}

// checkTarget validates t's URLs and predict body; rows is the body's row count (0 without one).
func checkTarget(t Target) (rows int, err error) {
	if err := checkURL(t.HealthURL); err != nil {
		return 0, fmt.Errorf("health url: %w", err)
	}
	if t.MetricsURL != "" {
		if err := checkURL(t.MetricsURL); err != nil {
			return 0, fmt.Errorf("metrics url: %w", err)
		}
	}
	if t.PredictURL == "" {
		if len(t.PredictBody) > 0 {
			return 0, fmt.Errorf("predict body given without a predict url")
		}
		return 0, nil
	}
	if err := checkURL(t.PredictURL); err != nil {
		return 0, fmt.Errorf("predict url: %w", err)
	}
	if len(t.PredictBody) == 0 {
		return 0, nil
	}
	return requestRows(t.PredictBody)
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
