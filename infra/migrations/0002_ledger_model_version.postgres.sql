-- 0002: each evidence-ledger entry names the model version it is about, so the Production rung can
-- find the measured shadow evidence recorded for a version by any earlier run.
ALTER TABLE evidence_ledger ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence_ledger ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
CREATE INDEX evidence_ledger_model_version_idx
    ON evidence_ledger (model_name, model_version, gate, source, decided_at);
