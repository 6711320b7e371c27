package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/infra/migrations"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// storeCase runs against a fresh, unmigrated database given by its URL.
type storeCase struct {
	name string
	run  func(t *testing.T, databaseURL string)
}

// TestSQLStore runs every case against SQLite and against the PostgreSQL at TEST_POSTGRES_URL.
func TestSQLStore(t *testing.T) {
	cases := slices.Concat(lockCases(), recordCases(), evidenceCases(), sealCases())
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "postgres" {
				requirePostgres(t)
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, b.fresh(t)) })
			}
		})
	}
}

func lockCases() []storeCase {
	return []storeCase{
		{"migrations are idempotent and safe concurrently", testMigrations},
		{"claim and release", testClaimRelease},
		{"claim held by another workflow is a conflict", testClaimConflict},
		{"concurrent claims: exactly one wins", testConcurrentClaims},
		{"release by a non-holder is a no-op", testReleaseByNonHolder},
		{"claim needs every key part", testClaimValidation},
	}
}

func testMigrations(t *testing.T, databaseURL string) {
	ctx := context.Background()
	// Two processes opening a fresh database at once: both succeed, migrations run once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, databaseURL)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
	}
	s := openStore(t, databaseURL)
	again := openStore(t, databaseURL)
	want, err := migrations.For(s.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*store.SQL{s, again} {
		n, err := st.CountRows(ctx, "schema_migrations")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(want) {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(want))
		}
	}
	if got := counts(t, s); got["ml_deployments"] != 0 || got["deployment_locks"] != 0 {
		t.Fatalf("fresh database not empty: %v", got)
	}
}

func testClaimRelease(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	l := store.Lock{DeploymentName: "fraud-detector", Environment: "production", WorkflowID: "wf-1"}
	if err := s.Claim(ctx, l); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := s.Claim(ctx, l); err != nil {
		t.Fatalf("re-Claim by the holder: %v", err)
	}
	got, found, err := s.Lock(ctx, l.DeploymentName, l.Environment)
	if err != nil || !found || got != l {
		t.Fatalf("Lock = %+v, %v, %v; want %+v", got, found, err, l)
	}
	other := store.Lock{DeploymentName: "fraud-detector", Environment: "staging", WorkflowID: "wf-2"}
	if err := s.Claim(ctx, other); err != nil {
		t.Fatalf("Claim in another environment: %v", err)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, found, _ := s.Lock(ctx, l.DeploymentName, l.Environment); found {
		t.Fatal("lock still held after Release")
	}
	next := store.Lock{DeploymentName: "fraud-detector", Environment: "production", WorkflowID: "wf-3"}
	if err := s.Claim(ctx, next); err != nil {
		t.Fatalf("Claim after Release: %v", err)
	}
	if n, _ := s.CountRows(ctx, "deployment_locks"); n != 2 {
		t.Fatalf("deployment_locks has %d rows, want 2", n)
	}
}

func testClaimConflict(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	held := store.Lock{DeploymentName: "fraud-detector", Environment: "production", WorkflowID: "wf-1"}
	if err := s.Claim(ctx, held); err != nil {
		t.Fatal(err)
	}
	err := s.Claim(ctx, store.Lock{DeploymentName: "fraud-detector", Environment: "production", WorkflowID: "wf-2"})
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) || !store.IsConflict(err) {
		t.Fatalf("Claim by another workflow = %v, want *store.ConflictError", err)
	}
	if conflict.Held != held {
		t.Fatalf("ConflictError.Held = %+v, want %+v", conflict.Held, held)
	}
	if !strings.Contains(err.Error(), "wf-1") {
		t.Fatalf("error %q does not name the holder", err)
	}
}

func testConcurrentClaims(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Claim(ctx, store.Lock{
				DeploymentName: "fraud-detector", Environment: "production", WorkflowID: fmt.Sprintf("wf-%d", i),
			})
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("both wf-%d and wf-%d won the lock", winner, i)
		case err == nil:
			winner = i
		case !store.IsConflict(err):
			t.Fatalf("wf-%d: %v, want nil or a conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no claim won")
	}
	got, found, err := s.Lock(ctx, "fraud-detector", "production")
	if err != nil || !found || got.WorkflowID != fmt.Sprintf("wf-%d", winner) {
		t.Fatalf("Lock = %+v, %v, %v; want held by wf-%d", got, found, err, winner)
	}
}

func testReleaseByNonHolder(t *testing.T, databaseURL string) {
	ctx := context.Background()
	s := openStore(t, databaseURL)
	held := store.Lock{DeploymentName: "fraud-detector", Environment: "shadow", WorkflowID: "wf-1"}
	if err := s.Claim(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, store.Lock{DeploymentName: "fraud-detector", Environment: "shadow", WorkflowID: "wf-2"}); err != nil {
		t.Fatalf("Release by non-holder: %v", err)
	}
	if err := s.Release(ctx, store.Lock{DeploymentName: "nothing", Environment: "shadow", WorkflowID: "wf-1"}); err != nil {
		t.Fatalf("Release of a lock nobody holds: %v", err)
	}
	got, found, err := s.Lock(ctx, "fraud-detector", "shadow")
	if err != nil || !found || got != held {
		t.Fatalf("after non-holder Release, Lock = %+v, %v, %v; want %+v", got, found, err, held)
	}
}

func testClaimValidation(t *testing.T, databaseURL string) {
	s := openStore(t, databaseURL)
	for _, l := range []store.Lock{
		{Environment: "staging", WorkflowID: "wf"},
		{DeploymentName: "d", WorkflowID: "wf"},
		{DeploymentName: "d", Environment: "staging"},
	} {
		if err := s.Claim(context.Background(), l); err == nil || store.IsConflict(err) {
			t.Errorf("Claim(%+v) = %v, want a validation error", l, err)
		}
	}
	if n, _ := s.CountRows(context.Background(), "deployment_locks"); n != 0 {
		t.Fatalf("deployment_locks has %d rows, want 0", n)
	}
}
