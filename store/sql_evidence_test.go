package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/infra/migrations"
	"github.com/temporaldeployer/temporaldeployer/store"
)

func evidenceCases() []storeCase {
	return []storeCase{
		{"latest evidence of a model version", testLatestEvidence},
		{"a database at 0001 with rows migrates forward and keeps them", testMigrateFromV1},
	}
}

// evidence is a ledger entry about fraud-detector v7's measured shadow criteria, passed, at at.
func evidence(key string, at time.Time, mod func(*store.Decision)) store.Decision {
	d := decision(key, "deploy-fraud-detector-production", at)
	d.ModelName, d.ModelVersion = "fraud-detector", "7"
	d.Gate, d.Source, d.Verdict = "shadow_criteria", "measured", "passed"
	d.Inputs = map[string]any{"evidence": map[string]any{"requests": 1200.0, "error_rate": 0.001}}
	if mod != nil {
		mod(&d)
	}
	return d
}

// hours is base plus n hours.
func hours(n float64) time.Time { return base.Add(time.Duration(n * float64(time.Hour))) }

// evidenceSeed is the ledger testLatestEvidence queries: fraud-detector v7's measured shadow
// evidence over time, and entries that differ from it in one key part each.
func evidenceSeed() []store.Decision {
	h := hours
	return []store.Decision{
		evidence("v7-passed-0h", h(0), nil),
		evidence("v7-passed-1h", h(1), nil),
		evidence("v7-failed-2h", h(2), func(d *store.Decision) { d.Verdict = "failed" }),
		evidence("v8-passed-3h", h(3), func(d *store.Decision) { d.ModelVersion = "8" }),
		evidence("v7-caller-4h", h(4), func(d *store.Decision) { d.Source = "caller-supplied" }),
		evidence("v7-approval-5h", h(5), func(d *store.Decision) { d.Gate = "approval" }),
		evidence("other-v7-6h", h(6), func(d *store.Decision) { d.ModelName = "churn" }),
		// Same decided_at: the later insertion wins.
		evidence("v9-tie-a", h(1), func(d *store.Decision) { d.ModelVersion = "9" }),
		evidence("v9-tie-b", h(1), func(d *store.Decision) { d.ModelVersion = "9" }),
		// A microsecond apart, in the other insertion order.
		evidence("v10-later", base.Add(time.Microsecond), func(d *store.Decision) { d.ModelVersion = "10" }),
		evidence("v10-earlier", base, func(d *store.Decision) { d.ModelVersion = "10" }),
	}
}

func testLatestEvidence(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	h := hours
	seed := evidenceSeed()
	if err := s.Commit(ctx, store.Change{Decisions: seed}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	byKey := map[string]store.Decision{}
	for _, d := range seed {
		byKey[d.Key] = d
	}
	v7 := store.EvidenceQuery{ModelName: "fraud-detector", ModelVersion: "7", Gate: "shadow_criteria", Source: "measured"}
	with := func(mod func(*store.EvidenceQuery)) store.EvidenceQuery { q := v7; mod(&q); return q }
	tests := []struct {
		name string
		q    store.EvidenceQuery
		want string // key; "" = not found
	}{
		{"no rows for the model", with(func(q *store.EvidenceQuery) { q.ModelName = "nobody" }), ""},
		{"another version's evidence does not count", with(func(q *store.EvidenceQuery) { q.ModelVersion = "6" }), ""},
		{"any verdict: the newest wins", v7, "v7-failed-2h"},
		{"verdict filter", with(func(q *store.EvidenceQuery) { q.Verdict = "passed" }), "v7-passed-1h"},
		{"verdict nobody gave", with(func(q *store.EvidenceQuery) { q.Verdict = "rejected" }), ""},
		{"other source", with(func(q *store.EvidenceQuery) { q.Source = "caller-supplied" }), "v7-caller-4h"},
		{"source nobody used", with(func(q *store.EvidenceQuery) { q.Source = "registry" }), ""},
		{"other gate", with(func(q *store.EvidenceQuery) { q.Gate = "approval" }), "v7-approval-5h"},
		{"NotBefore is inclusive", with(func(q *store.EvidenceQuery) { q.Verdict, q.NotBefore = "passed", h(1) }), "v7-passed-1h"},
		{"NotBefore excludes older evidence", with(func(q *store.EvidenceQuery) { q.Verdict, q.NotBefore = "passed", h(1).Add(time.Second) }), ""},
		{"NotBefore in another zone", with(func(q *store.EvidenceQuery) { q.NotBefore = h(1.5).UTC() }), "v7-failed-2h"},
		{"NotBefore after everything", with(func(q *store.EvidenceQuery) { q.NotBefore = h(10) }), ""},
		{"same decided_at: the later insertion wins", with(func(q *store.EvidenceQuery) { q.ModelVersion = "9" }), "v9-tie-b"},
		{"a microsecond newer wins", with(func(q *store.EvidenceQuery) { q.ModelVersion = "10" }), "v10-later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := s.LatestEvidence(ctx, tt.q)
			if err != nil {
				t.Fatalf("LatestEvidence(%+v): %v", tt.q, err)
			}
			if tt.want == "" {
				if found {
					t.Fatalf("LatestEvidence(%+v) = %s, want none", tt.q, got.Key)
				}
				return
			}
			if !found {
				t.Fatalf("LatestEvidence(%+v): none, want %s", tt.q, tt.want)
			}
			want := byKey[tt.want]
			want.DecidedAt = stored(want.DecidedAt)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("LatestEvidence(%+v):\n got %+v\nwant %+v", tt.q, got, want)
			}
		})
	}
}

// testMigrateFromV1 builds a database by hand at migration 0001 (as a worker of that release left
// it), with a ledger entry, and opens it: the store migrates it forward and keeps the entry.
func testMigrateFromV1(t *testing.T, databaseURL string) {
	ctx := context.Background()
	postgres := strings.HasPrefix(databaseURL, "postgres")
	dialect, driver, dsn := migrations.SQLite, "sqlite", databaseURL
	if postgres {
		dialect, driver = migrations.Postgres, "pgx"
	} else if err := os.MkdirAll(filepath.Dir(dsn), 0o755); err != nil {
		t.Fatal(err)
	}
	all, err := migrations.For(dialect)
	if err != nil || len(all) < 2 {
		t.Fatalf("migrations.For(%s) = %d migrations, %v; want 0001 and 0002 at least", dialect, len(all), err)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := base.UTC().Truncate(time.Microsecond)
	var atArg any = at
	if !postgres {
		atArg = at.Format("2006-01-02T15:04:05.000000Z")
	}
	insert := `INSERT INTO evidence_ledger (key, workflow_id, run_id, deployment_name, gate, verdict, reason,
inputs, source, actor, decided_at) VALUES ('old-1', 'wf-old', 'run-old', 'fraud-detector', 'shadow_criteria',
'passed', 'held 24h', '{"requests": 1000}', 'measured', 'worker', ` + map[bool]string{true: "$1", false: "?"}[postgres] + `)`
	for _, stmt := range []string{
		all[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '` + all[0].Name + `', '2026-01-01T00:00:00Z')`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("build a 0001 database: %v", err)
		}
	}
	if _, err := db.ExecContext(ctx, insert, atArg); err != nil {
		t.Fatalf("insert a 0001 ledger row: %v", err)
	}
	_ = db.Close()

	s := openStore(t, databaseURL)
	wantIndex(t, databaseURL, driver, "evidence_ledger_model_version_idx")
	if n, err := s.CountRows(ctx, "schema_migrations"); err != nil || n != len(all) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(all))
	}
	got, err := s.Decisions(ctx, "wf-old")
	want := store.Decision{Key: "old-1", WorkflowID: "wf-old", RunID: "run-old", Deployment: "fraud-detector",
		Gate: "shadow_criteria", Verdict: "passed", Reason: "held 24h", Inputs: map[string]any{"requests": 1000.0},
		Source: "measured", Actor: "worker", DecidedAt: at}
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("Decisions after migrating = %+v, %v; want [%+v]", got, err, want)
	}
	// The old entry names no model version, so it is no version's evidence; new ones are.
	q := store.EvidenceQuery{ModelName: "fraud-detector", ModelVersion: "7", Gate: "shadow_criteria", Source: "measured"}
	if d, found, err := s.LatestEvidence(ctx, q); err != nil || found {
		t.Fatalf("LatestEvidence before any versioned entry = %+v, %v, %v; want none", d, found, err)
	}
	if err := s.Commit(ctx, store.Change{Decisions: []store.Decision{evidence("new-1", base, nil)}}); err != nil {
		t.Fatalf("Commit after migrating: %v", err)
	}
	if d, found, err := s.LatestEvidence(ctx, q); err != nil || !found || d.Key != "new-1" {
		t.Fatalf("LatestEvidence = %+v, %v, %v; want new-1", d, found, err)
	}
}

// wantIndex checks that the database at databaseURL has the named index.
func wantIndex(t *testing.T, databaseURL, driver, index string) {
	t.Helper()
	db, err := sql.Open(driver, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
	if driver == "pgx" {
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
	}
	var n int
	if err := db.QueryRowContext(context.Background(), q, index).Scan(&n); err != nil || n != 1 {
		t.Fatalf("index %s: found %d (%v), want 1", index, n, err)
	}
}
