-- Alerts of three kinds: `mention` (a rule matched a negative mention; every alert
-- before this migration), `spike` (a brand's hourly negative mentions jumped) and
-- `source` (a source kept failing). A spike alert has a brand but no mention or rule; a
-- source alert has a source but no brand, mention or rule. `details` holds a spike's
-- numbers or a source's failure as JSON.

ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'mention';
ALTER TABLE alerts ALTER COLUMN mention_id DROP NOT NULL;
ALTER TABLE alerts ALTER COLUMN brand_id DROP NOT NULL;
ALTER TABLE alerts ALTER COLUMN rule_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN source_id BIGINT REFERENCES sources (id);
ALTER TABLE alerts ADD COLUMN spike_hour BIGINT;
ALTER TABLE alerts ADD COLUMN details TEXT;

-- One spike alert per brand and hour, whatever races; the cooldown is in spike_cooldowns.
CREATE UNIQUE INDEX alerts_spike ON alerts (brand_id, spike_hour);
CREATE INDEX alerts_source ON alerts (source_id, status);

-- Per brand, the hour of its latest spike alert: a spike opens only when its hour is at
-- least the cooldown after this one, checked and moved in one statement.
CREATE TABLE spike_cooldowns (
    brand_id  BIGINT PRIMARY KEY REFERENCES brands (id),
    hour      BIGINT NOT NULL
);

-- Set when a source reaches `[crawler] unhealthy_after` consecutive failures (and its
-- one source alert opens); cleared by its next successful crawl.
ALTER TABLE sources ADD COLUMN unhealthy_since BIGINT;
