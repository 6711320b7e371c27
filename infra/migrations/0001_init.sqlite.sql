-- 0001_init (SQLite): deployment records, model registry mirror, evidence ledger, in-flight locks.
-- Column names follow seed 000's ml_deployments contract (model_version_id, target_stage, ...).
-- Timestamps are TEXT in a fixed-width UTC form (2006-01-02T15:04:05.000000Z), so they sort as
-- strings; JSON columns are TEXT; booleans are 0/1.

CREATE TABLE ml_deployments (
    deployment_id               TEXT PRIMARY KEY CHECK (deployment_id <> ''),
    deployment_name             TEXT NOT NULL CHECK (deployment_name <> ''),
    environment                 TEXT NOT NULL CHECK (environment <> ''),
    model_name                  TEXT NOT NULL DEFAULT '',
    model_version_id            TEXT NOT NULL DEFAULT '',
    experiment_id               TEXT NOT NULL DEFAULT '',
    target_stage                TEXT NOT NULL DEFAULT '',
    endpoint_name               TEXT NOT NULL DEFAULT '',
    endpoint_url                TEXT NOT NULL DEFAULT '',
    status                      TEXT NOT NULL CHECK (status IN
        ('in_progress', 'healthy', 'failed', 'rolled_back', 'aborted', 'superseded')),
    replicas                    INTEGER NOT NULL DEFAULT 0 CHECK (replicas >= 0),
    cpu_limit                   TEXT NOT NULL DEFAULT '',
    memory_limit                TEXT NOT NULL DEFAULT '',
    autoscaling                 TEXT,
    bento_tag                   TEXT NOT NULL DEFAULT '',
    image                       TEXT NOT NULL DEFAULT '',
    manifest                    TEXT,
    workflow_id                 TEXT NOT NULL DEFAULT '',
    run_id                      TEXT NOT NULL DEFAULT '',
    deployed_by                 TEXT NOT NULL DEFAULT '',
    deployed_at                 TEXT NOT NULL,
    deployment_duration_seconds REAL NOT NULL DEFAULT 0,
    health_passed               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL
);

-- LastKnownGood: newest healthy deployment of (deployment_name, environment).
CREATE INDEX ml_deployments_last_known_good_idx
    ON ml_deployments (deployment_name, environment, status, deployed_at DESC);
CREATE INDEX ml_deployments_workflow_idx ON ml_deployments (workflow_id);

CREATE TABLE ml_model_registry (
    registered_model_name TEXT NOT NULL CHECK (registered_model_name <> ''),
    version               TEXT NOT NULL CHECK (version <> ''),
    experiment_id         TEXT NOT NULL DEFAULT '',
    model_uri             TEXT NOT NULL DEFAULT '',
    stage                 TEXT NOT NULL DEFAULT '',
    deployment_id         TEXT,
    deployed_at           TEXT,
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (registered_model_name, version)
);

CREATE INDEX ml_model_registry_experiment_idx ON ml_model_registry (experiment_id);

CREATE TABLE evidence_ledger (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE CHECK (key <> ''),
    workflow_id     TEXT NOT NULL,
    run_id          TEXT NOT NULL DEFAULT '',
    deployment_name TEXT NOT NULL DEFAULT '',
    gate            TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    inputs          TEXT,
    source          TEXT NOT NULL DEFAULT '',
    actor           TEXT NOT NULL DEFAULT '',
    decided_at      TEXT NOT NULL
);

CREATE INDEX evidence_ledger_workflow_idx ON evidence_ledger (workflow_id, decided_at, id);

CREATE TABLE deployment_locks (
    deployment_name TEXT NOT NULL CHECK (deployment_name <> ''),
    environment     TEXT NOT NULL CHECK (environment <> ''),
    workflow_id     TEXT NOT NULL CHECK (workflow_id <> ''),
    acquired_at     TEXT NOT NULL,
    PRIMARY KEY (deployment_name, environment)
);
