DROP TRIGGER doctors_count_totals_delete ON doctors;
DROP TRIGGER doctors_count_totals_update ON doctors;
DROP TRIGGER doctors_count_totals_insert ON doctors;
DROP FUNCTION doctors_count_totals();
DROP TABLE doctor_totals;
