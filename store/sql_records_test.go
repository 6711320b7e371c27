package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/store"
)

func recordCases() []storeCase {
	return []storeCase{
		{"commit writes every part and reads back", testCommitRoundTrip},
		{"commit is atomic", testCommitAtomic},
		{"commit upserts deployments and registry entries", testCommitUpsert},
		{"duplicate decision keys are ignored", testDuplicateDecisions},
		{"decisions are listed oldest first", testDecisionOrder},
		{"last known good: newest healthy, excluding one", testLastKnownGood},
		{"one healthy row per environment: the others are superseded", testSuperseded},
		{"JSON columns round-trip", testJSONRoundTrip},
		{"timestamps round-trip in UTC with sub-second precision", testTimestamps},
		{"count rows accepts only store tables", testCountRowsWhitelist},
		{"NUL characters are stored as U+FFFD, never fail the write", testNULSafe},
	}
}

func testCommitRoundTrip(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	dep := deployment("dep-1", "fraud-detector", "staging", store.StatusHealthy, base)
	at := base.Add(time.Minute)
	reg := registryEntry("fraud-detector", "7", &at)
	decs := []store.Decision{decision("k1", dep.WorkflowID, base), decision("k2", dep.WorkflowID, base.Add(time.Second))}
	if err := s.Commit(ctx, store.Change{Deployment: &dep, Registry: &reg, Decisions: decs}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got, found, err := s.Deployment(ctx, "dep-1")
	if err != nil || !found {
		t.Fatalf("Deployment = %v, %v", found, err)
	}
	if want := wantDeployment(dep); !reflect.DeepEqual(got, want) {
		t.Fatalf("Deployment:\n got %+v\nwant %+v", got, want)
	}
	list, err := s.Deployments(ctx, "fraud-detector")
	if err != nil || len(list) != 1 || list[0].DeploymentID != "dep-1" {
		t.Fatalf("Deployments = %+v, %v", list, err)
	}
	gotReg, found, err := s.RegistryEntry(ctx, "fraud-detector", "7")
	if err != nil || !found {
		t.Fatalf("RegistryEntry = %v, %v", found, err)
	}
	wantAt := stored(at)
	wantReg := reg
	wantReg.DeployedAt, wantReg.UpdatedAt = &wantAt, stored(reg.UpdatedAt)
	if !reflect.DeepEqual(gotReg, wantReg) {
		t.Fatalf("RegistryEntry:\n got %+v\nwant %+v", gotReg, wantReg)
	}
	gotDecs, err := s.Decisions(ctx, dep.WorkflowID)
	if err != nil || len(gotDecs) != 2 {
		t.Fatalf("Decisions = %+v, %v", gotDecs, err)
	}
	for i := range decs {
		want := decs[i]
		want.DecidedAt = stored(want.DecidedAt)
		if !reflect.DeepEqual(gotDecs[i], want) {
			t.Fatalf("Decision %d:\n got %+v\nwant %+v", i, gotDecs[i], want)
		}
	}
	if err := s.Commit(ctx, store.Change{}); err != nil {
		t.Fatalf("empty Commit: %v", err)
	}
}

func testCommitAtomic(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	orig := deployment("dep-1", "fraud-detector", "staging", store.StatusInProgress, base)
	if err := s.Commit(ctx, store.Change{Deployment: &orig}); err != nil {
		t.Fatal(err)
	}
	before := counts(t, s)

	updated := orig
	updated.Status = store.StatusHealthy
	reg := registryEntry("fraud-detector", "7", nil)
	badStatus := orig
	badStatus.DeploymentID, badStatus.Status = "dep-2", "exploded"
	badRegistry := registryEntry("", "7", nil)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		c    store.Change
	}{
		{"last decision violates a constraint", ctx, store.Change{Deployment: &updated, Registry: &reg,
			Decisions: []store.Decision{decision("k1", "wf", base), decision("", "wf", base)}}},
		{"deployment violates the status check", ctx, store.Change{Deployment: &badStatus,
			Decisions: []store.Decision{decision("k2", "wf", base)}}},
		{"registry entry without a name", ctx, store.Change{Deployment: &updated, Registry: &badRegistry,
			Decisions: []store.Decision{decision("k3", "wf", base)}}},
		{"cancelled context", cancelled, store.Change{Deployment: &updated, Registry: &reg,
			Decisions: []store.Decision{decision("k4", "wf", base)}}},
	} {
		if err := s.Commit(tc.ctx, tc.c); err == nil {
			t.Fatalf("%s: Commit succeeded, want an error", tc.name)
		}
		if got := counts(t, s); !reflect.DeepEqual(got, before) {
			t.Fatalf("%s: rows changed by a failed Commit: %v, want %v", tc.name, got, before)
		}
		got, _, err := s.Deployment(ctx, "dep-1")
		if err != nil || got.Status != store.StatusInProgress {
			t.Fatalf("%s: deployment after failed Commit = %+v, %v; want it unchanged", tc.name, got, err)
		}
	}
}

func testCommitUpsert(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	dep := deployment("dep-1", "fraud-detector", "staging", store.StatusInProgress, base)
	reg := registryEntry("fraud-detector", "7", nil)
	if err := s.Commit(ctx, store.Change{Deployment: &dep, Registry: &reg}); err != nil {
		t.Fatal(err)
	}
	dep.Status, dep.Replicas, dep.HealthPassed = store.StatusHealthy, 3, true
	dep.Autoscaling = map[string]any{"min_replicas": 2.0}
	dep.Manifest = nil
	dep.DeployedAt = base.Add(time.Hour)
	at := base.Add(time.Hour)
	reg.Stage, reg.DeploymentID, reg.DeployedAt, reg.UpdatedAt = "Production", "dep-1", &at, at
	if err := s.Commit(ctx, store.Change{Deployment: &dep, Registry: &reg}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Deployment(ctx, "dep-1")
	if err != nil || !reflect.DeepEqual(got, wantDeployment(dep)) {
		t.Fatalf("upserted Deployment = %+v, %v\nwant %+v", got, err, wantDeployment(dep))
	}
	gotReg, _, err := s.RegistryEntry(ctx, "fraud-detector", "7")
	if err != nil || gotReg.Stage != "Production" || gotReg.DeploymentID != "dep-1" ||
		gotReg.DeployedAt == nil || !gotReg.DeployedAt.Equal(stored(at)) || !gotReg.UpdatedAt.Equal(stored(at)) {
		t.Fatalf("upserted RegistryEntry = %+v, %v", gotReg, err)
	}
	if c := counts(t, s); c["ml_deployments"] != 1 || c["ml_model_registry"] != 1 {
		t.Fatalf("counts after upsert = %v, want one row each", c)
	}
}

func testDuplicateDecisions(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	first := decision("k1", "wf", base)
	if err := s.Commit(ctx, store.Change{Decisions: []store.Decision{first}}); err != nil {
		t.Fatal(err)
	}
	retry := first
	retry.Verdict, retry.Reason = "denied", "a retried write must not change the ledger"
	second := decision("k2", "wf", base.Add(time.Second))
	if err := s.Commit(ctx, store.Change{Decisions: []store.Decision{retry, second, second}}); err != nil {
		t.Fatalf("Commit with duplicate keys: %v", err)
	}
	got, err := s.Decisions(ctx, "wf")
	if err != nil || len(got) != 2 {
		t.Fatalf("Decisions = %+v, %v; want 2", got, err)
	}
	if got[0].Key != "k1" || got[0].Verdict != "allowed" || got[1].Key != "k2" {
		t.Fatalf("Decisions = %+v; want k1 (allowed) then k2", got)
	}
}

func testDecisionOrder(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	commits := [][]store.Decision{
		{decision("late", "wf", base.Add(time.Hour))},
		{decision("early", "wf", base), decision("tie-a", "wf", base.Add(time.Minute))},
		{decision("tie-b", "wf", base.Add(time.Minute)), decision("other", "wf-other", base)},
		{decision("sub-ms", "wf", base.Add(time.Minute+500*time.Microsecond))},
	}
	for _, decs := range commits {
		if err := s.Commit(ctx, store.Change{Decisions: decs}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Decisions(ctx, "wf")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range got {
		keys = append(keys, d.Key)
	}
	if want := []string{"early", "tie-a", "tie-b", "sub-ms", "late"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("Decisions order = %v, want %v", keys, want)
	}
	if none, err := s.Decisions(ctx, "nobody"); err != nil || len(none) != 0 {
		t.Fatalf("Decisions(nobody) = %v, %v", none, err)
	}
}

// commitDeployments commits each row in its own change, in order.
func commitDeployments(t *testing.T, s *store.SQL, deps ...store.Deployment) {
	t.Helper()
	for _, d := range deps {
		if err := s.Commit(context.Background(), store.Change{Deployment: &d}); err != nil {
			t.Fatal(err)
		}
	}
}

func testLastKnownGood(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	const name, env = "fraud-detector", "production"
	commitDeployments(t, s,
		deployment("older-good", name, env, store.StatusHealthy, base),
		deployment("newest-good", name, env, store.StatusHealthy, base.Add(2*time.Hour)),
		deployment("newer-failed", name, env, store.StatusFailed, base.Add(3*time.Hour)),
		deployment("newer-rolled-back", name, env, store.StatusRolledBack, base.Add(4*time.Hour)),
		deployment("middle-good", name, env, store.StatusHealthy, base.Add(time.Hour)),
		deployment("other-env", name, "staging", store.StatusHealthy, base.Add(5*time.Hour)),
		deployment("other-name", "churn-model", env, store.StatusHealthy, base.Add(5*time.Hour)),
	)
	for _, tc := range []struct{ exclude, want string }{
		{"", "newest-good"},
		{"newer-failed", "newest-good"},
		{"newest-good", "middle-good"},
	} {
		got, found, err := s.LastKnownGood(ctx, name, env, tc.exclude)
		if err != nil || !found || got.DeploymentID != tc.want {
			t.Errorf("LastKnownGood(exclude %q) = %s, %v, %v; want %s", tc.exclude, got.DeploymentID, found, err, tc.want)
		}
	}
	if _, found, err := s.LastKnownGood(ctx, "nothing", env, ""); err != nil || found {
		t.Fatalf("LastKnownGood(nothing) found = %v, err = %v; want none", found, err)
	}
	if _, found, err := s.LastKnownGood(ctx, "churn-model", env, "other-name"); err != nil || found {
		t.Fatalf("LastKnownGood excluding the only one: found = %v, err = %v; want none", found, err)
	}
}

// testSuperseded: a healthy row supersedes the healthy rows of its (name, environment) deployed
// before it, and is itself superseded when a newer healthy row exists (a late write); failed and
// rolled-back rows, other environments and other names keep their status. Before, every
// production row a newer one replaced stayed healthy.
func testSuperseded(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	const name, env = "fraud-detector", "production"
	commitDeployments(t, s,
		deployment("v1", name, env, store.StatusHealthy, base),
		deployment("v2-failed", name, env, store.StatusFailed, base.Add(time.Hour)),
		deployment("staging-v1", name, "staging", store.StatusHealthy, base),
		deployment("other-name", "churn-model", env, store.StatusHealthy, base),
		deployment("v3", name, env, store.StatusHealthy, base.Add(3*time.Hour)),
		deployment("v2-late", name, env, store.StatusHealthy, base.Add(2*time.Hour)), // written after v3
		deployment("v3", name, env, store.StatusHealthy, base.Add(3*time.Hour)),      // a retried write: no-op
	)
	want := map[string]string{"v1": store.StatusSuperseded, "v2-failed": store.StatusFailed, "staging-v1": store.StatusHealthy,
		"other-name": store.StatusHealthy, "v3": store.StatusHealthy, "v2-late": store.StatusSuperseded}
	for id, status := range want {
		if got, found, err := s.Deployment(ctx, id); err != nil || !found || got.Status != status {
			t.Errorf("%s: status %q (found %v, %v), want %q", id, got.Status, found, err, status)
		}
	}
	// Superseded rows stay rollback targets: the newest before v3 is v2-late.
	if got, found, err := s.LastKnownGood(ctx, name, env, "v3"); err != nil || !found || got.DeploymentID != "v2-late" {
		t.Errorf("LastKnownGood(exclude v3) = %s, %v, %v; want v2-late", got.DeploymentID, found, err)
	}
}

func testJSONRoundTrip(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	rich := map[string]any{
		"number": 0.125, "int": 3.0, "negative": -1e-9, "bool": true, "null": nil, "text": "ünïcødé \"quoted\" ✓",
		"list":   []any{1.0, "two", false, map[string]any{"nested": []any{}}},
		"object": map[string]any{"a": map[string]any{"b": "c"}, "empty": map[string]any{}},
	}
	for _, tc := range []struct {
		name        string
		autoscaling map[string]any
		manifest    map[string]string
		inputs      map[string]any
	}{
		{"rich", rich, map[string]string{"bento": "sha256:1", "image": "sha256:2", "note": "a\nb"}, rich},
		{"empty", map[string]any{}, map[string]string{}, map[string]any{}},
		{"nil", nil, nil, nil},
	} {
		dep := deployment("dep-"+tc.name, "json", "staging", store.StatusHealthy, base)
		dep.Autoscaling, dep.Manifest = tc.autoscaling, tc.manifest
		dec := decision("key-"+tc.name, "wf-"+tc.name, base)
		dec.Inputs = tc.inputs
		if err := s.Commit(ctx, store.Change{Deployment: &dep, Decisions: []store.Decision{dec}}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, _, err := s.Deployment(ctx, dep.DeploymentID)
		if err != nil || !reflect.DeepEqual(got.Autoscaling, tc.autoscaling) || !reflect.DeepEqual(got.Manifest, tc.manifest) {
			t.Fatalf("%s: autoscaling %#v manifest %#v (err %v); want %#v %#v",
				tc.name, got.Autoscaling, got.Manifest, err, tc.autoscaling, tc.manifest)
		}
		decs, err := s.Decisions(ctx, dec.WorkflowID)
		if err != nil || len(decs) != 1 || !reflect.DeepEqual(decs[0].Inputs, tc.inputs) {
			t.Fatalf("%s: inputs %+v (err %v); want %#v", tc.name, decs, err, tc.inputs)
		}
	}
}

func testTimestamps(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	for i, at := range []time.Time{
		base,
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -9*3600)), // crosses a year in UTC
		time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC),
		{}, // zero
	} {
		dep := deployment("dep-ts-"+string(rune('a'+i)), "ts", "staging", store.StatusHealthy, at)
		if err := s.Commit(ctx, store.Change{Deployment: &dep}); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Deployment(ctx, dep.DeploymentID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.DeployedAt.Equal(stored(at)) || got.DeployedAt.Location() != time.UTC {
			t.Errorf("DeployedAt = %v (%v), want %v in UTC", got.DeployedAt, got.DeployedAt.Location(), stored(at))
		}
		if want := stored(at); got.DeployedAt.Nanosecond() != want.Nanosecond() {
			t.Errorf("DeployedAt lost sub-second precision: %v, want %v", got.DeployedAt, want)
		}
	}
	before := time.Now()
	reg := registryEntry("ts", "1", nil)
	reg.UpdatedAt = time.Time{}
	dec := decision("ts-k", "ts-wf", time.Time{})
	if err := s.Commit(ctx, store.Change{Registry: &reg, Decisions: []store.Decision{dec}}); err != nil {
		t.Fatal(err)
	}
	gotReg, _, err := s.RegistryEntry(ctx, "ts", "1")
	if err != nil || gotReg.DeployedAt != nil || gotReg.UpdatedAt.Before(stored(before)) {
		t.Fatalf("RegistryEntry = %+v, %v; want nil DeployedAt and UpdatedAt defaulted to the commit time", gotReg, err)
	}
	decs, err := s.Decisions(ctx, "ts-wf")
	if err != nil || len(decs) != 1 || decs[0].DecidedAt.Before(stored(before)) {
		t.Fatalf("Decisions = %+v, %v; want DecidedAt defaulted to the commit time", decs, err)
	}
}

func testCountRowsWhitelist(t *testing.T, databaseURL string) {
	s := openStore(t, databaseURL)
	for _, table := range []string{"users", "ml_deployments; DROP TABLE ml_deployments", ""} {
		if _, err := s.CountRows(context.Background(), table); err == nil {
			t.Errorf("CountRows(%q) succeeded, want an error", table)
		}
	}
	if _, err := s.CountRows(context.Background(), "evidence_ledger"); err != nil {
		t.Fatal(err)
	}
}

// testNULSafe: PostgreSQL refuses NUL in TEXT and \u0000 in JSONB, so a NUL in a comment once
// failed the write and the run. Both stores keep the same text with U+FFFD in its place; a
// backslash followed by "u0000" is ordinary text and stays as it is.
func testNULSafe(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	dep := deployment("dep-nul", "fraud-detector", "staging", store.StatusHealthy, base)
	dep.DeployedBy = "alice\x00@example.com"
	dep.Manifest = map[string]string{"comment": "ok\x00go", "literal": `\u0000 stays`}
	dec := decision("k-nul", dep.WorkflowID, base)
	dec.Reason = "approved: looks\x00good"
	dec.Inputs = map[string]any{"approval": map[string]any{"comment": "a\x00b", "n": 1.5}, "literal": `\u0000`}
	if err := s.Commit(ctx, store.Change{Deployment: &dep, Decisions: []store.Decision{dec}}); err != nil {
		t.Fatalf("Commit with NUL characters: %v", err)
	}
	got, _, err := s.Deployment(ctx, "dep-nul")
	if err != nil {
		t.Fatal(err)
	}
	if got.DeployedBy != "alice\uFFFD@example.com" || got.Manifest["comment"] != "ok\uFFFDgo" || got.Manifest["literal"] != `\u0000 stays` {
		t.Errorf("deployment read back: deployed_by %q manifest %q", got.DeployedBy, got.Manifest)
	}
	decs, err := s.Decisions(ctx, dep.WorkflowID)
	if err != nil || len(decs) != 1 {
		t.Fatalf("Decisions = %v, %v", decs, err)
	}
	approval, _ := decs[0].Inputs["approval"].(map[string]any)
	if decs[0].Reason != "approved: looks\uFFFDgood" || approval["comment"] != "a\uFFFDb" || approval["n"] != 1.5 || decs[0].Inputs["literal"] != `\u0000` {
		t.Errorf("decision read back: reason %q inputs %v", decs[0].Reason, decs[0].Inputs)
	}
}
