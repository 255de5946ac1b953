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
DROP TABLE audit_row_seals_from;
DROP FUNCTION audit_row_seals_from_fixed();
DROP INDEX audit_events_row_nonce_idx;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_row_mac_pair;
ALTER TABLE audit_events DROP COLUMN row_mac;
ALTER TABLE audit_events DROP COLUMN row_nonce;
