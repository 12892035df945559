-- 0014_lookup_indexes.sql - indexes that keep two lookups off a whole-inbox
-- walk (found by bench/bench_messages.sh on 100,000 messages).
--
-- Threading a reply looks up its parent by Message-ID, oldest first: with
-- received_at in the index the planner no longer prefers walking the inbox
-- in time order (ingest had fallen to 40 msg/s at 60,000 messages).
DROP INDEX messages_msgid;
CREATE INDEX messages_msgid ON messages(inbox_id, message_id_hdr, received_at);

-- A search read from the index finds each match's message by its search
-- rowid; the inbox, time and id in the index answer the filter and the
-- sort without reading the row.
DROP INDEX messages_fts_rowid;
CREATE INDEX messages_fts_rowid ON messages(fts_rowid, inbox_id, received_at, id);
