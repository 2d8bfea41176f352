-- PostgreSQL only (migrations/__init__.py applies a `.postgresql` migration there alone): a
-- trigram index on the distinct donor names, so that a search `folded LIKE '%name%'` finds the
-- names that match without reading them all. It is on public_names, not on the million rows of
-- public_donations: there, a name's trigrams have long posting lists (a common name's are a fifth
-- of the table), and the planner, choosing between that index and walking the position index
-- from the estimate of a LIKE pattern, sometimes walked the whole table for a rare name.
-- depends: 0004.public-speed

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX public_names_trgm ON public_names USING gin (folded gin_trgm_ops);
