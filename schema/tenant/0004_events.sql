-- The event outbox: every event is written in the same transaction as the
-- change it reports, so nothing acknowledged can miss its event. Alert
-- rules, webhooks and the activity feed read from here.

CREATE TABLE events (
	seq		INTEGER PRIMARY KEY AUTOINCREMENT,	-- delivery order
	id		TEXT NOT NULL UNIQUE,
	type		TEXT NOT NULL,		-- message.received, label.applied, ...
	inbox_id	TEXT,
	message_id	TEXT,
	thread_id	TEXT,
	payload		TEXT NOT NULL DEFAULT '{}',	-- JSON
	created_at	INTEGER NOT NULL
) STRICT;
CREATE INDEX events_inbox ON events(inbox_id, seq);
