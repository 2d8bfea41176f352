-- Witness cosignatures: a C2SP cosignature/v1 line by a configured witness
-- over the checkpoint of one signed tree head. Kept forever, like the tree heads; one per witness
-- and tree size (a witness that sends again is answered with the one stored). Plain SQL for both.
-- depends: 0015.recorded-dates

CREATE TABLE cosignatures (
    tree_size BIGINT NOT NULL REFERENCES tree_heads (tree_size),
    witness TEXT NOT NULL,
    key_id TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (tree_size, witness)
);
