-- How many patients each clinic has, live and archived, kept at write time: the total of a
-- clinic's patient list (the `count` of every page) is read, not counted over the clinic's
-- patients on every request, so a page costs the same however large the clinic grows. Searches
-- and a clinician's care team still count their matches.
--
-- Every clinic has its rows (a trigger adds them with the clinic). Writers of patients take one
-- after the patient's own row, and nothing takes a patient after it, so they add no deadlock.
-- Each clinic's totals are spread over 8 rows (a patient counts in the row of its id modulo 8)
-- and summed when read: registrations in one clinic then rarely wait for one another's lock on
-- the same row.
CREATE TABLE clinic_patient_totals (
    clinic_id BIGINT NOT NULL REFERENCES clinics (id),
    slot SMALLINT NOT NULL CHECK (slot BETWEEN 0 AND 7),
    live BIGINT NOT NULL CHECK (live >= 0),
    archived BIGINT NOT NULL CHECK (archived >= 0),
    PRIMARY KEY (clinic_id, slot)
);

CREATE FUNCTION clinics_add_patient_totals() RETURNS trigger AS $$
BEGIN
    INSERT INTO clinic_patient_totals (clinic_id, slot, live, archived)
    SELECT NEW.id, slot, 0, 0 FROM generate_series(0, 7) AS slot;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinics_add_patient_totals AFTER INSERT ON clinics
    FOR EACH ROW EXECUTE FUNCTION clinics_add_patient_totals();

CREATE FUNCTION patients_count_totals() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE clinic_patient_totals SET
            live = live - (OLD.archived_at IS NULL)::int,
            archived = archived - (OLD.archived_at IS NOT NULL)::int
        WHERE clinic_id = OLD.clinic_id AND slot = OLD.id % 8;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE clinic_patient_totals SET
            live = live + (NEW.archived_at IS NULL)::int,
            archived = archived + (NEW.archived_at IS NOT NULL)::int
        WHERE clinic_id = NEW.clinic_id AND slot = NEW.id % 8;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER patients_count_totals_insert AFTER INSERT ON patients
    FOR EACH ROW EXECUTE FUNCTION patients_count_totals();
CREATE TRIGGER patients_count_totals_update AFTER UPDATE ON patients
    FOR EACH ROW WHEN ((OLD.archived_at IS NULL) IS DISTINCT FROM (NEW.archived_at IS NULL)
                       OR OLD.clinic_id IS DISTINCT FROM NEW.clinic_id)
    EXECUTE FUNCTION patients_count_totals();
CREATE TRIGGER patients_count_totals_delete AFTER DELETE ON patients
    FOR EACH ROW EXECUTE FUNCTION patients_count_totals();

-- Counted after the triggers exist: creating them locks out writers of clinics and patients
-- until this migration commits, so no write of a server still on the previous release is missed.
INSERT INTO clinic_patient_totals (clinic_id, slot, live, archived)
SELECT clinics.id, slots.slot,
       COUNT(patients.id) FILTER (WHERE patients.archived_at IS NULL),
       COUNT(patients.id) FILTER (WHERE patients.archived_at IS NOT NULL)
FROM clinics CROSS JOIN generate_series(0, 7) AS slots (slot)
LEFT JOIN patients ON patients.clinic_id = clinics.id AND patients.id % 8 = slots.slot
GROUP BY clinics.id, slots.slot;
