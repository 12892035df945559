-- Custom domains with their DNS verification state and DKIM keys.

CREATE TABLE domains (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id),
	name		TEXT NOT NULL UNIQUE,		-- A-label, lower case
	domain_use	TEXT NOT NULL
			CHECK (domain_use IN ('existing_domain', 'dedicated_subdomain')),
	dmarc_policy	TEXT NOT NULL CHECK (dmarc_policy IN ('none', 'quarantine', 'reject')),
	status		TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'verified')),
	verify_token	TEXT NOT NULL,			-- published, not a secret
	check_results	TEXT NOT NULL DEFAULT '[]',	-- JSON of the last verify
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	verified_at	INTEGER,
	last_checked_at	INTEGER
) STRICT;
CREATE INDEX domains_tenant ON domains(tenant_id, created_at);

-- pending: generated, waiting for its DNS record (rotation);
-- active: the signing key; retired: no longer signs, record may stay a
-- few days so signatures already in flight still verify.
CREATE TABLE dkim_keys (
	id		TEXT PRIMARY KEY,
	domain_id	TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	selector	TEXT NOT NULL,
	key_path	TEXT NOT NULL,			-- PEM file, mode 0600
	public_key	TEXT NOT NULL,			-- base64 SubjectPublicKeyInfo
	status		TEXT NOT NULL CHECK (status IN ('pending', 'active', 'retired')),
	created_at	INTEGER NOT NULL,
	activated_at	INTEGER,
	retired_at	INTEGER,
	UNIQUE (domain_id, selector)
) STRICT;
