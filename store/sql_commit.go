package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Commit writes c in one transaction: the deployment upserts by deployment_id (every column;
// created_at keeps its first value), the registry entry upserts by (name, version), decisions are
// inserted unless their key exists. Nil or empty parts are skipped; if any write fails, nothing is
// written. A zero RegistryEntry.UpdatedAt or Decision.DecidedAt is stored as the commit time.
// Timestamps are stored in UTC at microsecond precision.
func (s *SQL) Commit(ctx context.Context, c Change) (err error) {
	if c.Deployment == nil && c.Registry == nil && len(c.Decisions) == 0 {
		return nil
	}
	now := time.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit: begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if c.Deployment != nil {
		if err := s.upsertDeployment(ctx, tx, *c.Deployment, now); err != nil {
			return err
		}
	}
	if c.Registry != nil {
		if err := s.upsertRegistry(ctx, tx, *c.Registry, now); err != nil {
			return err
		}
	}
	if err := s.lockChains(ctx, tx, c.Decisions); err != nil {
		return err
	}
	for _, dec := range c.Decisions {
		if err := s.insertDecision(ctx, tx, dec, now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *SQL) upsertDeployment(ctx context.Context, tx *sql.Tx, dep Deployment, now time.Time) error {
	args, err := s.d.deploymentArgs(dep)
	if err != nil {
		return fmt.Errorf("commit deployment %s: %w", dep.DeploymentID, err)
	}
	args = append(args, s.d.timeArg(now), s.d.timeArg(now)) // created_at, updated_at
	if _, err := tx.ExecContext(ctx, s.d.rebind(upsertDeploymentSQL), nulSafeArgs(args)...); err != nil {
		return fmt.Errorf("commit deployment %s: %w", dep.DeploymentID, err)
	}
	if dep.Status == StatusHealthy {
		return s.supersede(ctx, tx, dep, now)
	}
	return nil
}

// supersede keeps one healthy row per (deployment_name, environment), the one deployed last: the
// other healthy rows deployed no later than dep become superseded, and dep itself does if a newer
// healthy row exists. Superseded rows stay rollback targets (LastKnownGood).
func (s *SQL) supersede(ctx context.Context, tx *sql.Tx, dep Deployment, now time.Time) error {
	at, upd := s.d.timeArg(dep.DeployedAt), s.d.timeArg(now)
	older := `UPDATE ml_deployments SET status = ?, updated_at = ? WHERE deployment_name = ? AND environment = ?
AND status = ? AND deployment_id <> ? AND deployed_at <= ?`
	if _, err := tx.ExecContext(ctx, s.d.rebind(older), StatusSuperseded, upd, dep.DeploymentName, dep.Environment,
		StatusHealthy, dep.DeploymentID, at); err != nil {
		return fmt.Errorf("commit deployment %s: supersede older healthy rows: %w", dep.DeploymentID, err)
	}
	self := `UPDATE ml_deployments SET status = ?, updated_at = ? WHERE deployment_id = ? AND EXISTS (
SELECT 1 FROM ml_deployments n WHERE n.deployment_name = ? AND n.environment = ? AND n.status = ?
AND n.deployment_id <> ? AND n.deployed_at > ?)`
	if _, err := tx.ExecContext(ctx, s.d.rebind(self), StatusSuperseded, upd, dep.DeploymentID, dep.DeploymentName,
		dep.Environment, StatusHealthy, dep.DeploymentID, at); err != nil {
		return fmt.Errorf("commit deployment %s: supersede it by a newer healthy row: %w", dep.DeploymentID, err)
	}
	return nil
}

func (s *SQL) upsertRegistry(ctx context.Context, tx *sql.Tx, e RegistryEntry, now time.Time) error {
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = now
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(upsertRegistrySQL), nulSafeArgs(s.d.registryArgs(e))...); err != nil {
		return fmt.Errorf("commit registry entry %s v%s: %w", e.RegisteredModelName, e.Version, err)
	}
	return nil
}

func (s *SQL) insertDecision(ctx context.Context, tx *sql.Tx, dec Decision, now time.Time) error {
	if dec.DecidedAt.IsZero() {
		dec.DecidedAt = now
	}
	dec.DecidedAt = dec.DecidedAt.UTC().Truncate(time.Microsecond) // as stored, and as sealed
	args, err := s.d.decisionArgs(dec)
	if err != nil {
		return fmt.Errorf("commit decision %s: %w", dec.Key, err)
	}
	link, err := s.sealDecision(ctx, tx, dec)
	if err != nil {
		return err
	}
	args = append(args, sealArgs(link)...)
	if _, err := tx.ExecContext(ctx, s.d.rebind(insertDecisionSQL), nulSafeArgs(args)...); err != nil {
		return fmt.Errorf("commit decision %s: %w", dec.Key, err)
	}
	return nil
}
