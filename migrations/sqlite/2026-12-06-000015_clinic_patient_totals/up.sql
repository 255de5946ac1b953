-- How many patients each clinic has, live and archived, kept at write time: the total of a
-- clinic's patient list (the `count` of every page) is read, not counted over the clinic's
-- patients on every request, so a page costs the same however large the clinic grows. Searches
-- and a clinician's care team still count their matches. Every clinic has its row (a trigger
-- adds it with the clinic).
CREATE TABLE clinic_patient_totals (
    clinic_id INTEGER PRIMARY KEY REFERENCES clinics (id),
    live INTEGER NOT NULL CHECK (live >= 0),
    archived INTEGER NOT NULL CHECK (archived >= 0)
);
INSERT INTO clinic_patient_totals (clinic_id, live, archived)
SELECT clinics.id,
       COUNT(patients.id) FILTER (WHERE patients.archived_at IS NULL),
       COUNT(patients.id) FILTER (WHERE patients.archived_at IS NOT NULL)
FROM clinics LEFT JOIN patients ON patients.clinic_id = clinics.id
GROUP BY clinics.id;

CREATE TRIGGER clinics_add_patient_totals AFTER INSERT ON clinics
BEGIN
    INSERT INTO clinic_patient_totals (clinic_id, live, archived) VALUES (NEW.id, 0, 0);
END;

CREATE TRIGGER patients_count_totals_insert AFTER INSERT ON patients
BEGIN
    UPDATE clinic_patient_totals SET
        live = live + (NEW.archived_at IS NULL),
        archived = archived + (NEW.archived_at IS NOT NULL)
    WHERE clinic_id = NEW.clinic_id;
END;
CREATE TRIGGER patients_count_totals_update AFTER UPDATE ON patients
WHEN (OLD.archived_at IS NULL) IS NOT (NEW.archived_at IS NULL)
  OR OLD.clinic_id IS NOT NEW.clinic_id
BEGIN
    UPDATE clinic_patient_totals SET
        live = live - (OLD.archived_at IS NULL),
        archived = archived - (OLD.archived_at IS NOT NULL)
    WHERE clinic_id = OLD.clinic_id;
    UPDATE clinic_patient_totals SET
        live = live + (NEW.archived_at IS NULL),
        archived = archived + (NEW.archived_at IS NOT NULL)
    WHERE clinic_id = NEW.clinic_id;
END;
CREATE TRIGGER patients_count_totals_delete AFTER DELETE ON patients
BEGIN
    UPDATE clinic_patient_totals SET
        live = live - (OLD.archived_at IS NULL),
        archived = archived - (OLD.archived_at IS NOT NULL)
    WHERE clinic_id = OLD.clinic_id;
END;
