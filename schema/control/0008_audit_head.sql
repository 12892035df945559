-- The audit head: one authenticated record of where this database's
-- chain starts and ends. Rows from seq keyed_from on are hashed with
-- HMAC-SHA256 under the server audit key (data_dir/audit.key, kept out of
-- the databases); rows before it keep their plain SHA-256 (0005). seq and
-- hash name the newest row, anchor the hash the oldest row left after a
-- prune follows, and mac is an HMAC over all of them (store_audit_head.c),
-- so removing the newest rows or moving the chain's start is detected
-- without the key. store_audit_append() and the prune update it in the
-- transaction of their change. The row is written in C when the database
-- is new, or at the first start that creates the key (migration of an
-- older database); audit_anchor (0005) is read then and no longer used.
CREATE TABLE audit_head (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	keyed_from	INTEGER NOT NULL,	-- first seq hashed with the key
	anchor		TEXT NOT NULL,		-- what the oldest row left follows
	seq		INTEGER NOT NULL,	-- the newest row (0: none yet)
	hash		TEXT NOT NULL,		-- its hash ('' when none)
	mac		TEXT NOT NULL		-- hex HMAC-SHA256 of the fields above
) STRICT;
