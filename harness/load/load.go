// Package load is a bounded synthetic load generator for tests and the demo — a harness, not part
// of the production path. It sends real POST /predict requests at a set rate to the live workloads
// of a deployment on loopback, split between stable and canary by the canary weight, and copies each
// request to the shadow (the mirror a real cluster's Gateway does). Every run is bounded in count
// and time, and only loopback addresses are ever sent to.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Targets are the base URLs to send to, by role.
type Targets struct {
	Stable, Canary, Shadow []string
}

// Config bounds and shapes a run.
type Config struct {
	Rate     float64       // requests per second, in (0, 2000]
	Count    int           // at most this many live requests, in [1, 1e6]
	Duration time.Duration // at most this long, in (0, 48h]
	Body     []byte        // the predict request body, JSON (or Inputs)
	// Inputs, when set, draws every request's body instead of Body (inputs.go).
	Inputs      *Gaussian
	Concurrency int           // requests in flight at once; default 4
	Timeout     time.Duration // per request; default 5s
	// Targets says where the workloads are now; re-read every Refresh (default 1s).
	Targets func(ctx context.Context) (Targets, error)
	// Weight is the canary's share in percent; re-read every Refresh. Nil: 0 %.
	Weight  func(ctx context.Context) (int, error)
	Refresh time.Duration
}

// Counts are what one role's requests got.
type Counts struct {
	Sent, OK, Client4xx, Server5xx, Transport int
}

// Report is a run's outcome.
type Report struct {
	Stable, Canary, Shadow Counts
	WeightsSeen            []int
	RefreshErrors          int
	Took                   time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("stable %+v canary %+v shadow %+v weights %v refresh errors %d in %s",
		r.Stable, r.Canary, r.Shadow, r.WeightsSeen, r.RefreshErrors, r.Took.Round(time.Millisecond))
}

func (c *Config) check() error {
	switch {
	case !(c.Rate > 0 && c.Rate <= 2000):
		return fmt.Errorf("load: rate %g must be in (0, 2000] per second", c.Rate)
	case c.Count < 1 || c.Count > 1_000_000:
		return fmt.Errorf("load: count %d must be in [1, 1000000]", c.Count)
	case c.Duration <= 0 || c.Duration > 48*time.Hour:
		return fmt.Errorf("load: duration %s must be in (0, 48h]", c.Duration)
	case len(c.Body) == 0 && c.Inputs == nil:
		return errors.New("load: a body or inputs are required")
	case c.Targets == nil:
		return errors.New("load: targets are required")
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Refresh <= 0 {
		c.Refresh = time.Second
	}
	return nil
}

// CheckLoopback refuses any base URL whose host is not a loopback address or localhost.
func CheckLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("load: %q is not a URL", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("load: %s is not a loopback address: refusing to send it traffic", base)
}

// Split says whether live request i (0-based) goes to the canary at weight percent: exactly
// weight of every 100 consecutive requests do, spread evenly.
func Split(i, weight int) bool {
	if weight <= 0 {
		return false
	}
	if weight >= 100 {
		return true
	}
	return (i+1)*weight/100 > i*weight/100
}

// Run sends load until Count live requests were sent, Duration passed or ctx ends.
func Run(ctx context.Context, c Config) (Report, error) {
	if err := c.check(); err != nil {
		return Report{}, err
	}
	r := &runner{c: c, client: &http.Client{Timeout: c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if c.Inputs != nil {
		d, err := newDrawer(c.Inputs)
		if err != nil {
			return Report{}, err
		}
		r.inputs = d
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	start := time.Now()
	err := r.loop(ctx)
	r.wg.Wait()
	r.rep.Took = time.Since(start)
	return r.rep, err
}

type runner struct {
	c       Config
	inputs  *drawer // nil: c.Body
	client  *http.Client
	mu      sync.Mutex
	rep     Report
	wg      sync.WaitGroup
	targets Targets
	weight  int
	next    time.Time
}

func (r *runner) loop(ctx context.Context) error {
	sem := make(chan struct{}, r.c.Concurrency)
	tick := time.NewTicker(time.Duration(float64(time.Second) / r.c.Rate))
	defer tick.Stop()
	rr := map[string]int{}
	for i := 0; i < r.c.Count; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := r.refresh(ctx); err != nil {
			return err
		}
		role, pool := "stable", r.targets.Stable
		if Split(i, r.weight) && len(r.targets.Canary) > 0 {
			role, pool = "canary", r.targets.Canary
		}
		live, shadow := r.c.Body, r.c.Body
		if r.inputs != nil {
			live, shadow = r.inputs.next()
		}
		sends := []send{}
		if len(pool) > 0 {
			sends = append(sends, send{role, pool[rr[role]%len(pool)], live})
			rr[role]++
		}
		for _, s := range r.targets.Shadow {
			sends = append(sends, send{"shadow", s, shadow})
		}
		for _, s := range sends {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			r.wg.Add(1)
			go func(s send) {
				defer func() { <-sem; r.wg.Done() }()
				r.post(ctx, s)
			}(s)
		}
	}
	return nil
}

type send struct {
	role, base string
	body       []byte
}

// refresh re-reads targets and weight when due; a bad target address stops the run.
func (r *runner) refresh(ctx context.Context) error {
	if time.Now().Before(r.next) {
		return nil
	}
	r.next = time.Now().Add(r.c.Refresh)
	t, err := r.c.Targets(ctx)
	if err != nil {
		r.count(func(rep *Report) { rep.RefreshErrors++ })
	} else {
		for _, b := range append(append(append([]string(nil), t.Stable...), t.Canary...), t.Shadow...) {
			if err := CheckLoopback(b); err != nil {
				return err
			}
		}
		r.targets = t
	}
	if r.c.Weight == nil {
		return nil
	}
	w, err := r.c.Weight(ctx)
	if err != nil {
		r.count(func(rep *Report) { rep.RefreshErrors++ })
		return nil
	}
	if w != r.weight || len(r.rep.WeightsSeen) == 0 {
		r.count(func(rep *Report) { rep.WeightsSeen = append(rep.WeightsSeen, w) })
	}
	r.weight = w
	return nil
}

func (r *runner) post(ctx context.Context, s send) {
	code := 0
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/predict", bytes.NewReader(s.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = r.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
	}
	if ctx.Err() != nil && err != nil {
		return // cut off by the run's end: not a result
	}
	r.count(func(rep *Report) {
		c := map[string]*Counts{"stable": &rep.Stable, "canary": &rep.Canary, "shadow": &rep.Shadow}[s.role]
		c.Sent++
		switch {
		case err != nil:
			c.Transport++
		case code/100 == 2:
			c.OK++
		case code/100 == 4:
			c.Client4xx++
		case code/100 == 5:
			c.Server5xx++
		}
	})
}

func (r *runner) count(f func(*Report)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.rep)
}
