-- A version stamp per brand for its public review feed: it goes up, in the same
-- transaction, with every change to what the feed shows, whoever makes it (this process,
-- another Earshot process sharing the database, or a person with a SQL shell). The API
-- keeps each feed it built with the stamp it read, and builds it again when the stamp
-- has moved. Triggers rather than code in the store, so that no write path can forget it.

ALTER TABLE brands ADD COLUMN feed_version INTEGER NOT NULL DEFAULT 0;

-- A review that is, or was, approved: published, withdrawn, or its excerpt changed.
CREATE TRIGGER reviews_feed_insert AFTER INSERT ON reviews
WHEN NEW.status = 'approved'
BEGIN
    UPDATE brands SET feed_version = feed_version + 1 WHERE id = NEW.brand_id;
END;

CREATE TRIGGER reviews_feed_update AFTER UPDATE ON reviews
WHEN OLD.status = 'approved' OR NEW.status = 'approved'
BEGIN
    UPDATE brands SET feed_version = feed_version + 1 WHERE id IN (OLD.brand_id, NEW.brand_id);
END;

CREATE TRIGGER reviews_feed_delete AFTER DELETE ON reviews
WHEN OLD.status = 'approved'
BEGIN
    UPDATE brands SET feed_version = feed_version + 1 WHERE id = OLD.brand_id;
END;

-- The mention behind an approved review: the feed shows its title, text, author, link,
-- date, rating and source. (The sentiment worker's lease columns are left out: claiming
-- a mention for classification does not change the feed.)
CREATE TRIGGER mentions_feed_update
AFTER UPDATE OF source_id, brand_id, url, title, snippet, author, published_at,
    discovered_at, rating ON mentions
WHEN EXISTS (SELECT 1 FROM reviews WHERE mention_id = NEW.id AND status = 'approved')
BEGIN
    UPDATE brands SET feed_version = feed_version + 1 WHERE id IN (OLD.brand_id, NEW.brand_id);
END;

-- A source's name is shown with each review (names do not change in Earshot; a SQL
-- shell can change them).
CREATE TRIGGER sources_feed_update AFTER UPDATE OF name ON sources
WHEN OLD.name <> NEW.name
BEGIN
    UPDATE brands SET feed_version = feed_version + 1;
END;
