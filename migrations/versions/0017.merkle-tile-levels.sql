-- The Merkle tree keeps only its tile levels (docs/verifiable-log.md §6): a leaf's hash is read
-- from merkle_leaves, and of the other perfect subtrees merkle_nodes holds those of levels 8,
-- 16, 24, … alone (the hashes C2SP tlog-tiles serve); every other node is computed from the
-- tile level below it when a root or proof needs it. The rows kept are the ones the projection
-- now writes, so nothing is projected again. Plain SQL for both backends.
-- depends: 0016.cosignatures

DELETE FROM merkle_nodes WHERE level % 8 <> 0 OR level <= 0;
