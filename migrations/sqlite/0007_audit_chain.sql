-- The audit log's hash chain: each entry carries the hash of the one before it and
-- its own (over that and its columns); the head holds the newest hash, taken (and,
-- on PostgreSQL, locked) by every append, so replicas take turns and never fork it.
-- `anchor` is the hash the oldest kept entry follows once the retention purge has cut
-- the chain's start (empty: never cut, so it follows the genesis hash of zeros).
-- Entries written before this migration carry no hash and stay outside the chain.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    hash   TEXT   NOT NULL,
    anchor TEXT   NOT NULL
);
INSERT INTO audit_head (id, hash, anchor)
VALUES (1, '0000000000000000000000000000000000000000000000000000000000000000', '');
