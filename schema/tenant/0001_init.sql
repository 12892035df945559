-- tenant.db: one tenant's mail and workspace. Starts with its audit trail
-- and the per-inbox sender rules; mail tables arrive with later migrations.

CREATE TABLE audit (
	seq		INTEGER PRIMARY KEY AUTOINCREMENT,
	id		TEXT NOT NULL UNIQUE,
	tenant_id	TEXT,
	actor_type	TEXT NOT NULL,
	actor_id	TEXT,
	action		TEXT NOT NULL,
	target_type	TEXT,
	target_id	TEXT,
	detail		TEXT NOT NULL DEFAULT '{}',
	request_id	TEXT,
	created_at	INTEGER NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

CREATE TABLE sender_rules (
	inbox_id		TEXT PRIMARY KEY,
	inbound_mode		TEXT NOT NULL DEFAULT 'open'
				CHECK (inbound_mode IN ('open', 'allowlist', 'blocklist')),
	outbound_mode		TEXT NOT NULL DEFAULT 'open'
				CHECK (outbound_mode IN ('open', 'allowlist', 'blocklist')),
	inbound_patterns	TEXT NOT NULL DEFAULT '[]',	-- JSON array
	outbound_patterns	TEXT NOT NULL DEFAULT '[]',
	updated_at		INTEGER NOT NULL
) STRICT;
