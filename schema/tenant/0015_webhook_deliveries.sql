-- Webhook deliveries (guide 07 and 11). The dispatcher reads the event log
-- after webhook_cursor.seq, writes one delivery per event and matching
-- subscription (an alert rule, or the inbox webhook when alert_id is
-- NULL), and moves the cursor, in one transaction: an event is fanned out
-- exactly once. A delivery is then attempted until delivered or out of
-- attempts (undelivered); a replay grants another round of attempts.
CREATE TABLE webhook_cursor (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	seq		INTEGER NOT NULL	-- last events.seq fanned out
) STRICT;
-- Events from before webhooks existed are history, not news.
INSERT INTO webhook_cursor (id, seq) SELECT 1, coalesce(max(seq), 0) FROM events;

CREATE TABLE webhook_deliveries (
	id		TEXT PRIMARY KEY,	-- whd_…; also the webhook-id header
	inbox_id	TEXT NOT NULL,
	event_id	TEXT NOT NULL,
	event_type	TEXT NOT NULL,
	alert_id	TEXT,			-- NULL: the inbox webhook
	url		TEXT NOT NULL,
	body		TEXT NOT NULL,		-- the exact bytes signed and sent
	status		TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'delivering', 'delivered', 'undelivered')),
	round_attempts	INTEGER NOT NULL CHECK (round_attempts BETWEEN 1 AND 10),
	backoff		TEXT NOT NULL CHECK (backoff IN ('immediate', 'fixed', 'exponential')),
	attempts	INTEGER NOT NULL DEFAULT 0,	-- made, all rounds
	attempt_limit	INTEGER NOT NULL,	-- attempts + round_attempts at a replay
	next_attempt_at	INTEGER NOT NULL,
	lease_until	INTEGER,		-- while delivering
	last_code	INTEGER,
	last_error	TEXT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_inbox ON webhook_deliveries(inbox_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempts (
	delivery_id	TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
	n		INTEGER NOT NULL,	-- 1, 2, ... across rounds
	at		INTEGER NOT NULL,
	result		TEXT NOT NULL,		-- delivered, http-error, network-error, refused
	http_code	INTEGER,
	error		TEXT,
	connected_ip	TEXT,
	elapsed_ms	INTEGER NOT NULL,
	PRIMARY KEY (delivery_id, n)
) STRICT;
