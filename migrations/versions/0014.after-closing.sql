-- Entries recorded after their season was closed (issue 13, item 5; projections/after_closing.py):
-- the public season page lists them. Only public facts; the admin's reason stays in the event.
-- No event before this release carries `after_closing`, so the table starts empty and the new
-- projection's first run over the log adds nothing. Plain SQL for both backends.
-- depends: 0013.bank-currency

CREATE TABLE recorded_after_closing (
    position BIGINT PRIMARY KEY,
    season TEXT NOT NULL,
    kind TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    dated_on TEXT,
    amount_vnd BIGINT NOT NULL,
    commune TEXT,
    category TEXT,
    reference TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX recorded_after_closing_season ON recorded_after_closing (season, position);
