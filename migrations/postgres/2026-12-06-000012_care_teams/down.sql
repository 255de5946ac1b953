CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL
       OR (NEW.id, NEW.at, NEW.actor_user_id, NEW.action, NEW.resource_type, NEW.resource_id,
           NEW.patient_id, NEW.outcome, NEW.client_address, NEW.request_id, NEW.row_nonce,
           NEW.row_mac)
          IS DISTINCT FROM
          (OLD.id, OLD.at, OLD.actor_user_id, OLD.action, OLD.resource_type, OLD.resource_id,
           OLD.patient_id, OLD.outcome, OLD.client_address, OLD.request_id, OLD.row_nonce,
           OLD.row_mac) THEN
        RAISE EXCEPTION 'audit_events rows can only be sealed, once';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
ALTER TABLE audit_events DROP COLUMN break_glass;
DROP TABLE break_glass_grants;
DROP FUNCTION break_glass_grants_append_only();
DROP INDEX doctors_linked_user_idx;
ALTER TABLE doctors DROP COLUMN linked_user_id;
