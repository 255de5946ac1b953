-- A doctor's active mappings, kept up to date at write time: a page of doctors reads 20
-- columns instead of counting every doctor's mappings on every request. An active mapping's
-- patient is never archived (archiving ends its mappings in the same transaction), so this is
-- also the count of live patients assigned to the doctor. SQLite serialises writers
-- (`BEGIN IMMEDIATE`), so the triggers need no lock order.
ALTER TABLE doctors ADD COLUMN patient_count INTEGER NOT NULL DEFAULT 0
    CONSTRAINT doctors_patient_count_not_negative CHECK (patient_count >= 0);
UPDATE doctors SET patient_count = (SELECT COUNT(*) FROM patient_doctor_mappings m
                                    WHERE m.doctor_id = doctors.id AND m.is_active);

CREATE TRIGGER mappings_count_patients_insert AFTER INSERT ON patient_doctor_mappings
WHEN NEW.is_active
BEGIN
    UPDATE doctors SET patient_count = patient_count + 1 WHERE id = NEW.doctor_id;
END;
CREATE TRIGGER mappings_count_patients_update AFTER UPDATE ON patient_doctor_mappings
WHEN OLD.is_active IS NOT NEW.is_active OR OLD.doctor_id IS NOT NEW.doctor_id
BEGIN
    UPDATE doctors SET patient_count = patient_count - 1
    WHERE id = OLD.doctor_id AND OLD.is_active;
    UPDATE doctors SET patient_count = patient_count + 1
    WHERE id = NEW.doctor_id AND NEW.is_active;
END;
CREATE TRIGGER mappings_count_patients_delete AFTER DELETE ON patient_doctor_mappings
WHEN OLD.is_active
BEGIN
    UPDATE doctors SET patient_count = patient_count - 1 WHERE id = OLD.doctor_id;
END;
