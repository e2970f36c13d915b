-- The district commission's app (issue 20): commissions, their people, surveys and their
-- revisions, conclusions, signatures and the audit log. Nothing of a survey is updated in place:
-- a correction is a new revision. The only column ever updated is `conclusions.status`, and each
-- change of it is an audit entry.

CREATE TABLE commissions (
    id {{ID_COLUMN}},
    name TEXT NOT NULL UNIQUE,
    district TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- `role` is member, chair, analyst or admin; a member or chair belongs to one commission.
CREATE TABLE users (
    id {{ID_COLUMN}},
    login TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    commission_id BIGINT REFERENCES commissions (id),
    created_at TEXT NOT NULL
);

-- One chair per commission.
CREATE UNIQUE INDEX one_chair_per_commission ON users (commission_id) WHERE role = 'chair';

CREATE TABLE surveys (
    id {{ID_COLUMN}},
    commission_id BIGINT NOT NULL REFERENCES commissions (id),
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);

-- The location is kept as the browser gave it (decimal text), never as floating point.
CREATE TABLE survey_revisions (
    id {{ID_COLUMN}},
    survey_id BIGINT NOT NULL REFERENCES surveys (id),
    number BIGINT NOT NULL,
    case_id TEXT,
    case_json TEXT NOT NULL,
    latitude TEXT,
    longitude TEXT,
    accuracy TEXT,
    located_at TEXT,
    author_id BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    UNIQUE (survey_id, number)
);

-- A conclusion is the decision record (`decisions`) of one revision; `status` is draft, sent,
-- final or voided.
CREATE TABLE conclusions (
    id {{ID_COLUMN}},
    revision_id BIGINT NOT NULL UNIQUE REFERENCES survey_revisions (id),
    decision_id BIGINT NOT NULL REFERENCES decisions (id),
    policy_version TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- `verdict` is signed or declined (with a reason).
CREATE TABLE signatures (
    id {{ID_COLUMN}},
    conclusion_id BIGINT NOT NULL REFERENCES conclusions (id),
    member_id BIGINT NOT NULL REFERENCES users (id),
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    UNIQUE (conclusion_id, member_id)
);

-- The append-only audit log: each entry carries the SHA-256 of the entry before it and of the
-- row it is about, as the row was after the action. `previous_sha256` is unique, so two writers
-- can never fork the chain.
CREATE TABLE audit_log (
    id {{ID_COLUMN}},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    row_sha256 TEXT NOT NULL,
    previous_sha256 TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL
);
