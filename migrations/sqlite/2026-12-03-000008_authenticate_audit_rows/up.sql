-- Every row the server writes from now on carries its own MAC (row_nonce, row_mac), made with
-- AUDIT_HMAC_KEY; the sealer chains only rows whose MAC verifies, so a row inserted straight
-- into the table is refused and reported. The nonce is random, and unique, so a genuine row
-- cannot be inserted a second time either.
ALTER TABLE audit_events ADD COLUMN row_nonce TEXT;
ALTER TABLE audit_events ADD COLUMN row_mac TEXT
    CHECK ((row_nonce IS NULL) = (row_mac IS NULL));
CREATE UNIQUE INDEX audit_events_row_nonce_idx ON audit_events (row_nonce);

-- Rows written before this migration have no row MAC: they are accepted (as before) when
-- their id is below first_id and they are dated no later than since. AUTOINCREMENT never
-- reuses an id, so every later row's id is larger.
CREATE TABLE audit_row_seals_from (
    first_id BIGINT NOT NULL,
    since TIMESTAMP NOT NULL
);
INSERT INTO audit_row_seals_from (first_id, since)
SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0) + 1,
       strftime('%Y-%m-%d %H:%M:%f', 'now');

CREATE TRIGGER audit_row_seals_from_no_insert BEFORE INSERT ON audit_row_seals_from
BEGIN
    SELECT RAISE(ABORT, 'audit_row_seals_from is written once, by its migration');
END;
CREATE TRIGGER audit_row_seals_from_no_update BEFORE UPDATE ON audit_row_seals_from
BEGIN
    SELECT RAISE(ABORT, 'audit_row_seals_from is written once, by its migration');
END;
CREATE TRIGGER audit_row_seals_from_no_delete BEFORE DELETE ON audit_row_seals_from
BEGIN
    SELECT RAISE(ABORT, 'audit_row_seals_from is written once, by its migration');
END;

-- The append-only rule now covers the row MAC too.
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
