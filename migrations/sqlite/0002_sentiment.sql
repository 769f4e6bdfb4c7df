-- Sentiment: one current result per mention (replaced, never duplicated, when a newer
-- model re-classifies), a lease for the classifier worker, and review ratings.

ALTER TABLE mentions ADD COLUMN rating REAL;               -- a review's stars, normalised to 0..1
ALTER TABLE mentions ADD COLUMN classify_claimed_by TEXT;
ALTER TABLE mentions ADD COLUMN classify_claimed_until INTEGER;

CREATE TABLE sentiments (
    mention_id     INTEGER PRIMARY KEY REFERENCES mentions (id),
    label          TEXT NOT NULL,     -- the final label: negative, neutral or positive
    model_label    TEXT NOT NULL,     -- the model's own label, before rating rules
    p_negative     REAL NOT NULL,
    p_neutral      REAL NOT NULL,
    p_positive     REAL NOT NULL,
    score          REAL NOT NULL,     -- p_positive - p_negative
    language       TEXT,              -- ISO 639-1, NULL when not detected
    model          TEXT NOT NULL,     -- model id and version, e.g. earshot/e5-small-sentiment@1
    embedding      BLOB,              -- f32 little-endian
    classified_at  INTEGER NOT NULL
);

CREATE INDEX sentiments_label ON sentiments (label);
