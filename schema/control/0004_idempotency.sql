-- Idempotency keys of POST requests (the Idempotency-Key header), per
-- principal ("token:<id>" or "user:<id>"). A row is reserved (status
-- NULL) before the handler runs, so a concurrent retry waits for the
-- answer instead of acting twice, and then holds the answer to replay.
-- Rows are kept at least 24 hours (the expiry sweep removes older ones).
CREATE TABLE idempotency_keys (
	principal	TEXT NOT NULL,
	key		TEXT NOT NULL,
	request_hash	TEXT NOT NULL,		-- SHA-256 of method, path, query, body
	status		INTEGER,		-- NULL while the first request runs
	response	BLOB,
	created_at	INTEGER NOT NULL,
	PRIMARY KEY (principal, key)
) STRICT;
CREATE INDEX idempotency_keys_age ON idempotency_keys(created_at);
