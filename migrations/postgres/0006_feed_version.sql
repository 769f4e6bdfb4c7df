-- A version stamp per brand for its public review feed: it goes up, in the same
-- transaction, with every change to what the feed shows, whoever makes it (this process,
-- another Earshot process sharing the database, or a person with a SQL shell). The API
-- keeps each feed it built with the stamp it read, and builds it again when the stamp
-- has moved. Triggers rather than code in the store, so that no write path can forget it.
-- The bump takes the brand row's lock until the writer commits, so concurrent stamps
-- follow commit order (a sequence would not).

ALTER TABLE brands ADD COLUMN feed_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bump_feed_version_of(brand BIGINT) RETURNS void LANGUAGE sql AS
    'UPDATE brands SET feed_version = feed_version + 1 WHERE id = brand';

-- A review that is, or was, approved: published, withdrawn, or its excerpt changed.
-- Statement-level, over the statement's transition tables: each brand a statement touches
-- is raised once, so a statement that changes many reviews updates each brand row once
-- instead of once per review (repeated updates of one row in one transaction each leave
-- a row version that the next one has to walk past).
CREATE FUNCTION reviews_feed_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE brands SET feed_version = feed_version + 1
    WHERE id IN (SELECT brand_id FROM new_rows WHERE status = 'approved');
    RETURN NULL;
END;
$$;

CREATE FUNCTION reviews_feed_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE brands SET feed_version = feed_version + 1
    WHERE id IN (SELECT brand_id FROM old_rows WHERE status = 'approved'
                 UNION SELECT brand_id FROM new_rows WHERE status = 'approved');
    RETURN NULL;
END;
$$;

CREATE FUNCTION reviews_feed_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE brands SET feed_version = feed_version + 1
    WHERE id IN (SELECT brand_id FROM old_rows WHERE status = 'approved');
    RETURN NULL;
END;
$$;

CREATE TRIGGER reviews_feed_insert AFTER INSERT ON reviews
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reviews_feed_inserted();

CREATE TRIGGER reviews_feed_update AFTER UPDATE ON reviews
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION reviews_feed_updated();

CREATE TRIGGER reviews_feed_delete AFTER DELETE ON reviews
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION reviews_feed_deleted();

-- The mention behind an approved review: the feed shows its title, text, author, link,
-- date, rating and source. (The sentiment worker's lease columns are left out: claiming
-- a mention for classification does not change the feed.)
CREATE FUNCTION mentions_feed_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reviews WHERE mention_id = NEW.id AND status = 'approved') THEN
        PERFORM bump_feed_version_of(OLD.brand_id);
        IF NEW.brand_id <> OLD.brand_id THEN
            PERFORM bump_feed_version_of(NEW.brand_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER mentions_feed
AFTER UPDATE OF source_id, brand_id, url, title, snippet, author, published_at,
    discovered_at, rating ON mentions
FOR EACH ROW EXECUTE FUNCTION mentions_feed_changed();

-- A source's name is shown with each review (names do not change in Earshot; a SQL
-- shell can change them).
CREATE FUNCTION sources_feed_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE brands SET feed_version = feed_version + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sources_feed AFTER UPDATE OF name ON sources
FOR EACH ROW WHEN (OLD.name <> NEW.name) EXECUTE FUNCTION sources_feed_changed();
