-- Row triggers do not fire on TRUNCATE: refuse it too, so emptying the trail needs the
-- trigger dropped first (the archiving procedure in docs/OPERATIONS.md).
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL
       OR (NEW.id, NEW.at, NEW.actor_user_id, NEW.action, NEW.resource_type, NEW.resource_id,
           NEW.patient_id, NEW.outcome, NEW.client_address, NEW.request_id)
          IS DISTINCT FROM
          (OLD.id, OLD.at, OLD.actor_user_id, OLD.action, OLD.resource_type, OLD.resource_id,
           OLD.patient_id, OLD.outcome, OLD.client_address, OLD.request_id) THEN
        RAISE EXCEPTION 'audit_events rows can only be sealed, once';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
