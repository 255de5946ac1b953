-- Care teams: a doctor record may be linked to the account of the clinician it describes (that
-- account then treats every patient mapped to the doctor, in clinics where it is a clinician),
-- and a clinician may open a time-limited, audited break-glass grant on one patient.
ALTER TABLE doctors ADD COLUMN linked_user_id INTEGER REFERENCES users (id);
-- A clinician's linked doctors.
CREATE INDEX doctors_linked_user_idx ON doctors (linked_user_id) WHERE linked_user_id IS NOT NULL;

CREATE TABLE break_glass_grants (
    id INTEGER PRIMARY KEY,
    clinic_id INTEGER NOT NULL REFERENCES clinics (id),
    patient_id INTEGER NOT NULL REFERENCES patients (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
-- A clinician's grants still running; a clinic's log, newest first.
CREATE INDEX break_glass_grants_user_idx ON break_glass_grants (user_id, patient_id, expires_at);
CREATE INDEX break_glass_grants_clinic_idx ON break_glass_grants (clinic_id, granted_at DESC, id DESC);

-- A grant is evidence: its audit row names it, so it is never changed or deleted.
CREATE TRIGGER break_glass_grants_no_update BEFORE UPDATE ON break_glass_grants
BEGIN
    SELECT RAISE(ABORT, 'break_glass_grants is append-only');
END;
CREATE TRIGGER break_glass_grants_no_delete BEFORE DELETE ON break_glass_grants
BEGIN
    SELECT RAISE(ABORT, 'break_glass_grants is append-only');
END;

-- An access allowed only by a break-glass grant is marked in its audit row; covered by the
-- row's MACs and, like every other field, never changed after the insert.
ALTER TABLE audit_events ADD COLUMN break_glass BOOLEAN NOT NULL DEFAULT 0;
DROP TRIGGER audit_events_seal_once;
CREATE TRIGGER audit_events_seal_once BEFORE UPDATE ON audit_events
WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_user_id IS NOT OLD.actor_user_id
  OR NEW.action IS NOT OLD.action OR NEW.resource_type IS NOT OLD.resource_type
  OR NEW.resource_id IS NOT OLD.resource_id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.outcome IS NOT OLD.outcome OR NEW.client_address IS NOT OLD.client_address
  OR NEW.request_id IS NOT OLD.request_id OR NEW.row_nonce IS NOT OLD.row_nonce
  OR NEW.row_mac IS NOT OLD.row_mac OR NEW.break_glass IS NOT OLD.break_glass
BEGIN
    SELECT RAISE(ABORT, 'audit_events rows can only be sealed, once');
END;
