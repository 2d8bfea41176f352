-- Allocations made by an admin's override of the extremely-difficult rule (issue 12, item 7):
-- counted on the public summary. An allocation recorded before had no override (0). Plain SQL
-- for both backends.
-- depends: 0009.child-index

ALTER TABLE allocations ADD COLUMN override INTEGER NOT NULL DEFAULT 0;
