-- A doctor's active mappings, kept up to date at write time: a page of doctors reads 20
-- columns instead of counting every doctor's mappings on every request. An active mapping's
-- patient is never archived (archiving ends its mappings in the same transaction), so this is
-- also the count of live patients assigned to the doctor.
--
-- The trigger only does the arithmetic; the writers lock the doctor rows before the mapping
-- rows (patient, then doctors in id order, then mappings) so that concurrent writers never
-- deadlock on the counter.
ALTER TABLE doctors ADD COLUMN patient_count BIGINT NOT NULL DEFAULT 0
    CONSTRAINT doctors_patient_count_not_negative CHECK (patient_count >= 0);
-- Every assignment and removal now updates its doctor's row: room on each page lets those
-- updates stay on the page (HOT, no index entries) for pages written from now on.
ALTER TABLE doctors SET (fillfactor = 80);
CREATE FUNCTION mappings_count_patients() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.is_active THEN
        UPDATE doctors SET patient_count = patient_count - 1 WHERE id = OLD.doctor_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_active THEN
        UPDATE doctors SET patient_count = patient_count + 1 WHERE id = NEW.doctor_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER mappings_count_patients_insert AFTER INSERT ON patient_doctor_mappings
    FOR EACH ROW WHEN (NEW.is_active) EXECUTE FUNCTION mappings_count_patients();
CREATE TRIGGER mappings_count_patients_update AFTER UPDATE ON patient_doctor_mappings
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active
                       OR OLD.doctor_id IS DISTINCT FROM NEW.doctor_id)
    EXECUTE FUNCTION mappings_count_patients();
CREATE TRIGGER mappings_count_patients_delete AFTER DELETE ON patient_doctor_mappings
    FOR EACH ROW WHEN (OLD.is_active) EXECUTE FUNCTION mappings_count_patients();

-- Counted after the triggers exist: creating them locks the mappings against writers until
-- this migration commits, so a write by a server still running the previous release either
-- committed before the count (and is in it) or waits and then passes through the triggers.
UPDATE doctors SET patient_count = counted.active
FROM (SELECT doctor_id, COUNT(*) AS active FROM patient_doctor_mappings
      WHERE is_active GROUP BY doctor_id) AS counted
WHERE doctors.id = counted.doctor_id;
