-- The verifiable log (DESIGN §5): the Merkle tree as a projection, and the signed tree heads.
-- Hashes are lower-case hex text, so one DDL serves SQLite and PostgreSQL.
-- depends: 0001.read-models

-- projection "merkle": one leaf per stored event, in log order
CREATE TABLE merkle_leaves (
    leaf_index BIGINT PRIMARY KEY,
    position BIGINT NOT NULL UNIQUE,
    leaf_hash TEXT NOT NULL
);

-- perfect subtrees: (level, idx) is the hash of leaves [idx * 2^level, (idx + 1) * 2^level)
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);

-- operational: every signed tree head ever published (never rebuilt, never deleted)
CREATE TABLE tree_heads (
    tree_size BIGINT PRIMARY KEY,
    root_hash TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    signature TEXT NOT NULL
);
