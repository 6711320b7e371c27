package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// LastKnownGood returns the newest (by deployed_at) healthy or superseded deployment of name in env
// other than excludeID: the one serving, or the known-good it replaced.
func (s *SQL) LastKnownGood(ctx context.Context, name, env, excludeID string) (Deployment, bool, error) {
	q := s.d.rebind(selectDeploymentSQL + ` WHERE deployment_name = ? AND environment = ? AND status IN (?, ?)
AND deployment_id <> ? ORDER BY deployed_at DESC, deployment_id DESC LIMIT 1`)
	dep, err := scanDeployment(s.db.QueryRowContext(ctx, q, name, env, StatusHealthy, StatusSuperseded, excludeID))
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, false, nil
	}
	if err != nil {
		return Deployment{}, false, fmt.Errorf("last known good of %s/%s: %w", name, env, err)
	}
	return dep, true, nil
}

// Decisions lists the ledger entries of workflowID, oldest first (decided_at, then insertion).
func (s *SQL) Decisions(ctx context.Context, workflowID string) ([]Decision, error) {
	q := s.d.rebind(selectDecisionSQL + " WHERE workflow_id = ? ORDER BY decided_at, id")
	rows, err := s.db.QueryContext(ctx, q, workflowID)
	if err != nil {
		return nil, fmt.Errorf("read decisions of workflow %s: %w", workflowID, err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		dec, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("read decisions of workflow %s: %w", workflowID, err)
		}
		out = append(out, dec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read decisions of workflow %s: %w", workflowID, err)
	}
	return out, nil
}

// LatestEvidence returns the newest (by decided_at, then insertion) ledger entry about q's model
// version from q's gate and source, with q's verdict if set, decided no earlier than q.NotBefore.
func (s *SQL) LatestEvidence(ctx context.Context, q EvidenceQuery) (Decision, bool, error) {
	where := " WHERE model_name = ? AND model_version = ? AND gate = ? AND source = ?"
	args := []any{q.ModelName, q.ModelVersion, q.Gate, q.Source}
	if q.Verdict != "" {
		where += " AND verdict = ?"
		args = append(args, q.Verdict)
	}
	if !q.NotBefore.IsZero() {
		where += " AND decided_at >= ?"
		args = append(args, s.d.timeArg(q.NotBefore))
	}
	query := s.d.rebind(selectDecisionSQL + where + " ORDER BY decided_at DESC, id DESC LIMIT 1")
	dec, err := scanDecision(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Decision{}, false, nil
	}
	if err != nil {
		return Decision{}, false, fmt.Errorf("latest %s evidence of %s v%s: %w", q.Gate, q.ModelName, q.ModelVersion, err)
	}
	return dec, true, nil
}

// Deployment returns the deployment with id, if any.
func (s *SQL) Deployment(ctx context.Context, id string) (Deployment, bool, error) {
	q := s.d.rebind(selectDeploymentSQL + " WHERE deployment_id = ?")
	dep, err := scanDeployment(s.db.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, false, nil
	}
	if err != nil {
		return Deployment{}, false, fmt.Errorf("read deployment %s: %w", id, err)
	}
	return dep, true, nil
}

// Deployments lists the deployments of deploymentName in every environment, oldest first
// (deployed_at, then deployment_id).
func (s *SQL) Deployments(ctx context.Context, deploymentName string) ([]Deployment, error) {
	q := s.d.rebind(selectDeploymentSQL + " WHERE deployment_name = ? ORDER BY deployed_at, deployment_id")
	rows, err := s.db.QueryContext(ctx, q, deploymentName)
	if err != nil {
		return nil, fmt.Errorf("read deployments of %s: %w", deploymentName, err)
	}
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		dep, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("read deployments of %s: %w", deploymentName, err)
		}
		out = append(out, dep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read deployments of %s: %w", deploymentName, err)
	}
	return out, nil
}

// RegistryEntry returns the registry row of (name, version), if any.
func (s *SQL) RegistryEntry(ctx context.Context, name, version string) (RegistryEntry, bool, error) {
	q := s.d.rebind(selectRegistrySQL + " WHERE registered_model_name = ? AND version = ?")
	e, err := scanRegistryEntry(s.db.QueryRowContext(ctx, q, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return RegistryEntry{}, false, nil
	}
	if err != nil {
		return RegistryEntry{}, false, fmt.Errorf("read registry entry %s v%s: %w", name, version, err)
	}
	return e, true, nil
}

// countableTables are the tables CountRows accepts.
var countableTables = map[string]bool{
	"ml_deployments": true, "ml_model_registry": true, "evidence_ledger": true,
	"deployment_locks": true, "schema_migrations": true,
}

// CountRows returns the number of rows in table, one of the store's own tables.
func (s *SQL) CountRows(ctx context.Context, table string) (int, error) {
	if !countableTables[table] {
		return 0, fmt.Errorf("count rows of %q: not a store table", table)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return n, nil
}
