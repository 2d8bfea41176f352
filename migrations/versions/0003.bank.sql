-- Bank accounts, statements, their lines and the ledger entries they are matched with
-- (projection "bank"). Staff and auditors only: bank lines are evidence, never public (DESIGN §6).
-- depends: 0002.verifiable-log

CREATE TABLE bank_accounts (
    code TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    bank TEXT NOT NULL,
    bank_bin TEXT,
    account_number TEXT NOT NULL,
    fund TEXT NOT NULL
);

CREATE TABLE bank_statements (
    statement_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    account_code TEXT NOT NULL,
    format TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    period_from TEXT,
    period_to TEXT,
    opening_balance_vnd BIGINT NOT NULL,
    closing_balance_vnd BIGINT NOT NULL,
    lines INTEGER NOT NULL,
    new_lines INTEGER NOT NULL,
    matched INTEGER NOT NULL
);
CREATE INDEX bank_statements_account ON bank_statements (account_code, position);

CREATE TABLE bank_lines (
    line_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    account_code TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    booked_on TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    balance_vnd BIGINT NOT NULL,
    bank_txn_id TEXT,
    counterparty TEXT NOT NULL,
    counterparty_folded TEXT NOT NULL,
    counterparty_account TEXT,
    description TEXT NOT NULL,
    reversal INTEGER NOT NULL,
    match_id TEXT,
    target_id TEXT,
    target_kind TEXT,
    matched_how TEXT
);
CREATE INDEX bank_lines_account ON bank_lines (account_code, booked_on, position);
CREATE INDEX bank_lines_match ON bank_lines (match_id);

-- Ledger entries that bank lines may match: receipts (money in, any fund) and distributions
-- (money out), with the line each is matched to now.
CREATE TABLE bank_entries (
    entry_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    fund TEXT,
    channel TEXT,
    booked_on TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    reference TEXT,
    bank_txn_id TEXT,
    donor_id TEXT,
    reversed INTEGER NOT NULL DEFAULT 0,
    line_id TEXT,
    claimed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX bank_entries_txn ON bank_entries (bank_txn_id);
CREATE INDEX bank_entries_reference ON bank_entries (reference);
CREATE INDEX bank_entries_open ON bank_entries (kind, fund, booked_on);
CREATE INDEX bank_entries_amount ON bank_entries (amount_vnd);

CREATE TABLE bank_donors (
    donor_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL
);
CREATE INDEX bank_donors_folded ON bank_donors (name_folded);

-- Payment codes are 40 bits of a hash: two pledges may share one, so the code is not a key.
CREATE TABLE bank_pledge_codes (
    code TEXT NOT NULL,
    pledge_id TEXT NOT NULL,
    PRIMARY KEY (code, pledge_id)
);
