DROP INDEX patients_clinic_created_idx;
DROP TRIGGER patients_clinic_id_exists_on_update;
DROP TRIGGER patients_clinic_id_exists_on_insert;
ALTER TABLE patients DROP COLUMN clinic_id;
DROP TABLE clinic_members;
DROP TABLE clinics;
