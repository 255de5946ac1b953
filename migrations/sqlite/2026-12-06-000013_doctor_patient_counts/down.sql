DROP TRIGGER mappings_count_patients_delete;
DROP TRIGGER mappings_count_patients_update;
DROP TRIGGER mappings_count_patients_insert;
ALTER TABLE doctors DROP COLUMN patient_count;
