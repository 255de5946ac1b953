-- How many patients each clinic has, live and archived, kept at write time: the total of a
-- clinic's patient list (the `count` of every page) is read, not counted over the clinic's
-- patients on every request, so a page costs the same however large the clinic grows. Searches
-- and a clinician's care team still count their matches. Every clinic has its rows (a trigger
-- adds them with the clinic).
-- Each clinic's totals are spread over 8 rows (a patient counts in the row of its id modulo 8)
-- and summed when read: registrations in one clinic then rarely wait for one another's lock on
-- the same row.
CREATE TABLE clinic_patient_totals (
    clinic_id INTEGER NOT NULL REFERENCES clinics (id),
    slot INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 7),
    live INTEGER NOT NULL CHECK (live >= 0),
    archived INTEGER NOT NULL CHECK (archived >= 0),
    PRIMARY KEY (clinic_id, slot)
);
WITH RECURSIVE slots (slot) AS (SELECT 0 UNION ALL SELECT slot + 1 FROM slots WHERE slot < 7)
INSERT INTO clinic_patient_totals (clinic_id, slot, live, archived)
SELECT clinics.id, slots.slot,
       COUNT(patients.id) FILTER (WHERE patients.archived_at IS NULL),
       COUNT(patients.id) FILTER (WHERE patients.archived_at IS NOT NULL)
FROM clinics CROSS JOIN slots
LEFT JOIN patients ON patients.clinic_id = clinics.id AND patients.id % 8 = slots.slot
GROUP BY clinics.id, slots.slot;

CREATE TRIGGER clinics_add_patient_totals AFTER INSERT ON clinics
BEGIN
    INSERT INTO clinic_patient_totals (clinic_id, slot, live, archived)
    VALUES (NEW.id, 0, 0, 0), (NEW.id, 1, 0, 0), (NEW.id, 2, 0, 0), (NEW.id, 3, 0, 0),
           (NEW.id, 4, 0, 0), (NEW.id, 5, 0, 0), (NEW.id, 6, 0, 0), (NEW.id, 7, 0, 0);
END;

CREATE TRIGGER patients_count_totals_insert AFTER INSERT ON patients
BEGIN
    UPDATE clinic_patient_totals SET
        live = live + (NEW.archived_at IS NULL),
        archived = archived + (NEW.archived_at IS NOT NULL)
    WHERE clinic_id = NEW.clinic_id AND slot = NEW.id % 8;
END;
CREATE TRIGGER patients_count_totals_update AFTER UPDATE ON patients
WHEN (OLD.archived_at IS NULL) IS NOT (NEW.archived_at IS NULL)
  OR OLD.clinic_id IS NOT NEW.clinic_id
BEGIN
    UPDATE clinic_patient_totals SET
        live = live - (OLD.archived_at IS NULL),
        archived = archived - (OLD.archived_at IS NOT NULL)
    WHERE clinic_id = OLD.clinic_id AND slot = OLD.id % 8;
    UPDATE clinic_patient_totals SET
        live = live + (NEW.archived_at IS NULL),
        archived = archived + (NEW.archived_at IS NOT NULL)
    WHERE clinic_id = NEW.clinic_id AND slot = NEW.id % 8;
END;
CREATE TRIGGER patients_count_totals_delete AFTER DELETE ON patients
BEGIN
    UPDATE clinic_patient_totals SET
        live = live - (OLD.archived_at IS NULL),
        archived = archived - (OLD.archived_at IS NOT NULL)
    WHERE clinic_id = OLD.clinic_id AND slot = OLD.id % 8;
END;
