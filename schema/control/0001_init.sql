-- control.db: the directory of the whole installation.
-- Tenants, users and their sessions, inbox address routing, agent token
-- digests, invites, the waitlist, and the audit trail of these rows.

CREATE TABLE tenants (
	id		TEXT PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	settings	TEXT NOT NULL DEFAULT '{}',	-- JSON, see api_tenants.c
	created_at	INTEGER NOT NULL,		-- ms since epoch
	updated_at	INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id),
	email		TEXT NOT NULL COLLATE NOCASE UNIQUE,
	password_hash	TEXT NOT NULL,			-- scrypt$..., never the password
	role		TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	failed_logins	INTEGER NOT NULL DEFAULT 0,	-- consecutive failures
	locked_until	INTEGER NOT NULL DEFAULT 0,	-- ms; sign-in refused before
	created_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX users_tenant ON users(tenant_id);

CREATE TABLE sessions (
	id		TEXT PRIMARY KEY,
	digest		TEXT NOT NULL UNIQUE,		-- SHA-256 hex of the raw token
	user_id		TEXT NOT NULL REFERENCES users(id),
	tenant_id	TEXT NOT NULL REFERENCES tenants(id),
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL,
	revoked_at	INTEGER
) STRICT;

CREATE TABLE inboxes (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id),
	address		TEXT COLLATE NOCASE UNIQUE,	-- local@domain, lower case;
							-- NULL once purged (released)
	released_address TEXT,				-- the address it had when purged
	domain_id	TEXT,				-- NULL for operator-made inboxes
	display_name	TEXT,
	status		TEXT NOT NULL DEFAULT 'active'
			CHECK (status IN ('active', 'suspended', 'closing', 'purged')),
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	closing_at	INTEGER,			-- DELETE time; purge 30 days on
	purged_at	INTEGER
) STRICT;
CREATE INDEX inboxes_tenant ON inboxes(tenant_id);

CREATE TABLE tokens (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id),
	inbox_id	TEXT NOT NULL REFERENCES inboxes(id),
	digest		TEXT NOT NULL UNIQUE,		-- SHA-256 hex of the raw token
	label		TEXT NOT NULL,
	scopes		TEXT NOT NULL,			-- JSON array, aliases expanded
	requires_approval TEXT NOT NULL DEFAULT '[]',	-- JSON array of scopes
	status		TEXT NOT NULL DEFAULT 'active'
			CHECK (status IN ('active', 'paused', 'revoked')),
	created_by	TEXT NOT NULL,			-- user id
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	expires_at	INTEGER,			-- NULL = never
	rotated_at	INTEGER,
	revoked_at	INTEGER
) STRICT;
CREATE INDEX tokens_inbox ON tokens(inbox_id, created_at);

CREATE TABLE invites (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id),
	digest		TEXT NOT NULL UNIQUE,		-- of the single-use invite token
	role		TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	email		TEXT COLLATE NOCASE,		-- NULL = open invite
	status		TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'accepted', 'cancelled')),
	expires_at	INTEGER,
	created_by	TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	accepted_at	INTEGER,
	accepted_user_id TEXT
) STRICT;
CREATE INDEX invites_tenant ON invites(tenant_id, created_at);

CREATE TABLE waitlist (
	email		TEXT PRIMARY KEY COLLATE NOCASE,
	status		TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'approved', 'redeemed')),
	signup_digest	TEXT UNIQUE,			-- set when an operator approves
	signup_expires_at INTEGER,
	created_at	INTEGER NOT NULL,
	approved_at	INTEGER,
	redeemed_at	INTEGER
) STRICT;

-- Append-only: written in the same transaction as the change it records.
CREATE TABLE audit (
	seq		INTEGER PRIMARY KEY AUTOINCREMENT,
	id		TEXT NOT NULL UNIQUE,
	tenant_id	TEXT,				-- NULL for installation-wide rows
	actor_type	TEXT NOT NULL,			-- user, token, system, cli, public
	actor_id	TEXT,
	action		TEXT NOT NULL,			-- e.g. token.created
	target_type	TEXT,
	target_id	TEXT,
	detail		TEXT NOT NULL DEFAULT '{}',	-- JSON, never secrets
	request_id	TEXT,
	created_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_tenant ON audit(tenant_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
