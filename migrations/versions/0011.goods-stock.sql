-- Goods by item and unit (issue 12, item 5; domain/goods.py). The balances projection now keys
-- each goods receipt by its folded item and unit (`goods_key`, 'ao am|cai') and keeps the goods
-- in stock per item and unit at the fund level (received, not yet allocated) and at the
-- programme level (allocated, not yet distributed), so that balances show money and goods
-- apart. The folded key can't be computed in SQL, so the projection is projected again from
-- position 0 (its tables emptied, its tracking row removed), as 0007 did for donations. Plain
-- SQL for both backends.
-- depends: 0010.allocation-overrides

ALTER TABLE receipt_balances ADD COLUMN goods_key TEXT;
ALTER TABLE receipt_balances ADD COLUMN quantity BIGINT NOT NULL DEFAULT 0;

-- The names shown for an item and unit: as first recorded.
CREATE TABLE goods_names (
    goods_key TEXT PRIMARY KEY,
    item TEXT NOT NULL,
    unit TEXT NOT NULL
);

-- level 'fund': per fund and restriction (programme_id ''); level 'programme': per programme and
-- the fund its goods came from (restriction ''). value_vnd is the value of what is in stock.
CREATE TABLE goods_stock (
    level TEXT NOT NULL,
    fund TEXT NOT NULL,
    restriction TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    goods_key TEXT NOT NULL,
    received_quantity BIGINT NOT NULL DEFAULT 0,
    allocated_quantity BIGINT NOT NULL DEFAULT 0,
    distributed_quantity BIGINT NOT NULL DEFAULT 0,
    value_vnd BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (level, fund, restriction, programme_id, goods_key)
);
CREATE INDEX goods_stock_programme ON goods_stock (programme_id);

-- What each tranche (allocation × receipt) of goods brought into its programme: a distribution's
-- pieces name only their tranche, and a reversed allocation takes its tranches out again.
CREATE TABLE stock_tranches (
    allocation_id TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    fund TEXT NOT NULL,
    goods_key TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    value_vnd BIGINT NOT NULL,
    PRIMARY KEY (allocation_id, receipt_id)
);

-- A distribution line of goods names its unit; lines recorded before have none (NULL).
ALTER TABLE distribution_lines ADD COLUMN unit TEXT;

-- The public summary tells money from goods: of each month's and fund's `received_vnd`, the
-- value of the goods. Recomputed from the same projection's receipts, which are at the same
-- position as these totals (one transaction wrote both).
ALTER TABLE public_received ADD COLUMN goods_vnd BIGINT NOT NULL DEFAULT 0;
UPDATE public_received SET goods_vnd = (
    SELECT COALESCE(SUM(p.amount_vnd), 0) FROM public_donations p
    WHERE p.item IS NOT NULL AND p.reversed = 0 AND p.fund = public_received.fund
      AND SUBSTR(p.received_on, 1, 7) = public_received.month);

-- projected again from position 0 (see above)
DELETE FROM receipt_balances;
DELETE FROM fund_balances;
DELETE FROM programme_balances;
DELETE FROM goods_names;
DELETE FROM goods_stock;
DELETE FROM stock_tranches;
DELETE FROM projection_tracking WHERE name = 'balances';
