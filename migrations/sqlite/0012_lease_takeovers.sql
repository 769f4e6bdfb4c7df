-- Lease takeovers: a claim of a row whose lease expired while another worker still held
-- it (that worker died, hung or lost the database mid-crawl or mid-batch). The claim
-- records whom it took the row from, so the worker can count and log the takeover
-- (`lease_takeover` in the log). NULL: the latest claim took a free row.

ALTER TABLE sources ADD COLUMN lease_taken_from TEXT;
ALTER TABLE mentions ADD COLUMN classify_taken_from TEXT;
