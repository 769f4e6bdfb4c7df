-- API keys with roles, alert rules, alerts with their history, and people's sentiment
-- corrections (kept beside the model's result, never over it).

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,          -- admin, pr, marketing or viewer
    key_hash      TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the key; the key itself is never stored
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,                -- to within a minute
    revoked_at    INTEGER
);

CREATE TABLE alert_rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id    INTEGER NOT NULL REFERENCES brands (id),
    threshold   REAL NOT NULL,            -- P(negative) at or above which an alert opens
    sources     TEXT,                     -- JSON array of source names; NULL: any source
    languages   TEXT,                     -- JSON array of ISO 639-1 codes; NULL: any language
    origin      TEXT NOT NULL,            -- config (kept in step with the file) or api
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    retired_at  INTEGER                   -- deleted, or gone from the config; its alerts stay
);

CREATE INDEX alert_rules_brand ON alert_rules (brand_id);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mention_id  INTEGER NOT NULL REFERENCES mentions (id),
    brand_id    INTEGER NOT NULL REFERENCES brands (id),
    rule_id     INTEGER NOT NULL REFERENCES alert_rules (id),
    severity    TEXT NOT NULL,            -- low, medium or high
    status      TEXT NOT NULL,            -- open, acknowledged, resolved or dismissed
    assignee    TEXT,
    notes       TEXT,
    opened_at   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- One alert per mention, however often it is re-classified.
CREATE UNIQUE INDEX alerts_mention ON alerts (mention_id);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_brand ON alerts (brand_id, status, id);

CREATE TABLE alert_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id      INTEGER NOT NULL REFERENCES alerts (id),
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,          -- the key's name at the time, or "earshot"
    actor_key_id  INTEGER REFERENCES api_keys (id),
    action        TEXT NOT NULL,          -- open, acknowledge, resolve, dismiss, assign, note
    from_status   TEXT,
    to_status     TEXT,
    assignee      TEXT,
    note          TEXT
);

CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

CREATE TABLE sentiment_corrections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mention_id    INTEGER NOT NULL REFERENCES mentions (id),
    label         TEXT NOT NULL,          -- negative, neutral or positive
    actor         TEXT NOT NULL,
    actor_key_id  INTEGER REFERENCES api_keys (id),
    corrected_at  INTEGER NOT NULL
);

-- The latest correction of a mention is the one that counts.
CREATE INDEX sentiment_corrections_mention ON sentiment_corrections (mention_id, id);
