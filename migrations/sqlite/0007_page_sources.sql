-- Forum, review and page sources: a source's recipe (where the posts are on its pages)
-- and its own per-host interval; what a crawl could not read; a review page's
-- aggregate rating over time.

-- JSON: the recipe as configured (preset and selectors); NULL for feeds and pages
ALTER TABLE sources ADD COLUMN recipe TEXT;
-- the least time between two requests to the source's host, when it asks for more
-- than the crawler's default
ALTER TABLE sources ADD COLUMN host_interval_ms INTEGER;
-- JSON array of strings: what a successful crawl could not read (a broken JSON-LD
-- block, a post without a body); NULL when nothing
ALTER TABLE crawl_runs ADD COLUMN problems TEXT;

-- A review page's aggregate rating (schema.org AggregateRating) each time it was read.
CREATE TABLE source_ratings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id    INTEGER NOT NULL REFERENCES sources (id),
    observed_at  INTEGER NOT NULL,
    value        REAL NOT NULL,       -- normalised to 0..1
    raw_value    REAL NOT NULL,       -- as the page gave it, on its own scale
    best         REAL NOT NULL,
    worst        REAL NOT NULL,
    rating_count INTEGER              -- ratingCount, else reviewCount, if the page said
);

CREATE INDEX source_ratings_source ON source_ratings (source_id, observed_at);
