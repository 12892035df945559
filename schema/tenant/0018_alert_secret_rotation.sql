-- Rotating an alert rule's secret: the previous one keeps signing beside
-- the new one (a second v1 in webhook-signature) for a grace period, so a
-- receiver can move to the new secret without rejecting deliveries.
ALTER TABLE alert_rules ADD COLUMN previous_secret TEXT;
ALTER TABLE alert_rules ADD COLUMN secret_rotated_at INTEGER;
