-- Four eyes on large sums (issue 12, item 8): the proposals read model, for staff
-- (`GET /proposals`). Pending and decided proposals with their arguments as JSON; a proposal
-- moves no money, so no balance reads this table. Plain SQL for both backends.
-- depends: 0010.allocation-overrides

CREATE TABLE proposals (
    proposal_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    proposer TEXT NOT NULL,
    proposer_role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    arguments TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    result_id TEXT,
    decided_position BIGINT
);
CREATE INDEX proposals_status ON proposals (status, position);
