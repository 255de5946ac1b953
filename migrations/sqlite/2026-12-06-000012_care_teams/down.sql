DROP TRIGGER audit_events_seal_once;
CREATE TRIGGER audit_events_seal_once BEFORE UPDATE ON audit_events
WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_user_id IS NOT OLD.actor_user_id
  OR NEW.action IS NOT OLD.action OR NEW.resource_type IS NOT OLD.resource_type
  OR NEW.resource_id IS NOT OLD.resource_id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.outcome IS NOT OLD.outcome OR NEW.client_address IS NOT OLD.client_address
  OR NEW.request_id IS NOT OLD.request_id OR NEW.row_nonce IS NOT OLD.row_nonce
  OR NEW.row_mac IS NOT OLD.row_mac
BEGIN
    SELECT RAISE(ABORT, 'audit_events rows can only be sealed, once');
END;
ALTER TABLE audit_events DROP COLUMN break_glass;
DROP TABLE break_glass_grants;
DROP INDEX doctors_linked_user_idx;
-- SQLite cannot drop a column that has a foreign key: linked_user_id stays, unused.
