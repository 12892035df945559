-- Mail to send: agent sends and forwarded copies. Rows are written in the
-- transaction that decides to send (for forwards: the one storing the
-- incoming message), so an accepted message never loses its forwards.
-- The relay delivers 'queued' rows and records the outcome.

CREATE TABLE outbound (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	kind		TEXT NOT NULL CHECK (kind IN ('send', 'forward')),
	source_message_id TEXT,			-- the message forwarded
	rule_id		TEXT,			-- forwarding rule, "default" for the default address
	mail_from	TEXT NOT NULL,
	rcpt_to		TEXT NOT NULL,
	raw		BLOB NOT NULL,
	status		TEXT NOT NULL DEFAULT 'queued'
			CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'bounced')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_attempt_at	INTEGER NOT NULL,
	last_error	TEXT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX outbound_due ON outbound(status, next_attempt_at);
CREATE INDEX outbound_source ON outbound(source_message_id);

-- Destinations that unsubscribed from a forwarding rule (or the default).
CREATE TABLE forwarding_suppressions (
	rule_id		TEXT NOT NULL,
	destination	TEXT NOT NULL COLLATE NOCASE,
	inbox_id	TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	PRIMARY KEY (rule_id, destination)
) STRICT;
