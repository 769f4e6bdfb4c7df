-- Sentiment: one current result per mention (replaced, never duplicated, when a newer
-- model re-classifies), a lease for the classifier worker, and review ratings.

ALTER TABLE mentions ADD COLUMN rating DOUBLE PRECISION;               -- a review's stars, normalised to 0..1
ALTER TABLE mentions ADD COLUMN classify_claimed_by TEXT;
ALTER TABLE mentions ADD COLUMN classify_claimed_until BIGINT;

CREATE TABLE sentiments (
    mention_id     BIGINT PRIMARY KEY REFERENCES mentions (id),
    label          TEXT NOT NULL,     -- the final label: negative, neutral or positive
    model_label    TEXT NOT NULL,     -- the model's own label, before rating rules
    p_negative     DOUBLE PRECISION NOT NULL,
    p_neutral      DOUBLE PRECISION NOT NULL,
    p_positive     DOUBLE PRECISION NOT NULL,
    score          DOUBLE PRECISION NOT NULL,     -- p_positive - p_negative
    language       TEXT,              -- ISO 639-1, NULL when not detected
    model          TEXT NOT NULL,     -- model id and version, e.g. earshot/e5-small-sentiment@1
    embedding      BYTEA,              -- f32 little-endian
    classified_at  BIGINT NOT NULL
);

CREATE INDEX sentiments_label ON sentiments (label);
