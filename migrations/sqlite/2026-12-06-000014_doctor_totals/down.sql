DROP TRIGGER doctors_count_totals_delete;
DROP TRIGGER doctors_count_totals_update;
DROP TRIGGER doctors_count_totals_insert;
DROP TABLE doctor_totals;
