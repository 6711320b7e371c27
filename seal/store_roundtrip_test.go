package seal_test

// This test writes sealed entries through the real store (SQLite; PostgreSQL when
// TEST_POSTGRES_URL is set) and reads them back: the seal
// package itself never imports store (the store will import seal); only this external test does.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/temporaldeployer/temporaldeployer/seal"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// storeBackend is a database the store runs on, with the driver name and the SQL that edits the
// "requests" input of one row.
type storeBackend struct {
	name, driver, edit string
	url                func(t *testing.T) string
}

func TestSealSurvivesTheStore(t *testing.T) {
	backends := []storeBackend{
		{"sqlite", "sqlite", `UPDATE evidence_ledger SET inputs = json_set(inputs, '$.requests', 5) WHERE key = ?`,
			func(t *testing.T) string { return filepath.Join(t.TempDir(), "ledger.db") }},
		{"postgres", "pgx", `UPDATE evidence_ledger SET inputs = jsonb_set(inputs, '{requests}', '5') WHERE key = $1`,
			postgresSchema},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testSealSurvivesTheStore(t, b) })
	}
}

func testSealSurvivesTheStore(t *testing.T, b storeBackend) {
	ctx := context.Background()
	url := b.url(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	k := testKey(t, "worker-1")
	es := entries(6)
	es[2].Inputs["nul"], es[2].Reason = "a\x00b", "NUL \x00 in the reason"
	es[3].Inputs["big"], es[3].Inputs["tiny"] = int64(1<<62+1), 1e-9
	es[4].DecidedAt = es[4].DecidedAt.Add(789 * time.Nanosecond).In(time.FixedZone("X", 3600))
	es[5].Inputs = nil
	chain := sealChain(t, es, k)
	links := map[string]seal.Link{}
	var decs []store.Decision
	for _, se := range chain {
		links[se.Entry.Key] = se.Link
		decs = append(decs, decision(se.Entry))
	}
	if err := s.Commit(ctx, store.Change{Decisions: decs}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	read := func() []seal.SealedEntry {
		back, err := s.Decisions(ctx, "wf-1")
		if err != nil || len(back) != len(chain) {
			t.Fatalf("Decisions = %d, %v", len(back), err)
		}
		out := make([]seal.SealedEntry, len(back))
		for i, d := range back {
			l := links[d.Key]
			out[i] = seal.SealedEntry{Entry: fromDecision(d, l.Seq), Link: l}
		}
		return out
	}
	kr := keyring(t, k)
	if r := seal.Verify(read(), kr); !r.OK() || r.Verified != len(chain) {
		t.Fatalf("Verify after the store: %v", r)
	}
	db, err := sql.Open(b.driver, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, b.edit, chain[3].Entry.Key); err != nil {
		t.Fatalf("edit row: %v", err)
	}
	wantFailure(t, "edited row", seal.Verify(read(), kr), 3, seal.KindContentEdited)
}

// postgresSchema is a URL of a fresh schema on TEST_POSTGRES_URL, dropped afterwards; the test is
// skipped without TEST_POSTGRES_URL locally, failed under CI=true.
func postgresSchema(t *testing.T) string {
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		realparts.Require(t, "PostgreSQL", errors.New("TEST_POSTGRES_URL is not set"))
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(base), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	schema := fmt.Sprintf("t_seal_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := neturl.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func decision(e seal.Entry) store.Decision {
	return store.Decision{Key: e.Key, WorkflowID: e.WorkflowID, RunID: e.RunID, Deployment: e.Deployment, Gate: e.Gate,
		Verdict: e.Verdict, Reason: e.Reason, Inputs: e.Inputs, Source: e.Source, Actor: e.Actor, DecidedAt: e.DecidedAt,
		ModelName: e.ModelName, ModelVersion: e.ModelVersion}
}

func fromDecision(d store.Decision, seq int64) seal.Entry {
	return seal.Entry{Seq: seq, Key: d.Key, WorkflowID: d.WorkflowID, RunID: d.RunID, Deployment: d.Deployment, Gate: d.Gate,
		Verdict: d.Verdict, Reason: d.Reason, Inputs: d.Inputs, Source: d.Source, Actor: d.Actor, DecidedAt: d.DecidedAt,
		ModelName: d.ModelName, ModelVersion: d.ModelVersion}
}
