-- Alert rules (guide 07): which events of an inbox go to which webhook
-- endpoint, how often delivery is attempted and how it backs off. The
-- secret keys the signatures (HMAC needs the secret itself, so it is
-- kept; the API never returns it).
CREATE TABLE alert_rules (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	events		TEXT NOT NULL,		-- JSON array of event types
	url		TEXT NOT NULL,
	secret		TEXT,
	filter		TEXT,			-- JSON {label_id} or {contact_id}, or NULL
	threshold	INTEGER,		-- system events: percent or count
	offset_json	TEXT,			-- time-based events: {value, unit}
	attempts	INTEGER NOT NULL DEFAULT 3 CHECK (attempts BETWEEN 1 AND 10),
	backoff		TEXT NOT NULL DEFAULT 'exponential'
			CHECK (backoff IN ('immediate', 'fixed', 'exponential')),
	enabled		INTEGER NOT NULL DEFAULT 1,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX alert_rules_inbox ON alert_rules(inbox_id, created_at);
