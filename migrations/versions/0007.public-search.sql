-- Honest public figures and a search by what is public only (issue 10, items 5 and 6).
--
-- Children reached are now distinct children at every grain (docs/public-figures.md): the
-- donations projection keeps, per child, the distributions naming it at each grain (season or all
-- seasons × everywhere, a district or a commune × a category or all categories), and per grain
-- the distinct children, the children counted in groups and the overrides. This replaces
-- public_reached and public_programme_children (distinct per programme, summed: inflated).
-- public_distributions gains the commune.
--
-- A donor is now searchable by the name shown publicly only (never by a legal name hidden behind
-- a public name). Folding names needs the code's `fold`, so instead of a backfill in SQL the
-- donations projection is emptied and its position reset: the runner projects it again from the
-- start of the log (the other projections are untouched). Plain SQL for both backends.
-- depends: 0005.token-lifecycle

DROP TABLE public_reached;
DROP TABLE public_programme_children;
DROP TABLE public_distributions;

-- what each distribution added to the totals below, to take it out again if it is reversed
CREATE TABLE public_distributions (
    distribution_id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL,
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    commune TEXT NOT NULL,
    category TEXT NOT NULL,
    beneficiaries_count BIGINT NOT NULL,
    overrides BIGINT NOT NULL
);

-- distributions (not reversed) naming a child at a grain ('season|district|commune|category',
-- each part '*' for all): the child counts as reached there while this is above zero
CREATE TABLE public_reach_children (
    child_id TEXT NOT NULL,
    grain TEXT NOT NULL,
    distributions BIGINT NOT NULL,
    PRIMARY KEY (child_id, grain)
);

-- per grain ('*' for all), distributions not reversed: distinct children named, children counted
-- in groups (distributions without named lines), duplicate-support overrides
CREATE TABLE public_reach (
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    commune TEXT NOT NULL,
    category TEXT NOT NULL,
    named_children BIGINT NOT NULL,
    counted_children BIGINT NOT NULL,
    overrides BIGINT NOT NULL,
    PRIMARY KEY (season, district, commune, category)
);

-- projected again from position 0 (see above)
DELETE FROM donors;
DELETE FROM pledges;
DELETE FROM public_donations;
DELETE FROM public_received;
DELETE FROM public_names;
DELETE FROM public_donor_years;
DELETE FROM public_counters;
DELETE FROM public_distribution_children;
DELETE FROM projection_tracking WHERE name = 'donations';
