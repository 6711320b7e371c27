package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/seal"
)

// The evidence ledger is tamper-evident (package seal): with a signer set, every entry is chained
// to the previous entry of its deployment and signed as it is inserted, in the same transaction.
// Entries inserted without a signer, or before migration 0003, stay unsealed.

// sealColumns hold an entry's seal (migration 0003).
var sealColumns = []string{"seq", "prev_hash", "hash", "key_id", "algorithm", "signature"}

// SealWith makes every ledger entry this store inserts from now on sealed by signer: chained to
// its deployment's previous entry and signed. The worker always seals; a nil signer stops it.
func (s *SQL) SealWith(signer seal.Signer) { s.signer = signer }

// entryOf is the sealed content of a decision, as the store keeps it (NUL-safe text, time in UTC
// at microsecond precision).
func entryOf(dec Decision, seq int64) seal.Entry {
	inputs, _ := nulSafeValue(dec.Inputs).(map[string]any)
	return seal.Entry{Seq: seq, Key: nulSafe(dec.Key), WorkflowID: nulSafe(dec.WorkflowID), RunID: nulSafe(dec.RunID),
		Deployment: nulSafe(dec.Deployment), Gate: nulSafe(dec.Gate), Verdict: nulSafe(dec.Verdict), Reason: nulSafe(dec.Reason),
		Inputs: inputs, Source: nulSafe(dec.Source), Actor: nulSafe(dec.Actor), DecidedAt: dec.DecidedAt,
		ModelName: nulSafe(dec.ModelName), ModelVersion: nulSafe(dec.ModelVersion)}
}

// sealDecision seals dec onto its deployment's chain inside tx; the zero Link when the store has
// no signer or the entry is already recorded (its insert will be a no-op).
func (s *SQL) sealDecision(ctx context.Context, tx *sql.Tx, dec Decision) (seal.Link, error) {
	if s.signer == nil {
		return seal.Link{}, nil
	}
	var one int
	err := tx.QueryRowContext(ctx, s.d.rebind("SELECT 1 FROM evidence_ledger WHERE key = ?"), nulSafe(dec.Key)).Scan(&one)
	if err == nil {
		return seal.Link{}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return seal.Link{}, fmt.Errorf("seal decision %s: %w", dec.Key, err)
	}
	prev, err := s.chainHead(ctx, tx, nulSafe(dec.Deployment))
	if err != nil {
		return seal.Link{}, fmt.Errorf("seal decision %s: %w", dec.Key, err)
	}
	link, err := seal.Seal(prev, entryOf(dec, prev.Seq+1), s.signer)
	if err != nil {
		return seal.Link{}, fmt.Errorf("seal decision %s: %w", dec.Key, err)
	}
	return link, nil
}

// lockChains makes this transaction the only sealer of the decisions' deployments until it ends
// (PostgreSQL advisory locks, taken in name order so two commits cannot deadlock; SQLite's
// writers are serialised already).
func (s *SQL) lockChains(ctx context.Context, tx *sql.Tx, decs []Decision) error {
	if s.signer == nil || !s.d.postgres() {
		return nil
	}
	names := make([]string, 0, len(decs))
	for _, d := range decs {
		names = append(names, nulSafe(d.Deployment))
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('evidence_ledger:' || $1))", n); err != nil {
			return fmt.Errorf("lock the ledger chain of %s: %w", n, err)
		}
	}
	return nil
}

// chainHead is the last sealed entry's seq and hash of a deployment (zero before the first).
func (s *SQL) chainHead(ctx context.Context, q querier, deployment string) (seal.Link, error) {
	var l seal.Link
	err := q.QueryRowContext(ctx, s.d.rebind(
		"SELECT seq, hash FROM evidence_ledger WHERE deployment_name = ? AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1"),
		deployment).Scan(&l.Seq, &l.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return seal.Link{}, nil
	}
	if err != nil {
		return seal.Link{}, fmt.Errorf("read the ledger chain of %s: %w", deployment, err)
	}
	return l, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sealArgs are the seal columns' values: seq NULL for an unsealed entry.
func sealArgs(l seal.Link) []any {
	var seq any
	if !l.IsZero() {
		seq = l.Seq
	}
	return []any{seq, l.PrevHash, l.Hash, l.KeyID, l.Algorithm, l.Signature}
}

// Chain reads a deployment's ledger with its seals in the order the entries were inserted (the
// unsealed ones recorded before sealing first, then the sealed ones by seq, as the worker writes
// them). seal.Verify checks it: an unsealed entry inserted after a sealed one fails it.
func (s *SQL) Chain(ctx context.Context, deployment string) ([]seal.SealedEntry, error) {
	cols := strings.Join(append(append([]string{}, decisionColumns...), sealColumns...), ", ")
	q := s.d.rebind("SELECT " + cols + " FROM evidence_ledger WHERE deployment_name = ? ORDER BY id")
	rows, err := s.db.QueryContext(ctx, q, deployment)
	if err != nil {
		return nil, fmt.Errorf("read the ledger chain of %s: %w", deployment, err)
	}
	defer rows.Close()
	var out []seal.SealedEntry
	for rows.Next() {
		var dec Decision
		var seq sql.NullInt64
		var l seal.Link
		if err := rows.Scan(&dec.Key, &dec.WorkflowID, &dec.RunID, &dec.Deployment, &dec.Gate, &dec.Verdict, &dec.Reason,
			jsonCol[map[string]any]{&dec.Inputs}, &dec.Source, &dec.Actor, timeCol{&dec.DecidedAt}, &dec.ModelName, &dec.ModelVersion,
			&seq, &l.PrevHash, &l.Hash, &l.KeyID, &l.Algorithm, &l.Signature); err != nil {
			return nil, fmt.Errorf("read the ledger chain of %s: %w", deployment, err)
		}
		l.Seq = seq.Int64
		out = append(out, seal.SealedEntry{Entry: entryOf(dec, seq.Int64), Link: l})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the ledger chain of %s: %w", deployment, err)
	}
	return out, nil
}

// LedgerDeployments lists the deployment names the ledger has entries for, sorted.
func (s *SQL) LedgerDeployments(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT deployment_name FROM evidence_ledger ORDER BY deployment_name")
	if err != nil {
		return nil, fmt.Errorf("read the ledger's deployments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read the ledger's deployments: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
