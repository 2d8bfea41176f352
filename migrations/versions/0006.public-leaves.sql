-- The public leaf (DESIGN §5, docs/verifiable-log.md §1): each leaf's bytes are kept beside its
-- hash (the public export and the donation page hand them out), and the public facts of the
-- first event of each receipt, allocation, distribution, pledge and need, which the leaves of
-- their reversals and updates repeat. Old databases are dev data: rebuild the projection.
-- depends: 0005.token-lifecycle

ALTER TABLE merkle_leaves ADD COLUMN leaf TEXT NOT NULL DEFAULT '';

CREATE TABLE merkle_origins (
    originator_id TEXT PRIMARY KEY,
    public TEXT NOT NULL
);
