-- Alerts of three kinds: `mention` (a rule matched a negative mention; every alert
-- before this migration), `spike` (a brand's hourly negative mentions jumped) and
-- `source` (a source kept failing). A spike alert has a brand but no mention or rule; a
-- source alert has a source but no brand, mention or rule. `details` holds a spike's
-- numbers or a source's failure as JSON.
--
-- SQLite cannot drop NOT NULL from a column, so the alerts table is rebuilt under its
-- own name, ids kept. The migrator runs this in a transaction, where `PRAGMA
-- foreign_keys` cannot change; `defer_foreign_keys` can: the rows of alert_events (and
-- any other table pointing at alerts) lose their parent when the old table is dropped
-- and find it again when the copy is inserted, and the check happens at commit.

PRAGMA defer_foreign_keys = ON;

CREATE TABLE alerts_before_0010 AS SELECT * FROM alerts;

DROP TABLE alerts;

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL DEFAULT 'mention',     -- mention, spike or source
    mention_id  INTEGER REFERENCES mentions (id),    -- kind mention only
    brand_id    INTEGER REFERENCES brands (id),      -- kinds mention and spike
    rule_id     INTEGER REFERENCES alert_rules (id), -- kind mention only
    source_id   INTEGER REFERENCES sources (id),     -- kind source only
    spike_hour  INTEGER,                             -- kind spike: the start of the hour
    details     TEXT,                                -- JSON: a spike's numbers, a source's failure
    severity    TEXT NOT NULL,                       -- low, medium or high
    status      TEXT NOT NULL,                       -- open, acknowledged, resolved or dismissed
    assignee    TEXT,
    notes       TEXT,
    opened_at   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

INSERT INTO alerts (id, kind, mention_id, brand_id, rule_id, severity, status, assignee,
    notes, opened_at, updated_at)
SELECT id, 'mention', mention_id, brand_id, rule_id, severity, status, assignee, notes,
    opened_at, updated_at
FROM alerts_before_0010 ORDER BY id;

DROP TABLE alerts_before_0010;

-- One alert per mention, however often it is re-classified.
CREATE UNIQUE INDEX alerts_mention ON alerts (mention_id);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_brand ON alerts (brand_id, status, id);
-- One spike alert per brand and hour, whatever races; the cooldown is in spike_cooldowns.
CREATE UNIQUE INDEX alerts_spike ON alerts (brand_id, spike_hour);
CREATE INDEX alerts_source ON alerts (source_id, status);

-- Per brand, the hour of its latest spike alert: a spike opens only when its hour is at
-- least the cooldown after this one, checked and moved in one statement.
CREATE TABLE spike_cooldowns (
    brand_id  INTEGER PRIMARY KEY REFERENCES brands (id),
    hour      INTEGER NOT NULL
);

-- Set when a source reaches `[crawler] unhealthy_after` consecutive failures (and its
-- one source alert opens); cleared by its next successful crawl.
ALTER TABLE sources ADD COLUMN unhealthy_since INTEGER;
