-- Read models and operational tables. Plain SQL that SQLite and PostgreSQL both accept.
-- depends:

CREATE TABLE projection_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- operational: bearer tokens (hash only) and wrapped per-child keys (deleted on erasure)
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    district TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE child_keys (
    child_id TEXT PRIMARY KEY,
    wrapped_key TEXT NOT NULL
);

-- projection "balances"
CREATE TABLE receipt_balances (
    receipt_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    fund TEXT NOT NULL,
    restriction TEXT NOT NULL,
    r_district TEXT,
    r_commune TEXT,
    r_category TEXT,
    specificity INTEGER NOT NULL,
    item TEXT,
    received_on TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    remaining_vnd BIGINT NOT NULL,
    remaining_quantity BIGINT NOT NULL,
    reversed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX receipt_balances_open ON receipt_balances (fund, specificity, received_on, position)
    WHERE remaining_vnd > 0;

CREATE TABLE fund_balances (
    fund TEXT NOT NULL,
    restriction TEXT NOT NULL,
    received_vnd BIGINT NOT NULL DEFAULT 0,
    allocated_vnd BIGINT NOT NULL DEFAULT 0,
    returned_vnd BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (fund, restriction)
);

CREATE TABLE programme_balances (
    programme_id TEXT PRIMARY KEY,
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    commune TEXT NOT NULL,
    category TEXT NOT NULL,
    allocated_vnd BIGINT NOT NULL DEFAULT 0,
    distributed_vnd BIGINT NOT NULL DEFAULT 0,
    returned_vnd BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX programme_balances_place ON programme_balances (season, district, commune, category);

-- projection "donations"
CREATE TABLE donors (
    donor_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    public_name TEXT,
    anonymous INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    display_folded TEXT NOT NULL
);

CREATE TABLE pledges (
    pledge_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    donor_id TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    received_vnd BIGINT NOT NULL DEFAULT 0,
    due_on TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pledges_donor ON pledges (donor_id);

CREATE TABLE public_donations (
    receipt_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    position BIGINT NOT NULL,
    donor_id TEXT NOT NULL,
    donor_display TEXT NOT NULL,
    donor_folded TEXT NOT NULL,
    pledge_id TEXT,
    fund TEXT NOT NULL,
    channel TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    item TEXT,
    quantity BIGINT NOT NULL,
    received_on TEXT NOT NULL,
    restriction TEXT NOT NULL,
    mobilised_by TEXT,
    reversed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX public_donations_donor ON public_donations (donor_id);
CREATE INDEX public_donations_received ON public_donations (received_on, position);
CREATE INDEX public_donations_amount ON public_donations (amount_vnd);

-- projection "traces"
CREATE TABLE allocations (
    allocation_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    fund TEXT NOT NULL,
    programme_id TEXT NOT NULL,
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    commune TEXT NOT NULL,
    category TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    item TEXT,
    quantity BIGINT NOT NULL,
    decision_ref TEXT NOT NULL,
    reversed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE allocation_draws (
    allocation_id TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (allocation_id, receipt_id)
);
CREATE INDEX allocation_draws_receipt ON allocation_draws (receipt_id);

CREATE TABLE distributions (
    distribution_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    programme_id TEXT NOT NULL,
    season TEXT NOT NULL,
    district TEXT NOT NULL,
    commune TEXT NOT NULL,
    category TEXT NOT NULL,
    distributed_on TEXT NOT NULL,
    total_vnd BIGINT NOT NULL,
    named_children INTEGER NOT NULL,
    beneficiaries_count INTEGER NOT NULL,
    overrides INTEGER NOT NULL,
    reversed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX distributions_programme ON distributions (programme_id);

CREATE TABLE distribution_lines (
    distribution_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    child_id TEXT,
    item TEXT,
    quantity BIGINT NOT NULL,
    value_vnd BIGINT NOT NULL,
    PRIMARY KEY (distribution_id, line_no)
);
CREATE INDEX distribution_lines_child ON distribution_lines (child_id);

CREATE TABLE distribution_draws (
    distribution_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    piece_no INTEGER NOT NULL,
    allocation_id TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (distribution_id, line_no, piece_no)
);
CREATE INDEX distribution_draws_receipt ON distribution_draws (receipt_id);

-- projection "children": pseudonymous ids and codes only, never personal data
CREATE TABLE children (
    child_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    district TEXT NOT NULL,
    commune TEXT NOT NULL
);

-- projection "needs"
CREATE TABLE needs (
    need_id TEXT NOT NULL UNIQUE,
    season TEXT NOT NULL,
    commune TEXT NOT NULL,
    category TEXT NOT NULL,
    district TEXT NOT NULL,
    position BIGINT NOT NULL,
    children_count INTEGER NOT NULL,
    estimated_vnd BIGINT NOT NULL,
    PRIMARY KEY (season, commune, category)
);
