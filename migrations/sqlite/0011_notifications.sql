-- Notifications through a stored outbox: one row per (alert, channel), written in the
-- transaction that opens the alert, then leased, sent and recorded by a delivery loop.

-- The channels a rule tells about its alerts: a JSON array of channel names; NULL: none.
ALTER TABLE alert_rules ADD COLUMN channels TEXT;

CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         INTEGER NOT NULL REFERENCES alerts (id),
    channel          TEXT NOT NULL,          -- a [[channels]] name in the config
    status           TEXT NOT NULL,          -- pending, sent or failed (given up)
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,       -- when a pending row may be tried (again)
    last_error       TEXT,
    claimed_by       TEXT,                   -- the delivery worker holding the lease
    claimed_until    INTEGER,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);

-- One notification per alert and channel, however the alert came to be written.
CREATE UNIQUE INDEX notifications_alert_channel ON notifications (alert_id, channel);
-- What a delivery loop claims: a channel's due pending rows, oldest first.
CREATE INDEX notifications_due ON notifications (channel, status, next_attempt_at, id);
CREATE INDEX notifications_status ON notifications (status, id);
