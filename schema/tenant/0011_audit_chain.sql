-- The audit trail becomes a hash chain: each row stores the hash of the
-- row before it and its own hash over its fields (store.c says which),
-- so editing, inserting or removing a row in the file is detectable by
-- re-computing the chain (GET /v1/audit/verify/). Rows written before
-- this migration have no hash; the chain starts after them.
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;

-- Retention (audit_retention) removes the oldest rows; the chain then
-- starts at the first row left, whose prev_hash is kept here so the
-- check still knows where the chain must begin.
CREATE TABLE audit_anchor (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	prev_hash	TEXT NOT NULL,
	pruned_before	INTEGER NOT NULL
) STRICT;
