-- The mapping view reads a patient's active mappings oldest first (ties by id): SQLite reads
-- them in this index's order instead of sorting them in a temporary table (PostgreSQL finds
-- them through the index of active pairs and sorts the few rows). It replaces the index on
-- (patient_id, is_active), which it covers.
CREATE INDEX mappings_patient_active_order_idx
    ON patient_doctor_mappings (patient_id, is_active, assigned_date, id);
DROP INDEX mappings_patient_active_idx;
