-- Labels, their application to messages, and auto-label rules.
--
-- A label belongs to one inbox. label_scope limits what agent tokens may
-- do with it (read_only: neither apply nor remove; read_apply: apply
-- only; read_write: both); sessions of the tenant's users are not
-- limited. policies is a JSON object of the behaviours attached to the
-- label: block_reply, forward_to, retention, notify.

CREATE TABLE labels (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	name		TEXT NOT NULL,
	label_scope	TEXT NOT NULL DEFAULT 'read_write'
			CHECK (label_scope IN ('read_only', 'read_apply', 'read_write')),
	label_type	TEXT NOT NULL DEFAULT 'message'
			CHECK (label_type IN ('message', 'contact', 'calendar', 'any')),
	color		TEXT,
	policies	TEXT NOT NULL DEFAULT '{}',
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX labels_inbox_name ON labels(inbox_id, name COLLATE NOCASE);

-- Which labels a message carries, and who put them there
-- ("rule:<id>", "token:<id>", "user:<id>").
CREATE TABLE message_labels (
	message_id	TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	label_id	TEXT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
	applied_by	TEXT NOT NULL,
	applied_at	INTEGER NOT NULL,
	PRIMARY KEY (message_id, label_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX message_labels_label ON message_labels(label_id, message_id);

-- Auto-label rules, tried by ascending position at receive time; the
-- first enabled match applies its label. conditions is the validated
-- JSON array (see include/gent/auto_label.h).
CREATE TABLE auto_label_rules (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	label_id	TEXT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
	name		TEXT,
	match		TEXT NOT NULL DEFAULT 'all' CHECK (match IN ('all', 'any')),
	conditions	TEXT NOT NULL,
	position	INTEGER NOT NULL,
	enabled		INTEGER NOT NULL DEFAULT 1,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX auto_label_rules_inbox ON auto_label_rules(inbox_id, position);
CREATE INDEX auto_label_rules_label ON auto_label_rules(label_id);
