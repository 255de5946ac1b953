-- The audit trail: one row per access to patient data and per security event. Never a value
-- of a patient field. Rows are appended unsealed (seq and mac NULL); the sealer then gives
-- them a gap-free sequence number and a MAC chained to the previous row's.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id BIGINT,
    patient_id BIGINT,
    outcome TEXT NOT NULL,
    client_address TEXT,
    request_id TEXT,
    seq BIGINT UNIQUE,
    mac TEXT,
    CHECK ((seq IS NULL) = (mac IS NULL))
);
CREATE INDEX audit_events_unsealed_idx ON audit_events (id) WHERE seq IS NULL;
CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_patient_idx ON audit_events (patient_id, at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, at);

-- Append-only: a row can be sealed once and never changed or deleted afterwards. (Whoever owns
-- the file can drop these triggers; the hash chain is what detects that.)
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_seal_once BEFORE UPDATE ON audit_events
WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_user_id IS NOT OLD.actor_user_id
  OR NEW.action IS NOT OLD.action OR NEW.resource_type IS NOT OLD.resource_type
  OR NEW.resource_id IS NOT OLD.resource_id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.outcome IS NOT OLD.outcome OR NEW.client_address IS NOT OLD.client_address
  OR NEW.request_id IS NOT OLD.request_id
BEGIN
    SELECT RAISE(ABORT, 'audit_events rows can only be sealed, once');
END;
