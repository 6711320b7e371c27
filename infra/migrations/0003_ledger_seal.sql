-- 0003: a tamper-evident evidence ledger. Each entry is chained to the previous one of its
-- deployment (seq, prev_hash, hash: SHA-256 over the previous hash and the entry's canonical
-- encoding, see package seal) and signed by the worker's key (key_id, algorithm, signature).
-- Entries written before this migration stay unsealed (seq NULL), at the start of their chain.
ALTER TABLE evidence_ledger ADD COLUMN seq BIGINT;
ALTER TABLE evidence_ledger ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence_ledger ADD COLUMN hash TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence_ledger ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence_ledger ADD COLUMN algorithm TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence_ledger ADD COLUMN signature TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX evidence_ledger_chain_idx ON evidence_ledger (deployment_name, seq);
