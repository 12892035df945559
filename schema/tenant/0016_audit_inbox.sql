-- The inbox an audit entry concerns (NULL for tenant-wide changes), so the
-- log filters by inbox without guessing from targets. It joins the hash
-- chain when set (store_audit_hash); older rows keep their hashes.
ALTER TABLE audit ADD COLUMN inbox_id TEXT;
CREATE INDEX audit_inbox ON audit(inbox_id, created_at DESC, id DESC);
