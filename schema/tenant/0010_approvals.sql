-- Actions of supervised tokens waiting for a person (guide 10): a token
-- with requires_approval ["email:send"] does not send; its request is
-- kept here until a user approves (then it is sent at once) or rejects
-- it (then it is discarded). Both are audited.
CREATE TABLE approvals (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	token_id	TEXT NOT NULL,
	action		TEXT NOT NULL,		-- the scope held back: "email:send"
	request		TEXT NOT NULL,		-- the JSON body as validated
	summary		TEXT NOT NULL DEFAULT '{}',	-- to, subject: for the reviewer
	status		TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'approved', 'rejected')),
	result		TEXT,			-- approved: the send's answer
	decided_by	TEXT,
	reason		TEXT,
	created_at	INTEGER NOT NULL,
	decided_at	INTEGER
) STRICT;
CREATE INDEX approvals_status ON approvals(status, created_at DESC, id DESC);
