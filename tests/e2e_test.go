// Package tests holds the end-to-end tests: the worker binary on a real Temporal dev server,
// against a real MLflow server with a real scikit-learn model, recording into SQLite and
// PostgreSQL, driven through the temporal CLI as a user would.
package tests

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// env is one backend's world: servers, a worker and the store it writes.
type env struct {
	tp        *realparts.Temporal
	approvers realparts.Approvers
	mlflow    string
	dbURL     string
	ledgerKey string // the worker's ledger signing key (its keyring beside it)
	st        *store.SQL
	model     realparts.LoggedModel
	workEnv   []string
	worker    *realparts.Worker
}

func TestEndToEnd(t *testing.T) {
	tp := realparts.StartTemporal(t)
	mlflow := realparts.StartMLflow(t)
	model := realparts.LogSklearnModel(t, mlflow, "e2e")
	backends := []struct{ name, url string }{
		{"sqlite", filepath.Join(t.TempDir(), "deployer.db")},
		{"postgres", os.Getenv("TEST_POSTGRES_URL")},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.url == "" {
				realparts.Require(t, "PostgreSQL (TEST_POSTGRES_URL)", errors.New("TEST_POSTGRES_URL is not set"))
			}
			e := &env{tp: tp, mlflow: mlflow, dbURL: b.url, model: model, approvers: realparts.WriteApprovers(t),
				ledgerKey: filepath.Join(t.TempDir(), "ledger", "worker.jwk")}
			st, err := store.Open(context.Background(), b.url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			e.st = st
			e.workEnv = []string{"TEMPORAL_ADDRESS=" + tp.Address, "MLFLOW_TRACKING_URI=" + mlflow, "DATABASE_URL=" + b.url,
				"DEPLOYER_LOG_LEVEL=debug", e.approvers.Env(), "DEPLOYER_LEDGER_KEY=" + e.ledgerKey,
				// These registry-only promote scenarios take the permissive policy's path: caller-supplied shadow
				// evidence, recorded as such (the measured path runs in gates_e2e_test.go).
				"DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE=true"}
			e.worker = realparts.StartWorker(t, e.workEnv...)
			suffix := fmt.Sprintf("%s-%d", b.name, time.Now().UnixNano()%1e6)
			e.scenarios(t, "fraud-"+suffix, "skip-"+suffix)
		})
	}
}

func (e *env) scenarios(t *testing.T, name, skipName string) {
	t.Run("promote None to Staging through the CLI", func(t *testing.T) { e.promoteToStaging(t, name) })
	t.Run("skip None to Production is denied and changes nothing", func(t *testing.T) { e.skipDenied(t, skipName) })
	t.Run("promote Staging to Shadow", func(t *testing.T) {
		out, err := e.run(t, "shadow-"+name, e.input(name, contract.ActionPromote, contract.EnvShadow, false))
		if err != nil || out.VersionRecord.Stage != contract.StageShadow {
			t.Fatalf("out %+v err %v", out, err)
		}
	})
	t.Run("abort during the approval wait; a concurrent run is refused", func(t *testing.T) { e.abortAndConcurrent(t, name) })
	t.Run("approvals no one can forge; the Python service approves", func(t *testing.T) { e.forgedApprovals(t, "appr-"+name) })
	// Last: the workers it restarts stop with its subtest.
	t.Run("worker crash during the approval wait", func(t *testing.T) { e.crashDuringWait(t, name) })
	t.Run("the ledger verifies; a row edited in the database fails tdctl verify at that row", func(t *testing.T) {
		e.ledgerTamper(t, name)
	})
}

func (e *env) input(name string, action contract.Action, target contract.Environment, shadow bool) map[string]any {
	in := map[string]any{
		"model_uri": e.model.RunsURI(), "experiment_id": e.model.ExperimentID, "deployment_name": name,
		"validation_metrics": map[string]float64{"accuracy": 0.93}, "success_criteria_met": true,
		"deployment_action": action, "target_environment": target, "requested_by": "e2e@example.com",
	}
	if shadow {
		in["shadow_mode_duration_hours"], in["shadow_mode_requests"] = 24, 5000
		in["shadow_mode_error_rate"], in["shadow_mode_latency_p99_ms"] = 0.002, 80
	}
	return in
}

// start starts a run through the temporal CLI.
func (e *env) start(t *testing.T, id string, in map[string]any) {
	t.Helper()
	b, _ := json.Marshal(in)
	e.tp.CLI(t, "workflow", "start", "--type", contract.WorkflowType, "--task-queue", contract.TaskQueue,
		"--workflow-id", id, "--input", string(b))
}

func (e *env) result(t *testing.T, id string) (contract.Output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out contract.Output
	err := e.tp.Client.GetWorkflow(ctx, id, "").Get(ctx, &out)
	return out, err
}

func (e *env) run(t *testing.T, id string, in map[string]any) (contract.Output, error) {
	t.Helper()
	e.start(t, id, in)
	return e.result(t, id)
}

func errType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return ""
}

func (e *env) promoteToStaging(t *testing.T, name string) {
	id := "promote-" + name
	out, err := e.run(t, id, e.input(name, contract.ActionPromote, contract.EnvStaging, false))
	if err != nil {
		t.Fatal(err)
	}
	vr := out.VersionRecord
	if vr.Stage != contract.StageStaging || vr.RegisteredModelName != name || vr.Version == "" || out.Status != contract.StatusPromoted {
		t.Fatalf("output %+v", out)
	}
	// MLflow: the alias points at the version and the stage tag is set.
	var alias struct {
		ModelVersion struct {
			Version string                        `json:"version"`
			Tags    []struct{ Key, Value string } `json:"tags"`
		} `json:"model_version"`
	}
	e.mlflowGET(t, "registered-models/alias", url.Values{"name": {name}, "alias": {"staging"}}, &alias)
	if alias.ModelVersion.Version != vr.Version {
		t.Errorf("alias staging → %q, want %q", alias.ModelVersion.Version, vr.Version)
	}
	if tag := tagValue(alias.ModelVersion.Tags, "temporaldeployer.stage"); tag != "Staging" {
		t.Errorf("stage tag %q", tag)
	}
	// Records: the registry row and the ledger.
	ctx := context.Background()
	row, found, err := e.st.RegistryEntry(ctx, name, vr.Version)
	if err != nil || !found || row.Stage != "Staging" || row.ModelURI != e.model.RunsURI() {
		t.Errorf("ml_model_registry row %+v found=%v err=%v", row, found, err)
	}
	gates := e.gates(t, id)
	for _, g := range []string{"success_criteria:allowed", "stage_ladder:allowed", "stage_change:promoted"} {
		if gates[g] != 1 {
			t.Errorf("ledger %v lacks %s", gates, g)
		}
	}
}

func (e *env) skipDenied(t *testing.T, name string) {
	id := "skip-" + name
	_, err := e.run(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	if errType(err) != contract.ErrPromotionDenied {
		t.Fatalf("got %v, want PromotionDenied", err)
	}
	var versions struct {
		ModelVersions []any `json:"model_versions"`
	}
	e.mlflowGET(t, "model-versions/search", url.Values{"filter": {fmt.Sprintf("name='%s'", name)}}, &versions)
	if len(versions.ModelVersions) != 0 {
		t.Errorf("a denied skip registered %d versions", len(versions.ModelVersions))
	}
	if deps, err := e.st.Deployments(context.Background(), name); err != nil || len(deps) != 0 {
		t.Errorf("deployments %v err %v", deps, err)
	}
	if g := e.gates(t, id); g["stage_ladder:denied"] != 1 || g["stage_change:promoted"] != 0 {
		t.Errorf("ledger %v", g)
	}
}

func (e *env) abortAndConcurrent(t *testing.T, name string) {
	id := "prod-abort-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, "approval")
	_, err := e.run(t, "prod-second-"+name, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	if errType(err) != contract.ErrConcurrentDeployment {
		t.Fatalf("second run: got %v, want ConcurrentDeployment", err)
	}
	if out, code := e.tdctl(t, "abort", "-reason", "bad canary metrics upstream", "-by", "oncall@example.com", id); code != 0 {
		t.Fatalf("tdctl abort: exit %d\n%s", code, out)
	}
	_, err = e.result(t, id)
	if errType(err) != contract.ErrAborted {
		t.Fatalf("got %v, want Aborted", err)
	}
	if g := e.gates(t, id); g["run_outcome:aborted"] != 1 || g["stage_change:promoted"] != 0 {
		t.Errorf("ledger %v", g)
	}
	if _, held, _ := e.st.Lock(context.Background(), name, "production"); held {
		t.Error("lock still held after the abort")
	}
}

func (e *env) crashDuringWait(t *testing.T, name string) {
	id := "prod-crash-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, "approval")
	e.worker.Kill()
	e.worker = realparts.StartWorker(t, e.workEnv...)
	e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
	out, err := e.result(t, id)
	if err != nil || out.VersionRecord.Stage != contract.StageProduction {
		t.Fatalf("out %+v err %v", out, err)
	}
	var versions struct {
		ModelVersions []any `json:"model_versions"`
	}
	e.mlflowGET(t, "model-versions/search", url.Values{"filter": {fmt.Sprintf("name='%s'", name)}}, &versions)
	if len(versions.ModelVersions) != 1 {
		t.Errorf("%d registry versions of %s, want exactly 1", len(versions.ModelVersions), name)
	}
	if g := e.gates(t, id); g["stage_change:promoted"] != 1 || g["approval:approved"] != 1 || g["shadow_criteria:passed"] != 1 {
		t.Errorf("ledger %v: want each decision exactly once", g)
	}
	e.replay(t, id)
	if ok, err := e.worker.Stop(); !ok || err != nil {
		t.Errorf("graceful stop on SIGTERM: ok=%v err=%v", ok, err)
	}
	e.worker = realparts.StartWorker(t, e.workEnv...)
}

// waitFor polls the status query until the run waits for what.
func (e *env) waitFor(t *testing.T, id, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := e.tp.AwaitStatus(ctx, id, what); err != nil {
		t.Fatal(err)
	}
}

// gates counts ledger entries of a workflow as "gate:verdict".
func (e *env) gates(t *testing.T, workflowID string) map[string]int {
	t.Helper()
	ds, err := e.st.Decisions(context.Background(), workflowID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		out[d.Gate+":"+d.Verdict]++
	}
	return out
}

func (e *env) mlflowGET(t *testing.T, path string, q url.Values, out any) {
	t.Helper()
	mlflowGET(t, e.mlflow, path, q, out)
}

// mlflowGET reads one of MLflow's REST endpoints at base into out.
func mlflowGET(t *testing.T, base, path string, q url.Values, out any) {
	t.Helper()
	resp, err := http.Get(base + "/api/2.0/mlflow/" + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func tagValue(tags []struct{ Key, Value string }, key string) string {
	for _, tg := range tags {
		if tg.Key == key {
			return tg.Value
		}
	}
	return ""
}

// ledgerTamper: tdctl verify recomputes the deployment's sealed ledger and passes; after one
// row's reason is edited behind the worker's back, verify fails naming that row; the JSONL export
// carries every entry with its seal.
func (e *env) ledgerTamper(t *testing.T, name string) {
	tdEnv := []string{"DATABASE_URL=" + e.dbURL, "DEPLOYER_LEDGER_KEY=" + e.ledgerKey}
	out, code := realparts.TDCtl(t, tdEnv, "verify", "-deployment", name)
	if code != 0 || !strings.Contains(out, "0 unsealed") || strings.Contains(out, " 0 verified") {
		t.Fatalf("tdctl verify: exit %d\n%s", code, out)
	}
	exported, code := realparts.TDCtl(t, tdEnv, "export", "-deployment", name)
	if lines := strings.Count(exported, "\n"); code != 0 || lines < 5 || !strings.Contains(exported, `"signature":"`) {
		t.Fatalf("tdctl export: exit %d, %d lines\n%s", code, lines, exported)
	}
	driver, q := "sqlite", "UPDATE evidence_ledger SET reason = reason || ' (edited)' WHERE key = ?"
	if strings.HasPrefix(e.dbURL, "postgres") {
		driver, q = "pgx", strings.Replace(q, "?", "$1", 1)
	}
	db, err := sql.Open(driver, e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var key string
	if err := db.QueryRow(strings.Replace("SELECT key FROM evidence_ledger WHERE deployment_name = ? ORDER BY id LIMIT 1 OFFSET 2",
		"?", map[string]string{"sqlite": "?", "pgx": "$1"}[driver], 1), name).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(q, key); err != nil {
		t.Fatal(err)
	}
	out, code = realparts.TDCtl(t, tdEnv, "verify", "-deployment", name)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("FAILED at entry seq 3 (key %q", key)) || !strings.Contains(out, "content_edited") {
		t.Fatalf("tdctl verify after editing %s: exit %d\n%s", key, code, out)
	}
}
