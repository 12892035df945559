-- Consecutive refused requests made with a token (paused, revoked,
-- expired, inbox closed), reset by the next accepted one; it drives the
-- auth.failed event and its alert threshold.
ALTER TABLE tokens ADD COLUMN failed_auths INTEGER NOT NULL DEFAULT 0;
