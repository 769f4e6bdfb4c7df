-- Reviews for marketing: one review candidate per mention (positive ones, and those with a
-- star rating), moderated to approved or rejected; and each brand's optional
-- auto-approve rule, kept in step with the config file.

ALTER TABLE brands ADD COLUMN auto_approve_min_rating REAL;    -- NULL: no rating bound
ALTER TABLE brands ADD COLUMN auto_approve_min_positive REAL;  -- NULL: no P(positive) bound
                                                               -- both NULL: no rule

CREATE TABLE reviews (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    mention_id         INTEGER NOT NULL REFERENCES mentions (id),
    brand_id           INTEGER NOT NULL REFERENCES brands (id),
    status             TEXT NOT NULL,          -- pending, approved or rejected
    excerpt            TEXT,                   -- a contiguous part of the snippet, chosen at approval
    reason             TEXT,                   -- why it was rejected
    decided_by         TEXT,                   -- the key's name then, or "auto-approve rule"
    decided_by_key_id  INTEGER REFERENCES api_keys (id),
    decided_at         INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- One review per mention, however often it is re-classified.
CREATE UNIQUE INDEX reviews_mention ON reviews (mention_id);
CREATE INDEX reviews_status ON reviews (status, id);
CREATE INDEX reviews_brand ON reviews (brand_id, status, id);
