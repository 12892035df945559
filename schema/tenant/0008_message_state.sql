-- What agents change on a message (read, starred, archived), the search
-- index, and one row per thread.
--
-- messages_fts keeps its own copy of the searchable text (subject, the
-- From/To display forms, the text body or, for HTML-only mail, the
-- HTML's text) and is tied to a message by messages.fts_rowid, written
-- in the message's transaction. It does not use the messages rowid:
-- VACUUM may renumber that.
--
-- threads is maintained with the messages: a message insert creates or
-- extends its thread, a delete shrinks it (and drops it when empty).

ALTER TABLE messages ADD COLUMN is_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN is_starred INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN is_archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN fts_rowid INTEGER;

CREATE VIRTUAL TABLE messages_fts USING fts5(subject, addresses, body,
	tokenize = 'unicode61 remove_diacritics 2');

INSERT INTO messages_fts (rowid, subject, addresses, body)
	SELECT rowid, subject, coalesce(from_addr, '') || ' ' || coalesce(to_addrs, ''),
	    coalesce(text_body, html_body, '') FROM messages;
UPDATE messages SET fts_rowid = rowid;

CREATE TABLE threads (
	id		TEXT PRIMARY KEY,
	inbox_id	TEXT NOT NULL,
	subject		TEXT,			-- of the first message
	first_at	INTEGER NOT NULL,
	last_at		INTEGER NOT NULL,
	message_count	INTEGER NOT NULL
) STRICT;
CREATE INDEX threads_inbox ON threads(inbox_id, last_at DESC, id DESC);

INSERT INTO threads (id, inbox_id, subject, first_at, last_at, message_count)
	SELECT thread_id, inbox_id,
	    (SELECT subject FROM messages f WHERE f.thread_id = m.thread_id
	     ORDER BY received_at, id LIMIT 1),
	    min(received_at), max(received_at), count(*)
	FROM messages m GROUP BY thread_id, inbox_id;
CREATE INDEX messages_fts_rowid ON messages(fts_rowid);
