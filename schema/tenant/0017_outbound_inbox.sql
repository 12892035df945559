-- Summaries (usage, handoff) read an inbox's sends by time.
CREATE INDEX outbound_inbox ON outbound(inbox_id, created_at);
