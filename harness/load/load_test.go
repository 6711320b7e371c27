package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/harness"
)

func server(t *testing.T, code int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func TestSplitIsExact(t *testing.T) {
	for _, w := range []int{0, 5, 20, 33, 50, 100} {
		n := 0
		for i := 0; i < 1000; i++ {
			if Split(i, w) {
				n++
			}
		}
		if n != w*10 {
			t.Errorf("weight %d: %d of 1000 to the canary, want %d", w, n, w*10)
		}
	}
}

// TestRunSplitsAndMirrors: live requests split by the weight, each copied to the shadow; a
// failing canary's answers are counted as 5xx, shadow answers apart from live ones.
func TestRunSplitsAndMirrors(t *testing.T) {
	stable, ns := server(t, 200)
	canary, nc := server(t, 500)
	shadow, nsh := server(t, 200)
	rep, err := Run(context.Background(), Config{Rate: 500, Count: 100, Duration: time.Minute, Body: []byte(`{"rows":[[1]]}`),
		Targets: func(context.Context) (Targets, error) {
			return Targets{Stable: []string{stable.URL}, Canary: []string{canary.URL}, Shadow: []string{shadow.URL}}, nil
		},
		Weight: func(context.Context) (int, error) { return 20, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Load() != 80 || nc.Load() != 20 || nsh.Load() != 100 {
		t.Errorf("stable %d canary %d shadow %d, want 80/20/100", ns.Load(), nc.Load(), nsh.Load())
	}
	if rep.Canary.Server5xx != 20 || rep.Stable.OK != 80 || rep.Shadow.Sent != 100 || rep.Stable.Server5xx != 0 {
		t.Errorf("report %v", rep)
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	_, err := Run(context.Background(), Config{Rate: 100, Count: 10, Duration: time.Minute, Body: []byte(`{}`),
		Targets: func(context.Context) (Targets, error) { return Targets{Stable: []string{"http://10.1.2.3:3000"}}, nil }})
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("got %v", err)
	}
}

func TestRunBounds(t *testing.T) {
	s, n := server(t, 200)
	targets := func(context.Context) (Targets, error) { return Targets{Stable: []string{s.URL}}, nil }
	if _, err := Run(context.Background(), Config{Rate: 1000, Count: 7, Duration: time.Minute, Body: []byte(`{}`), Targets: targets}); err != nil || n.Load() != 7 {
		t.Errorf("count bound: %d sent, %v", n.Load(), err)
	}
	rep, err := Run(context.Background(), Config{Rate: 10, Count: 1_000_000, Duration: 300 * time.Millisecond, Body: []byte(`{}`), Targets: targets})
	if err != nil || rep.Stable.Sent >= 1000 {
		t.Errorf("duration bound: %v, %v", rep, err)
	}
	for _, c := range []Config{{Rate: 0, Count: 1, Duration: time.Second}, {Rate: 1, Count: 0, Duration: time.Second},
		{Rate: 1, Count: 1, Duration: 49 * time.Hour}, {Rate: 3000, Count: 1, Duration: time.Second}} {
		c.Body, c.Targets = []byte(`{}`), targets
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestFromTargetsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	groups := []harness.TargetGroup{
		{Targets: []string{"127.0.0.1:1"}, Labels: map[string]string{"td_deployment": "d", "td_environment": "staging", "td_role": "stable"}},
		{Targets: []string{"127.0.0.1:2"}, Labels: map[string]string{"td_deployment": "d", "td_environment": "shadow", "td_role": "shadow"}},
		{Targets: []string{"127.0.0.1:3"}, Labels: map[string]string{"td_deployment": "other", "td_environment": "staging", "td_role": "stable"}},
	}
	if err := harness.WriteTargets(path, groups); err != nil {
		t.Fatal(err)
	}
	got, err := FromTargetsFile(path, "d", "")(context.Background())
	if err != nil || len(got.Stable) != 1 || got.Stable[0] != "http://127.0.0.1:1" || len(got.Shadow) != 1 || len(got.Canary) != 0 {
		t.Errorf("staging live: %+v %v", got, err)
	}
	groups = append(groups,
		harness.TargetGroup{Targets: []string{"127.0.0.1:4"}, Labels: map[string]string{"td_deployment": "d", "td_environment": "production", "td_role": "stable"}},
		harness.TargetGroup{Targets: []string{"127.0.0.1:5"}, Labels: map[string]string{"td_deployment": "d", "td_environment": "production", "td_role": "canary"}})
	if err := harness.WriteTargets(path, groups); err != nil {
		t.Fatal(err)
	}
	got, _ = FromTargetsFile(path, "d", "")(context.Background())
	if len(got.Stable) != 1 || got.Stable[0] != "http://127.0.0.1:4" || len(got.Canary) != 1 {
		t.Errorf("production live: %+v", got)
	}
	// At 100 % the replica router scales production's stable to zero: its server goes, and the
	// canary alone is production's live traffic (not staging's).
	var canaryAlone []harness.TargetGroup
	for _, g := range groups {
		if g.Targets[0] != "127.0.0.1:4" {
			canaryAlone = append(canaryAlone, g)
		}
	}
	if err := harness.WriteTargets(path, canaryAlone); err != nil {
		t.Fatal(err)
	}
	got, _ = FromTargetsFile(path, "d", "")(context.Background())
	if len(got.Stable) != 0 || len(got.Canary) != 1 || got.Canary[0] != "http://127.0.0.1:5" {
		t.Errorf("production's canary at 100 %%: %+v, want the canary live", got)
	}
	_ = os.Remove(path)
}
