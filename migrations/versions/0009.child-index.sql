-- Finding a child and one record per child (issue 12, item 2). Beside each child's wrapped key,
-- two keyed blind indexes (HMAC-SHA256 under a key derived from the service key, as a donor's
-- name index): `name_index` of (folded full name, commune) lets staff find a child by its exact
-- name without decrypting every record; `match_index` of (folded full name, birth year,
-- commune) tells a likely second registration of the same child. Both live in the key's row, so
-- erasing the child (which deletes the row) shreds them with the key. Children registered
-- before have none (NULL): they are found by code only. Plain SQL for both backends.
-- depends: 0008.cancelled-pledges

ALTER TABLE child_keys ADD COLUMN name_index TEXT;
ALTER TABLE child_keys ADD COLUMN match_index TEXT;
CREATE INDEX child_keys_name_index ON child_keys (name_index);
CREATE INDEX child_keys_match_index ON child_keys (match_index);
-- A child is found by its code within a commune.
CREATE INDEX children_commune_code ON children (commune, code);
