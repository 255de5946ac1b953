DROP INDEX patients_clinic_created_idx;
ALTER TABLE patients DROP COLUMN clinic_id;
DROP TABLE clinic_members;
DROP TABLE clinics;
