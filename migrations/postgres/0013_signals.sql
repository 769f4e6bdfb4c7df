-- The auxiliary heads' verdicts on each classified mention (issue 8): the hate head's and
-- the mixed head's probability, and whether it reached the head's threshold (1 or 0).
-- NULL when the model that classified the mention had no such head.

ALTER TABLE sentiments ADD COLUMN hate DOUBLE PRECISION;
ALTER TABLE sentiments ADD COLUMN hate_flagged BIGINT;
ALTER TABLE sentiments ADD COLUMN mixed DOUBLE PRECISION;
ALTER TABLE sentiments ADD COLUMN mixed_flagged BIGINT;
