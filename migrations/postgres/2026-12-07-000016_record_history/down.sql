DROP TABLE doctor_versions;
DROP TABLE patient_versions;
DROP FUNCTION versions_are_kept();
DROP TRIGGER doctors_keep_versions ON doctors;
DROP FUNCTION doctors_keep_versions();
DROP TRIGGER patients_keep_versions ON patients;
DROP FUNCTION patients_keep_versions();
ALTER TABLE doctors DROP COLUMN name_folded;
ALTER TABLE patients DROP COLUMN name_folded;
