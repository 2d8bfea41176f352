-- Reports by recording date as well as by business date (issue 13, item 5): the day each
-- receipt, allocation and distribution was recorded (UTC) beside its business date. The day is
-- in the stored event only, so the donations and traces projections are projected again from
-- position 0 (their tables emptied, their tracking rows removed), as 0007 and 0011 did. Plain
-- SQL for both backends.
-- depends: 0014.after-closing

ALTER TABLE public_donations ADD COLUMN recorded_on TEXT;
ALTER TABLE allocations ADD COLUMN recorded_on TEXT;
ALTER TABLE distributions ADD COLUMN recorded_on TEXT;

DELETE FROM donors;
DELETE FROM pledges;
DELETE FROM public_donations;
DELETE FROM public_received;
DELETE FROM public_names;
DELETE FROM public_donor_years;
DELETE FROM public_counters;
DELETE FROM public_distributions;
DELETE FROM public_distribution_children;
DELETE FROM public_reach_children;
DELETE FROM public_reach;
DELETE FROM projection_tracking WHERE name = 'donations';

DELETE FROM allocations;
DELETE FROM allocation_draws;
DELETE FROM distributions;
DELETE FROM distribution_lines;
DELETE FROM distribution_draws;
DELETE FROM projection_tracking WHERE name = 'traces';
