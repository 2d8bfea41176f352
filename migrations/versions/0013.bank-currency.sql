-- Foreign-currency bank accounts (issue 13, item 7): an account's currency, and a foreign line's
-- and statement's amounts in that currency's minor units beside their đồng value (the `_vnd`
-- columns). VND rows leave the new columns at their defaults. Plain SQL for both backends.
-- depends: 0012.proposals

ALTER TABLE bank_accounts ADD COLUMN currency TEXT NOT NULL DEFAULT 'VND';
ALTER TABLE bank_statements ADD COLUMN currency TEXT NOT NULL DEFAULT 'VND';
ALTER TABLE bank_statements ADD COLUMN opening_balance BIGINT;
ALTER TABLE bank_statements ADD COLUMN closing_balance BIGINT;
ALTER TABLE bank_lines ADD COLUMN currency TEXT NOT NULL DEFAULT 'VND';
ALTER TABLE bank_lines ADD COLUMN amount BIGINT;
ALTER TABLE bank_lines ADD COLUMN balance BIGINT;
ALTER TABLE bank_lines ADD COLUMN rate TEXT;
ALTER TABLE bank_lines ADD COLUMN rate_source TEXT;
