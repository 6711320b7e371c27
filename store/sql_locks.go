package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// claimAttempts bounds the retries when the lock is released between our insert and our read.
const claimAttempts = 5

// Claim takes the in-flight lock on (deployment_name, environment). The primary key decides a
// race: exactly one concurrent insert lands. Claiming a lock this workflow already holds is a
// no-op; a lock held by another workflow yields a *ConflictError.
func (s *SQL) Claim(ctx context.Context, l Lock) error {
	if l.DeploymentName == "" || l.Environment == "" || l.WorkflowID == "" {
		return fmt.Errorf("claim lock %s/%s for workflow %q: deployment name, environment and workflow ID are required",
			l.DeploymentName, l.Environment, l.WorkflowID)
	}
	for range claimAttempts {
		inserted, err := s.insertLock(ctx, l)
		if err != nil {
			return err
		}
		if inserted {
			return nil
		}
		held, found, err := s.Lock(ctx, l.DeploymentName, l.Environment)
		if err != nil {
			return fmt.Errorf("claim lock %s/%s: %w", l.DeploymentName, l.Environment, err)
		}
		if !found {
			continue // released since our insert: try again
		}
		if held.WorkflowID == l.WorkflowID {
			return nil
		}
		return &ConflictError{Held: held}
	}
	return fmt.Errorf("claim lock %s/%s for workflow %s: the lock changed hands %d times while claiming",
		l.DeploymentName, l.Environment, l.WorkflowID, claimAttempts)
}

func (s *SQL) insertLock(ctx context.Context, l Lock) (bool, error) {
	q := s.d.rebind(`INSERT INTO deployment_locks (deployment_name, environment, workflow_id, acquired_at)
VALUES (?, ?, ?, ?) ON CONFLICT (deployment_name, environment) DO NOTHING`)
	res, err := s.db.ExecContext(ctx, q, l.DeploymentName, l.Environment, l.WorkflowID, s.d.timeArg(time.Now()))
	if err != nil {
		return false, fmt.Errorf("claim lock %s/%s for workflow %s: %w", l.DeploymentName, l.Environment, l.WorkflowID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim lock %s/%s: rows affected: %w", l.DeploymentName, l.Environment, err)
	}
	return n == 1, nil
}

// Release drops the lock if l.WorkflowID holds it; otherwise it does nothing.
func (s *SQL) Release(ctx context.Context, l Lock) error {
	q := s.d.rebind("DELETE FROM deployment_locks WHERE deployment_name = ? AND environment = ? AND workflow_id = ?")
	if _, err := s.db.ExecContext(ctx, q, l.DeploymentName, l.Environment, l.WorkflowID); err != nil {
		return fmt.Errorf("release lock %s/%s for workflow %s: %w", l.DeploymentName, l.Environment, l.WorkflowID, err)
	}
	return nil
}

// Lock returns the lock on (name, env), if any.
func (s *SQL) Lock(ctx context.Context, name, env string) (Lock, bool, error) {
	q := s.d.rebind("SELECT deployment_name, environment, workflow_id FROM deployment_locks " +
		"WHERE deployment_name = ? AND environment = ?")
	var l Lock
	err := s.db.QueryRowContext(ctx, q, name, env).Scan(&l.DeploymentName, &l.Environment, &l.WorkflowID)
	if errors.Is(err, sql.ErrNoRows) {
		return Lock{}, false, nil
	}
	if err != nil {
		return Lock{}, false, fmt.Errorf("read lock %s/%s: %w", name, env, err)
	}
	return l, true, nil
}
