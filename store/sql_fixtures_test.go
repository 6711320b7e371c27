package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// backend gives each test case a fresh, empty database URL.
type backend struct {
	name  string
	fresh func(t *testing.T) string
}

func backends() []backend {
	return []backend{
		{name: "sqlite", fresh: freshSQLite},
		{name: "postgres", fresh: freshPostgres},
	}
}

// freshSQLite is a database file in a not-yet-existing directory, so Open must create it.
func freshSQLite(t *testing.T) string {
	return filepath.Join(t.TempDir(), "data", "deployer.db")
}

// requirePostgres skips (locally) or fails (CI=true) unless TEST_POSTGRES_URL reaches a server.
func requirePostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		realparts.Require(t, "PostgreSQL", errors.New("TEST_POSTGRES_URL is not set "+
			"(bash infra/scripts/postgres.sh install start; export TEST_POSTGRES_URL=$(bash infra/scripts/postgres.sh url))"))
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		_ = db.Close()
	}
	realparts.Require(t, "PostgreSQL", err)
	return base
}

// freshPostgres creates an empty schema for the test, dropped afterwards, and returns a URL whose
// search_path points at it, so every case starts from an unmigrated database.
func freshPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	schema := "t_" + randomHex(t, 8)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func openStore(t *testing.T, databaseURL string) *store.SQL {
	t.Helper()
	s, err := store.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// base is a fixed instant with sub-microsecond digits, in a non-UTC zone.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// stored is t as the store gives it back: UTC, microsecond precision.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func deployment(id, name, env, status string, at time.Time) store.Deployment {
	return store.Deployment{
		DeploymentID:    id,
		DeploymentName:  name,
		Environment:     env,
		ModelName:       name,
		ModelVersion:    "7",
		ExperimentID:    "exp-42",
		Stage:           "Staging",
		EndpointName:    name + "-" + env,
		EndpointURL:     "http://" + name + "." + env + ".svc:3000",
		Status:          status,
		Replicas:        1,
		CPULimit:        "2",
		MemoryLimit:     "4Gi",
		Autoscaling:     map[string]any{"min_replicas": 1.0, "max_replicas": 3.0, "target_cpu_utilization": 80.0},
		BentoTag:        "e2i_exp-42_model:v7",
		Image:           "registry.local/bentos/" + name + "@sha256:" + "ab12",
		Manifest:        map[string]string{"bento": "sha256:cd34", "image": "sha256:ab12"},
		WorkflowID:      "deploy-" + name + "-" + env,
		RunID:           "run-1",
		DeployedBy:      "alice@example.com",
		DeployedAt:      at,
		DurationSeconds: 12.5,
		HealthPassed:    status == store.StatusHealthy,
	}
}

func decision(key, workflowID string, at time.Time) store.Decision {
	return store.Decision{
		Key:        key,
		WorkflowID: workflowID,
		RunID:      "run-1",
		Deployment: "fraud-detector",
		Gate:       "success_criteria",
		Verdict:    "allowed",
		Reason:     "all thresholds met",
		Inputs:     map[string]any{"auc": 0.93, "thresholds": map[string]any{"auc": map[string]any{"min": 0.9}}},
		Source:     "caller-supplied",
		Actor:      "worker",
		DecidedAt:  at,
	}
}

func registryEntry(name, version string, deployedAt *time.Time) store.RegistryEntry {
	return store.RegistryEntry{
		RegisteredModelName: name,
		Version:             version,
		ExperimentID:        "exp-42",
		ModelURI:            "models:/" + name + "/" + version,
		Stage:               "Staging",
		DeploymentID:        "dep-1",
		DeployedAt:          deployedAt,
		UpdatedAt:           base,
	}
}

// wantDeployment is d as read back.
func wantDeployment(d store.Deployment) store.Deployment {
	d.DeployedAt = stored(d.DeployedAt)
	return d
}

func counts(t *testing.T, s *store.SQL) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"ml_deployments", "ml_model_registry", "evidence_ledger", "deployment_locks"} {
		n, err := s.CountRows(context.Background(), table)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}
