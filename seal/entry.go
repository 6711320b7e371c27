// Package seal makes the evidence ledger tamper-evident. Each entry of a deployment's ledger is
// chained to the one before it by a SHA-256 hash over a canonical encoding of the entry (see
// Canonical), and the hash is signed by the worker's Ed25519 key; the key ID and algorithm are
// recorded with the entry. Verify recomputes a deployment's chain and its signatures and names the
// first entry that does not match; ExportJSONL writes a ledger as JSON lines for CI.
//
// The package knows nothing of the store: the store maps its rows to Entry and Link.
//
// What the chain proves and what it does not: editing, removing, inserting or reordering entries
// inside the chain is detected by anyone holding the public keys. Removing the newest entries
// (truncating the tail) leaves a shorter chain that still verifies; compare Report.Head with a
// head recorded elsewhere (a CI artefact, the workflow history) to detect that. Entries recorded
// before sealing existed are reported as unsealed, not verified (see Verify).
package seal

import "time"

// Entry is the sealed content of one ledger entry: the fields of the store's Decision, with the
// same JSON names, and Seq, its position in its deployment's chain (1, 2, 3, ...; 0 for an entry
// recorded before sealing existed).
type Entry struct {
	Seq          int64          `json:"seq"`
	Key          string         `json:"key"`
	WorkflowID   string         `json:"workflow_id"`
	RunID        string         `json:"run_id"`
	Deployment   string         `json:"deployment_name"`
	Gate         string         `json:"gate"`
	Verdict      string         `json:"verdict"`
	Reason       string         `json:"reason"`
	Inputs       map[string]any `json:"inputs"`
	Source       string         `json:"source"`
	Actor        string         `json:"actor"`
	DecidedAt    time.Time      `json:"decided_at"`
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version"`
}

// Link is the seal of one entry: where it sits in the chain, its hash and the signature over it.
// Hashes are lower-case hex SHA-256 digests, the signature lower-case hex. The zero Link is the
// seal of an entry recorded before sealing existed, and the prev of a chain's first entry.
type Link struct {
	Seq       int64  `json:"seq"`
	PrevHash  string `json:"prev_hash"` // Hash of the previous entry; Genesis(deployment) for Seq 1
	Hash      string `json:"hash"`      // hex SHA-256(prev hash bytes || Canonical(entry))
	KeyID     string `json:"key_id"`    // the signing key's kid
	Algorithm string `json:"algorithm"` // AlgEdDSA
	Signature string `json:"signature"` // hex signature over the 32 bytes of Hash
}

// IsZero reports whether l is the zero Link: an unsealed entry.
func (l Link) IsZero() bool { return l == Link{} }

// SealedEntry is a ledger entry with its seal, as the store reads it back.
type SealedEntry struct {
	Entry Entry `json:"entry"`
	Link  Link  `json:"seal"`
}
