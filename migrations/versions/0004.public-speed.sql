-- The public site at a million receipts (issue 5): small totals kept by the donations projection,
-- so that the summary reads a few hundred rows whatever the number of receipts and distributions;
-- the distinct donor names, so that a name search looks at names before receipts; indexes for
-- both. Plain SQL for both backends; PostgreSQL's trigram index on the names is in
-- 0004.public-speed.postgresql.sql.
-- depends: 0003.bank

-- newest first, by log position (the donations list and its cursor)
CREATE INDEX public_donations_position ON public_donations (position);

-- the receipts of the few names a search matched
CREATE INDEX public_donations_folded ON public_donations (donor_folded);

-- receipts (not reversed) per searchable donor name, as folded in public_donations
CREATE TABLE public_names (
    folded TEXT PRIMARY KEY,
    receipts BIGINT NOT NULL
);

-- received per month ('YYYY-MM' of received_on) and fund; reversed receipts are taken out again
CREATE TABLE public_received (
    month TEXT NOT NULL,
    fund TEXT NOT NULL,
    received_vnd BIGINT NOT NULL,
    receipts BIGINT NOT NULL,
    PRIMARY KEY (month, fund)
);

-- receipts (not reversed) per donor and year ('YYYY' of received_on, or '*' for all years):
-- a donor counts for a year while this is above zero
CREATE TABLE public_donor_years (
    donor_id TEXT NOT NULL,
    year TEXT NOT NULL,
    receipts BIGINT NOT NULL,
    PRIMARY KEY (donor_id, year)
);

-- 'donors:YYYY' and 'donors:*' (donors with a receipt that year / ever), 'pledged_vnd' and
-- 'pledges' (pledges not cancelled)
CREATE TABLE public_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- what each distribution added to the totals below, to take it out again if it is reversed
CREATE TABLE public_distributions (
    distribution_id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL,
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    category TEXT NOT NULL,
    beneficiaries_count BIGINT NOT NULL,
    overrides BIGINT NOT NULL
);

CREATE TABLE public_distribution_children (
    distribution_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    PRIMARY KEY (distribution_id, child_id)
);

-- distributions (not reversed) naming a child in a programme: the child counts as reached by the
-- programme while this is above zero
CREATE TABLE public_programme_children (
    child_id TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    distributions BIGINT NOT NULL,
    PRIMARY KEY (child_id, programme_id)
);

-- per season, district and category, distributions not reversed: children named (distinct per
-- programme, summed over programmes), children counted in groups, duplicate-support overrides
CREATE TABLE public_reached (
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    category TEXT NOT NULL,
    named_children BIGINT NOT NULL,
    counted_children BIGINT NOT NULL,
    overrides BIGINT NOT NULL,
    PRIMARY KEY (season, district, category)
);

-- A database projected by an earlier version gets the rows the projection would have written
-- (a row for every key ever touched, zero or not), from the rows it has.
INSERT INTO public_received (month, fund, received_vnd, receipts)
SELECT substr(received_on, 1, 7), fund,
       SUM(CASE WHEN reversed = 0 THEN amount_vnd ELSE 0 END),
       SUM(CASE WHEN reversed = 0 THEN 1 ELSE 0 END)
FROM public_donations GROUP BY substr(received_on, 1, 7), fund;

INSERT INTO public_names (folded, receipts)
SELECT donor_folded, SUM(CASE WHEN reversed = 0 THEN 1 ELSE 0 END)
FROM public_donations WHERE donor_folded <> '' GROUP BY donor_folded;

INSERT INTO public_donor_years (donor_id, year, receipts)
SELECT donor_id, substr(received_on, 1, 4), SUM(CASE WHEN reversed = 0 THEN 1 ELSE 0 END)
FROM public_donations GROUP BY donor_id, substr(received_on, 1, 4);

INSERT INTO public_donor_years (donor_id, year, receipts)
SELECT donor_id, '*', SUM(CASE WHEN reversed = 0 THEN 1 ELSE 0 END)
FROM public_donations GROUP BY donor_id;

INSERT INTO public_counters (name, value)
SELECT 'donors:' || year, SUM(CASE WHEN receipts > 0 THEN 1 ELSE 0 END)
FROM public_donor_years GROUP BY year;

INSERT INTO public_counters (name, value)
SELECT 'pledged_vnd', SUM(CASE WHEN cancelled = 0 THEN amount_vnd ELSE 0 END)
FROM pledges HAVING COUNT(*) > 0;

INSERT INTO public_counters (name, value)
SELECT 'pledges', SUM(CASE WHEN cancelled = 0 THEN 1 ELSE 0 END)
FROM pledges HAVING COUNT(*) > 0;

INSERT INTO public_distributions (distribution_id, programme_id, season, district, category,
                                  beneficiaries_count, overrides)
SELECT distribution_id, programme_id, season, district, category, beneficiaries_count, overrides
FROM distributions;

INSERT INTO public_distribution_children (distribution_id, child_id)
SELECT DISTINCT distribution_id, child_id FROM distribution_lines WHERE child_id IS NOT NULL;

INSERT INTO public_programme_children (child_id, programme_id, distributions)
SELECT c.child_id, d.programme_id, SUM(CASE WHEN d.reversed = 0 THEN 1 ELSE 0 END)
FROM public_distribution_children c JOIN distributions d ON d.distribution_id = c.distribution_id
GROUP BY c.child_id, d.programme_id;

INSERT INTO public_reached (season, district, category, named_children, counted_children, overrides)
SELECT season, district, category, SUM(named), SUM(counted), SUM(overridden) FROM (
    SELECT season, district, category, 0 AS named,
           SUM(CASE WHEN reversed = 0 THEN beneficiaries_count ELSE 0 END) AS counted,
           SUM(CASE WHEN reversed = 0 THEN overrides ELSE 0 END) AS overridden
    FROM distributions GROUP BY season, district, category
    UNION ALL
    SELECT p.season, p.district, p.category, COUNT(*), 0, 0
    FROM public_programme_children c
    JOIN (SELECT DISTINCT programme_id, season, district, category FROM distributions) p
      ON p.programme_id = c.programme_id
    WHERE c.distributions > 0 GROUP BY p.season, p.district, p.category
) t GROUP BY season, district, category;
