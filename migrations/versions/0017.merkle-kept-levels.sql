-- The Merkle tree keeps every fourth level (docs/verifiable-log.md §6): a leaf's hash is read
-- from merkle_leaves, and of the other perfect subtrees merkle_nodes holds those of levels 4,
-- 8, 12, … alone (the tile levels that C2SP tlog-tiles serve among them); every other node is
-- computed from the kept level below it when a root or proof needs it. The rows kept are the ones the projection
-- now writes, so nothing is projected again. Plain SQL for both backends.
-- depends: 0016.cosignatures

DELETE FROM merkle_nodes WHERE level % 4 <> 0 OR level <= 0;
