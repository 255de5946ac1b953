DROP TRIGGER mappings_count_patients_delete ON patient_doctor_mappings;
DROP TRIGGER mappings_count_patients_update ON patient_doctor_mappings;
DROP TRIGGER mappings_count_patients_insert ON patient_doctor_mappings;
DROP FUNCTION mappings_count_patients();
ALTER TABLE doctors DROP COLUMN patient_count;
ALTER TABLE doctors RESET (fillfactor);
