-- Per-inbox settings (config, webhook, forwarding default) and forwarding rules.

CREATE TABLE inbox_settings (
	inbox_id	TEXT PRIMARY KEY,
	settings	TEXT NOT NULL DEFAULT '{}',	-- JSON; webhook.secret is write-only
	updated_at	INTEGER NOT NULL
) STRICT;

CREATE TABLE forwarding_rules (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	destination	TEXT NOT NULL,
	condition_type	TEXT NOT NULL
			CHECK (condition_type IN ('all', 'sender', 'domain', 'subject_keyword')),
	condition_value	TEXT,
	priority	INTEGER NOT NULL DEFAULT 100,	-- lower runs first
	enabled		INTEGER NOT NULL DEFAULT 1,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX forwarding_rules_inbox ON forwarding_rules(inbox_id, priority, created_at);
