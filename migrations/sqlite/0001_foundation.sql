-- Brands, sources with their crawl state, crawl runs, and mentions.

CREATE TABLE brands (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    terms       TEXT NOT NULL,           -- JSON array of strings
    exclude     TEXT NOT NULL,           -- JSON array of strings
    updated_at  INTEGER NOT NULL
);

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    every_secs      INTEGER NOT NULL,
    retired_at      INTEGER,             -- set when the source leaves the config; its mentions stay
    next_check_at   INTEGER,
    etag            TEXT,
    last_modified   TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_success_at INTEGER,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    updated_at      INTEGER NOT NULL
);

CREATE INDEX sources_due ON sources (next_check_at);

CREATE TABLE crawl_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id     INTEGER NOT NULL REFERENCES sources (id),
    worker        TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL,
    http_status   INTEGER,
    bytes         INTEGER NOT NULL,
    items_seen    INTEGER NOT NULL,
    new_mentions  INTEGER NOT NULL,
    error         TEXT
);

CREATE INDEX crawl_runs_source ON crawl_runs (source_id, id);

CREATE TABLE mentions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id      INTEGER NOT NULL REFERENCES sources (id),
    brand_id       INTEGER NOT NULL REFERENCES brands (id),
    dedup_key      TEXT NOT NULL,
    url            TEXT,
    title          TEXT NOT NULL,
    snippet        TEXT NOT NULL,
    matched_term   TEXT NOT NULL,
    author         TEXT,
    published_at   INTEGER,
    discovered_at  INTEGER NOT NULL
);

CREATE UNIQUE INDEX mentions_dedup ON mentions (source_id, brand_id, dedup_key);
CREATE INDEX mentions_brand ON mentions (brand_id, id);
CREATE INDEX mentions_when ON mentions (discovered_at);
