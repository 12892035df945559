-- The outbound queue grows into the relay's: one row per recipient of a
-- send, forward or label-policy copy. The relay claims due rows (status
-- sending, next_attempt_at = the lease's end, so a crash mid-delivery
-- makes them due again), then records the outcome: sent, queued again
-- for a later attempt, held (send cap), bounced (5xx), failed (queue
-- lifetime over) or suppressed (the address hard-bounced before).
-- SQLite cannot change a CHECK, so the table is rebuilt.

CREATE TABLE outbound_new (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	kind		TEXT NOT NULL CHECK (kind IN ('send', 'forward')),
	source_message_id TEXT,			-- send: the sent message; forward: the original
	rule_id		TEXT,			-- forwarding rule, "default", "label:<id>"
	mail_from	TEXT NOT NULL,
	rcpt_to		TEXT NOT NULL,
	raw		BLOB NOT NULL,
	status		TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued',
			    'sending', 'held', 'sent', 'failed', 'bounced', 'suppressed')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_attempt_at	INTEGER NOT NULL,
	last_code	INTEGER,		-- last SMTP reply code (or synthetic 4xx)
	last_error	TEXT,			-- its text
	mx_host		TEXT,			-- where it went (or was tried)
	tls		INTEGER NOT NULL DEFAULT 0,
	delivered_at	INTEGER,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
INSERT INTO outbound_new (id, inbox_id, kind, source_message_id, rule_id,
    mail_from, rcpt_to, raw, status, attempts, next_attempt_at, last_error,
    created_at, updated_at)
	SELECT id, inbox_id, kind, source_message_id, rule_id, mail_from, rcpt_to,
	    raw, status, attempts, next_attempt_at, last_error, created_at, updated_at
	FROM outbound;
DROP TABLE outbound;
ALTER TABLE outbound_new RENAME TO outbound;
CREATE INDEX outbound_due ON outbound(status, next_attempt_at);
CREATE INDEX outbound_source ON outbound(source_message_id);

-- Addresses that hard-bounced mail of an inbox: later sends to them are
-- not attempted (status suppressed).
CREATE TABLE bounce_suppressions (
	inbox_id	TEXT NOT NULL,
	address		TEXT NOT NULL COLLATE NOCASE,
	code		INTEGER NOT NULL,
	reason		TEXT,
	created_at	INTEGER NOT NULL,
	PRIMARY KEY (inbox_id, address)
) STRICT;
