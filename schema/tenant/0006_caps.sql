-- Usage caps per inbox: mailbox storage (bytes) and sends per period.
CREATE TABLE caps (
	inbox_id	TEXT NOT NULL,
	resource	TEXT NOT NULL CHECK (resource IN ('mailbox', 'send')),
	limit_value	INTEGER NOT NULL,		-- bytes (mailbox) or messages (send)
	period		TEXT,				-- send: daily, weekly, monthly
	mode		TEXT NOT NULL CHECK (mode IN ('enforce', 'hold', 'allow_and_bill')),
	alert_thresholds TEXT NOT NULL DEFAULT '[]',	-- JSON array of percents
	updated_at	INTEGER NOT NULL,
	PRIMARY KEY (inbox_id, resource)
) STRICT;
