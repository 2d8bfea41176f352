-- A cancelled pledge still counts as pledged for the part its receipts had paid (issue 12, item
-- 7; domain/donors.py counted_as_pledged): the donations projection's `pledged_vnd` counter is
-- recomputed from its own `pledges` rows, which are at the same position as the counter (one
-- transaction wrote both). Without a row (no pledge yet) there is nothing to change. Plain SQL
-- for both backends.
-- depends: 0007.public-search

UPDATE public_counters SET value = (
    SELECT COALESCE(SUM(CASE WHEN cancelled = 0 THEN amount_vnd
                             WHEN received_vnd <= 0 THEN 0
                             WHEN received_vnd < amount_vnd THEN received_vnd
                             ELSE amount_vnd END), 0)
    FROM pledges)
WHERE name = 'pledged_vnd';
