CREATE INDEX mappings_patient_active_idx ON patient_doctor_mappings (patient_id, is_active);
DROP INDEX mappings_patient_active_order_idx;
