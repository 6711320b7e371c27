package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// deployCrash is a kill point on the deploy path: when a production deploy schedules the nth
// activity of a type. Each point is one run, deploying the next model version. A faulty point's
// version fails its canary (every request errors): its run is rolled back, so the kill there lands
// in the compensation. A point with no activity is a run without a kill (the stable the others
// canary against, when a chosen set does not start with the first point).
type deployCrash struct {
	activity string
	nth      int
	what     string
	faulty   bool
}

// deployCrashes are the kill points, in the order of the versions they deploy. The first run is
// the first to Production (no canary), the others canary against the stable (steps 5, 20, 50,
// 100 %). TD_CRASH_MATRIX=all runs every one (make crash-matrix); TD_DEPLOY_CRASH_POINTS a chosen
// set by number ("9,11,12"); the default is the short set that fits CI.
func deployCrashes(t *testing.T) []deployCrash {
	all := []deployCrash{
		{"PackageModel", 1, "during packaging", false},
		{"SetTrafficWeight", 2, "at the canary's 20 % step", false},
		{"RestoreWorkload", 1, "in the compensation of a failed canary", true},
		{"DeployWorkload", 1, "in the staging rollout", false},
		{"CheckHealth", 1, "in staging's health check", false},
		{"HoldShadow", 1, "in the shadow hold", false},
		{"DeployWorkload", 3, "in the canary's rollout", false},
		{"SetTrafficWeight", 1, "at the canary's 5 % step", false},
		{"WatchCanary", 2, "in the canary's analysis at 20 %", false},
		{"SetTrafficWeight", 3, "at the canary's 50 % step", false},
		{"SetTrafficWeight", 4, "at the canary's 100 % step", false},
		{"PromoteCanary", 1, "in the canary's promotion", false},
	}
	chosen, err := pickPoints(all, os.Getenv("TD_CRASH_MATRIX"), os.Getenv("TD_DEPLOY_CRASH_POINTS"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if chosen[0] != all[0] {
		chosen = append([]deployCrash{{what: "no kill: the stable to canary against"}}, chosen...)
	}
	return chosen
}

// pickPoints chooses a matrix's points: every one for matrix "all", those numbered (from 1) in
// numbers, else the first short.
func pickPoints[P any](all []P, matrix, numbers string, short int) ([]P, error) {
	switch {
	case numbers != "":
		var out []P
		for _, f := range strings.Split(numbers, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > len(all) {
				return nil, fmt.Errorf("crash point %q: want a number from 1 to %d", f, len(all))
			}
			out = append(out, all[n-1])
		}
		return out, nil
	case matrix == "all":
		return all, nil
	}
	return all[:short], nil
}

// TestDeployCrashMatrix kills the worker with SIGKILL at points of production deploys (packaging,
// rollouts, the shadow hold, each canary weight, promotion, compensation) and starts a new one.
// The loopback harness, like a cluster's pods, outlives the worker. Every run reaches exactly one
// final state: Production, or (the faulty version) rolled back to the stable at 100 %; never a
// split left behind, one registry version per deploy, one row per environment and run, no ledger
// entry twice, no lock held, a history that replays. The runs ask for the policy's loosest p99
// bar: what is under test is the crash, and a loaded 2-core machine's latency is not; the faulty
// version still fails on its error rate.
func TestDeployCrashMatrix(t *testing.T) {
	points := deployCrashes(t)
	faults := ""
	for i, p := range points {
		if p.faulty {
			faults = fmt.Sprintf("%d/canary:TD_FAULT=error", i+1)
		}
	}
	g := startGatesWorld(t, len(points), faults)
	top := t // workers outlive each subtest
	var table []string
	for i, p := range points {
		version := i + 1
		id := fmt.Sprintf("crash-deploy-v%d-%s", version, g.ns)
		t.Run(fmt.Sprintf("v%d %s", version, p.what), func(t *testing.T) {
			recovered, hit := g.deployWithCrash(t, top, id, version, p)
			if p.activity == "" {
				return
			}
			how := "hit: the new worker finished the run"
			if !hit {
				how = "missed: the run had ended before the kill"
			}
			end := "Production"
			if p.faulty {
				end = "rolled back, stable 100 %"
			}
			line := fmt.Sprintf("%-44s → %s, no split, registry/rows/ledger once; %s, in %s",
				fmt.Sprintf("%s #%d (%s)", p.activity, p.nth, p.what), end, how, recovered.Round(100*time.Millisecond))
			t.Log(line) // as it goes: a long matrix stopped early still says what it proved
			table = append(table, line)
		})
	}
	t.Logf("deploy crash matrix:\n%s", strings.Join(table, "\n"))
}

// crashInput is the production deploy of model m at the policy's loosest p99 bar.
func (g *gatesWorld) crashInput(t *testing.T, m realparts.LoggedModel) string {
	var in map[string]any
	if err := json.Unmarshal([]byte(g.input(m)), &in); err != nil {
		t.Fatal(err)
	}
	in["canary_analysis"].(map[string]any)["max_p99_ms"] = 1000
	b, _ := json.Marshal(in)
	return string(b)
}

// deployWithCrash runs one production deploy of model version, killing the worker at p (none for
// a point with no activity), and checks the invariants; it returns the time from the kill to the
// result and whether the kill hit the open run.
func (g *gatesWorld) deployWithCrash(t, top *testing.T, id string, version int, p deployCrash) (time.Duration, bool) {
	before, _, _ := g.k.Current(context.Background(), g.name, "production") // the stable a rollback goes back to
	kill := make(chan killed, 1)
	go func() {
		if p.activity == "" {
			kill <- killed{at: time.Now()}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := awaitScheduled(ctx, g.tp, id, p.activity, p.nth); err != nil {
			kill <- killed{err: err}
			return
		}
		kill <- restartWorker(ctx, top, g.tp, id, &g.worker, g.workEnv)
	}()
	_, err := g.deployInput(t, id, g.crashInput(t, g.models[version-1]))
	k := <-kill
	if k.err != nil {
		t.Fatalf("%v; the run ended with: %v", k.err, err)
	}
	recovered := time.Since(k.at)
	hit := k.open && lastWorkflowTaskPid(t, g.tp, id) == g.worker.Pid()
	stable := fmt.Sprint(version)
	if p.faulty {
		if errType(err) != contract.ErrAnalysisFailed {
			t.Fatalf("v%d: %v, want AnalysisFailed and a rollback", version, err)
		}
		g.rolledBackTo(t, id, before.ModelVersion)
		stable = before.ModelVersion
	} else if err != nil {
		t.Fatalf("v%d: %v", version, err)
	}
	g.checkDeployOnce(t, id, version, stable)
	replayRecorded(t, g.tp, id, "")
	return recovered, hit
}

// rolledBackTo: the run's restore was verified, and the stable runs version.
func (g *gatesWorld) rolledBackTo(t *testing.T, id, version string) {
	t.Helper()
	if v := g.decisions(t, id, contract.GateRollbackVerified); len(v) != 1 || v[0].Verdict != contract.VerdictPassed {
		t.Errorf("rollback_verified %+v, want one, passed", v)
	}
	if s, _, _ := g.k.Current(context.Background(), g.name, "production"); s.ModelVersion != version {
		t.Errorf("stable runs v%s, want v%s", s.ModelVersion, version)
	}
}

// checkDeployOnce: no split (weight 0, no canary pods), production's stable at stableVersion, one
// registry version per deploy so far, one row per environment of the run, no ledger entry twice,
// production's lock free.
func (g *gatesWorld) checkDeployOnce(t *testing.T, id string, version int, stableVersion string) {
	t.Helper()
	ctx := context.Background()
	if w, err := g.k.Weight(ctx, g.name, "production"); err != nil || w != 0 {
		t.Errorf("canary weight %d (%v) after the run, want 0", w, err)
	}
	deps, err := g.cs.AppsV1().Deployments(g.ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelName + "=" + g.name})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		if d.Spec.Template.Labels[kube.LabelRole] == string(kube.RoleCanary) && d.Spec.Replicas != nil && *d.Spec.Replicas != 0 {
			t.Errorf("canary %s still has %d replicas", d.Name, *d.Spec.Replicas)
		}
	}
	if s, _, _ := g.k.Current(ctx, g.name, "production"); s.ModelVersion != stableVersion {
		t.Errorf("production's stable runs v%s, want v%s", s.ModelVersion, stableVersion)
	}
	var versions struct {
		ModelVersions []any `json:"model_versions"`
	}
	mlflowGET(t, g.mlflow, "model-versions/search", url.Values{"filter": {fmt.Sprintf("name='%s'", g.name)}}, &versions)
	if len(versions.ModelVersions) != version {
		t.Errorf("%d registry versions of %s, want %d", len(versions.ModelVersions), g.name, version)
	}
	rows, err := g.st.Deployments(ctx, g.name)
	if err != nil {
		t.Fatal(err)
	}
	perEnv := map[string]int{}
	for _, r := range rows {
		if r.WorkflowID == id {
			perEnv[r.Environment]++
		}
	}
	for env, n := range perEnv {
		if n != 1 {
			t.Errorf("%d rows of %s for %s, want 1", n, id, env)
		}
	}
	checkLedgerOnce(t, g.st, id)
	if _, held, err := g.st.Lock(ctx, g.name, "production"); held || err != nil {
		t.Errorf("production lock still held (%v)", err)
	}
}

// checkLedgerOnce: no two of the run's ledger entries say the same thing (a decision recorded
// again by a retried or replayed step would).
func checkLedgerOnce(t *testing.T, st *store.SQL, id string) {
	t.Helper()
	ds, err := st.Decisions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range ds {
		in, _ := json.Marshal(d.Inputs)
		k := strings.Join([]string{d.Gate, d.Verdict, d.Reason, d.Actor, string(in)}, "\x00")
		if seen[k] {
			t.Errorf("ledger entry twice: %s/%s %q", d.Gate, d.Verdict, d.Reason)
		}
		seen[k] = true
	}
}

// TestPickPoints: a matrix runs every point, a chosen set or its short set; a bad number is refused.
func TestPickPoints(t *testing.T) {
	all := []int{10, 20, 30, 40}
	for _, tc := range []struct {
		matrix, numbers string
		want            []int
		err             string
	}{
		{"", "", []int{10, 20}, ""},
		{"all", "", all, ""},
		{"all", "3, 1", []int{30, 10}, ""},
		{"", "5", nil, `"5": want a number from 1 to 4`},
		{"", "x", nil, `"x"`},
	} {
		got, err := pickPoints(all, tc.matrix, tc.numbers, 2)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("pickPoints(%q, %q): %v, want an error naming %s", tc.matrix, tc.numbers, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("pickPoints(%q, %q) = %v, %v; want %v", tc.matrix, tc.numbers, got, err, tc.want)
		}
	}
}
