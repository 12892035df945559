-- Received (and later sent) messages. The raw bytes are kept exactly as
-- accepted (with our Received: header on top), so GET .../raw/ returns
-- what arrived; parsed fields are for listing and search.

CREATE TABLE messages (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	direction	TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	message_id_hdr	TEXT,			-- Message-ID header, without <>
	subject		TEXT,
	from_addr	TEXT,			-- From header (display form)
	to_addrs	TEXT,			-- To header (display form)
	date_hdr	TEXT,
	mail_from	TEXT NOT NULL,		-- envelope sender, "" = null path
	rcpt_to		TEXT NOT NULL,		-- the envelope recipient of this copy
	client_ip	TEXT,
	helo		TEXT,
	tls		INTEGER NOT NULL DEFAULT 0,
	size		INTEGER NOT NULL,
	raw		BLOB NOT NULL,
	received_at	INTEGER NOT NULL,
	smtp_session	TEXT,			-- log key of the SMTP session
	thread_id	TEXT NOT NULL,
	trace		TEXT NOT NULL DEFAULT '{}',	-- JSON: why it was handled so
	text_body	TEXT,			-- decoded to UTF-8
	html_body	TEXT,
	n_attachments	INTEGER NOT NULL DEFAULT 0,
	malformed	INTEGER NOT NULL DEFAULT 0	-- MIME could not be fully read
) STRICT;
CREATE INDEX messages_inbox ON messages(inbox_id, received_at DESC, id DESC);
CREATE INDEX messages_msgid ON messages(inbox_id, message_id_hdr);
CREATE INDEX messages_thread ON messages(thread_id, received_at);

-- Message-scoped attachments, decoded (not Files records).
CREATE TABLE attachments (
	id		TEXT PRIMARY KEY,
	message_id	TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	position	INTEGER NOT NULL,		-- order in the message
	filename	TEXT,
	content_type	TEXT NOT NULL,
	content_id	TEXT,
	inline_part	INTEGER NOT NULL DEFAULT 0,
	size		INTEGER NOT NULL,
	data		BLOB NOT NULL
) STRICT;
CREATE INDEX attachments_message ON attachments(message_id, position);
