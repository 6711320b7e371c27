package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/seal"
	"github.com/temporaldeployer/temporaldeployer/store"
)

func sealCases() []storeCase {
	return []storeCase{
		{"a sealed ledger verifies; an edited or removed row fails at that row", testSealedLedger},
		{"rows recorded before sealing stay unsealed at the head of the chain", testSealAfterUnsealed},
	}
}

// rawDB opens the store's database directly, as someone editing it behind the worker's back would.
func rawDB(t *testing.T, databaseURL string) (*sql.DB, func(string) string) {
	t.Helper()
	driver, rebind := "sqlite", func(q string) string { return q }
	if strings.HasPrefix(databaseURL, "postgres") {
		driver = "pgx"
		rebind = func(q string) string {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
			return q
		}
	}
	db, err := sql.Open(driver, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, rebind
}

func signer(t *testing.T, kid string) (*seal.PrivateKey, seal.Keyring) {
	t.Helper()
	k, err := seal.GenerateKey(kid)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.NewKeyring(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return k, kr
}

func verifyChain(t *testing.T, s *store.SQL, deployment string, kr seal.Keyring) seal.Report {
	t.Helper()
	chain, err := s.Chain(context.Background(), deployment)
	if err != nil {
		t.Fatal(err)
	}
	return seal.Verify(chain, kr)
}

func testSealedLedger(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	key, kr := signer(t, "worker-1")
	s.SealWith(key)
	var first []store.Decision
	for i := range 3 {
		d := decision(fmt.Sprintf("k%d", i+1), "wf-1", base.Add(time.Duration(i)*time.Second+123456789))
		d.Inputs["step"] = i
		first = append(first, d)
	}
	first[1].Reason = "a NUL\x00 in the reason"
	other := decision("other-1", "wf-2", base)
	other.Deployment = "churn"
	if err := s.Commit(ctx, store.Change{Decisions: append(first, other)}); err != nil {
		t.Fatal(err)
	}
	// A retried write of k3 with k4: the chain gets k4 only.
	if err := s.Commit(ctx, store.Change{Decisions: []store.Decision{first[2], decision("k4", "wf-1", base.Add(time.Minute))}}); err != nil {
		t.Fatal(err)
	}
	if r := verifyChain(t, s, "fraud-detector", kr); !r.OK() || r.Verified != 4 || r.Unsealed != 0 {
		t.Fatalf("fraud-detector's ledger: %s; want 4 entries verified", r)
	}
	if r := verifyChain(t, s, "churn", kr); !r.OK() || r.Verified != 1 {
		t.Fatalf("churn's ledger: %s; want its own chain of 1", r)
	}
	db, rebind := rawDB(t, databaseURL)
	if _, err := db.ExecContext(ctx, rebind("UPDATE evidence_ledger SET reason = ? WHERE key = ?"), "all thresholds met (edited)", "k2"); err != nil {
		t.Fatal(err)
	}
	if r := verifyChain(t, s, "fraud-detector", kr); r.OK() || r.Failure.Key != "k2" || r.Failure.Kind != seal.KindContentEdited {
		t.Fatalf("after editing k2: %s; want content_edited at k2", r)
	}
	if _, err := db.ExecContext(ctx, rebind("DELETE FROM evidence_ledger WHERE key = ?"), "k2"); err != nil {
		t.Fatal(err)
	}
	if r := verifyChain(t, s, "fraud-detector", kr); r.OK() || r.Failure.Key != "k3" || r.Failure.Kind != seal.KindSeqGap {
		t.Fatalf("after removing k2: %s; want a seq gap at k3", r)
	}
	if _, kr2 := signer(t, "someone-else"); verifyChain(t, s, "churn", kr2).OK() {
		t.Fatal("churn's ledger verified with a keyring that lacks the worker's key")
	}
}

func testSealAfterUnsealed(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	commit := func(keys ...string) {
		t.Helper()
		var ds []store.Decision
		for i, k := range keys {
			ds = append(ds, decision(k, "wf-1", base.Add(time.Duration(i)*time.Second)))
		}
		if err := s.Commit(ctx, store.Change{Decisions: ds}); err != nil {
			t.Fatal(err)
		}
	}
	commit("old-1", "old-2") // before the worker sealed
	key, kr := signer(t, "worker-1")
	s.SealWith(key)
	commit("new-1", "new-2")
	if r := verifyChain(t, s, "fraud-detector", kr); !r.OK() || r.Unsealed != 2 || r.Verified != 2 {
		t.Fatalf("%s; want 2 unsealed, then 2 verified", r)
	}
	s.SealWith(nil)
	commit("late-1")
	if r := verifyChain(t, s, "fraud-detector", kr); r.OK() || r.Failure.Key != "late-1" || r.Failure.Kind != seal.KindUnsealedAfterSealed {
		t.Fatalf("%s; want an unsealed entry after sealed ones to fail", r)
	}
}
