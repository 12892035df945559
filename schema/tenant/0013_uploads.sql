-- Attachments uploaded ahead of a send (POST /v1/uploads/), referenced as
-- {"upload_id": ...} in POST /v1/messages/. They belong to one inbox and
-- expire a day after upload (the expiry sweep removes them).
CREATE TABLE uploads (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	filename	TEXT NOT NULL,
	content_type	TEXT NOT NULL,
	size		INTEGER NOT NULL,
	data		BLOB NOT NULL,
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX uploads_expiry ON uploads(expires_at);
