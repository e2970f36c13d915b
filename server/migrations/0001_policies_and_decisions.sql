-- The policy registry: every compiled policy the service has served, by its digest, so that a
-- record is explained with the very policy that decided it.
CREATE TABLE policies (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    ir_json TEXT NOT NULL,
    registered_at TEXT NOT NULL
);

-- Decision records: one per `POST /v1/decisions` (a retry with the same Idempotency-Key finds
-- the first). `id` is the database's increasing key; `{{ID_COLUMN}}` is its type in each database.
CREATE TABLE decisions (
    id {{ID_COLUMN}},
    created_at TEXT NOT NULL,
    case_id TEXT,
    case_json TEXT NOT NULL,
    as_of TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    policy_digest TEXT NOT NULL REFERENCES policies (digest),
    decision_json TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    idempotency_key TEXT,
    UNIQUE (requested_by, idempotency_key)
);

CREATE INDEX decisions_by_case ON decisions (case_id, id);
