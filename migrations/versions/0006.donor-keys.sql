-- Donors' legal names and contacts are sealed with a per-donor key (DESIGN §6), as children's
-- personal fields are: the wrapped key lives here, outside the log, with a keyed blind index of
-- the folded legal name (HMAC-SHA256 under a key derived from the service key) that lets bank
-- reconciliation find a donor by the exact name on a bank line. Erasing a donor deletes the row.
-- No read model keeps a legal name any longer: the names once copied there are blanked.
-- Plain SQL that SQLite and PostgreSQL both accept.
-- depends: 0005.token-lifecycle

CREATE TABLE donor_keys (
    donor_id TEXT PRIMARY KEY,
    wrapped_key TEXT NOT NULL,
    name_index TEXT NOT NULL
);
CREATE INDEX donor_keys_name_index ON donor_keys (name_index);

UPDATE donors SET name = '';
UPDATE bank_donors SET name = '', name_folded = '';
