DROP TABLE doctor_versions;
DROP TABLE patient_versions;
DROP TRIGGER doctors_keep_versions;
DROP TRIGGER patients_keep_versions;
DROP INDEX patients_clinic_id_idx;
DROP INDEX doctors_unfolded_idx;
DROP INDEX patients_unfolded_idx;
ALTER TABLE doctors DROP COLUMN name_folded;
ALTER TABLE patients DROP COLUMN name_folded;
