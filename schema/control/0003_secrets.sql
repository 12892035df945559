-- Server-side keys made at first start (e.g. the HMAC key of unsubscribe
-- links). control.db is mode 0600 under a 0700 data_dir.
CREATE TABLE secrets (
	name		TEXT PRIMARY KEY,
	value		BLOB NOT NULL,
	created_at	INTEGER NOT NULL
) STRICT;
