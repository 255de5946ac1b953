-- Every row the server writes from now on carries its own MAC (row_nonce, row_mac), made with
-- AUDIT_HMAC_KEY; the sealer chains only rows whose MAC verifies, so a row inserted straight
-- into the table is refused and reported. The nonce is random, and unique, so a genuine row
-- cannot be inserted a second time either.
ALTER TABLE audit_events ADD COLUMN row_nonce TEXT;
ALTER TABLE audit_events ADD COLUMN row_mac TEXT;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_row_mac_pair
    CHECK ((row_nonce IS NULL) = (row_mac IS NULL));
CREATE UNIQUE INDEX audit_events_row_nonce_idx ON audit_events (row_nonce);

-- Rows written before this migration have no row MAC: they are accepted (as before) when
-- their id is below first_id and they are dated no later than since. Taking the sequence's
-- next value makes every later id larger, whatever gaps rolled-back inserts left.
CREATE TABLE audit_row_seals_from (
    first_id BIGINT NOT NULL,
    since TIMESTAMP NOT NULL
);
INSERT INTO audit_row_seals_from (first_id, since)
SELECT nextval(pg_get_serial_sequence('audit_events', 'id')), now() AT TIME ZONE 'UTC';

CREATE FUNCTION audit_row_seals_from_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_row_seals_from is written once, by its migration';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_row_seals_from_fixed
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON audit_row_seals_from
    FOR EACH STATEMENT EXECUTE FUNCTION audit_row_seals_from_fixed();

-- The append-only rule now covers the row MAC too.
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
