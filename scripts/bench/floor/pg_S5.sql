-- pgbench floor for S5 GET /api/mappings/{patient_id}/: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D lo=FIRST_PATIENT -D hi=LAST_PATIENT -D pages=N.
\set one 1
\set id random(:lo, :hi)
-- The authentication's user lookup is cached by the server (AuthService::authenticate reads an
-- account at most every 10 s), so a request starts with the handler's pool checkout validation.
SELECT 1;
-- PatientRepository::find, then MappingRepository::active_for_patient on a new checkout.
SELECT "patients"."id", "patients"."owner_id", "patients"."name", "patients"."name_lower", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at", "patients"."clinic_id" FROM "patients" WHERE ("patients"."id" = :id) LIMIT :one;
SELECT 1;
SELECT "patient_doctor_mappings"."id", "patient_doctor_mappings"."patient_id", "patient_doctor_mappings"."doctor_id", "patient_doctor_mappings"."assigned_by", "patient_doctor_mappings"."assigned_date", "patient_doctor_mappings"."notes", "patient_doctor_mappings"."is_active", "patient_doctor_mappings"."updated_at", "patient_doctor_mappings"."removed_at", "doctors"."id", "doctors"."created_by", "doctors"."name", "doctors"."specialization", "doctors"."specialization_lower", "doctors"."phone", "doctors"."email", "doctors"."experience_years", "doctors"."qualification", "doctors"."consultation_fee_cents", "doctors"."is_available", "doctors"."created_at", "doctors"."updated_at", "doctors"."version", "doctors"."archived_at", (SELECT COUNT(*) FROM patient_doctor_mappings m WHERE m.doctor_id = doctors.id AND m.is_active) FROM ("patient_doctor_mappings" INNER JOIN "doctors" ON ("patient_doctor_mappings"."doctor_id" = "doctors"."id")) WHERE (("patient_doctor_mappings"."patient_id" = :id) AND ("patient_doctor_mappings"."is_active" = true)) ORDER BY "patient_doctor_mappings"."assigned_date" ASC, "patient_doctor_mappings"."id" ASC;
