DROP TRIGGER patients_count_totals_delete ON patients;
DROP TRIGGER patients_count_totals_update ON patients;
DROP TRIGGER patients_count_totals_insert ON patients;
DROP FUNCTION patients_count_totals();
DROP TRIGGER clinics_add_patient_totals ON clinics;
DROP FUNCTION clinics_add_patient_totals();
DROP TABLE clinic_patient_totals;
