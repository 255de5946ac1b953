-- pgbench floor for S1 GET /api/doctors/ (page 1): the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D lo=FIRST_PATIENT -D hi=LAST_PATIENT -D pages=N.
\set one 1
\set size 20
\set zero 0
-- The authentication's user lookup is cached by the server (AuthService::authenticate reads an
-- account at most every 10 s), so a request starts with the handler's pool checkout validation.
SELECT 1;
-- DoctorRepository::list: the page with patient counts, then the total.
SELECT "doctors"."id", "doctors"."created_by", "doctors"."name", "doctors"."specialization", "doctors"."specialization_lower", "doctors"."phone", "doctors"."email", "doctors"."experience_years", "doctors"."qualification", "doctors"."consultation_fee_cents", "doctors"."is_available", "doctors"."created_at", "doctors"."updated_at", "doctors"."version", "doctors"."archived_at", (SELECT COUNT(*) FROM patient_doctor_mappings m WHERE m.doctor_id = doctors.id AND m.is_active) FROM "doctors" WHERE ("doctors"."archived_at" IS NULL) ORDER BY "doctors"."name" ASC, "doctors"."id" ASC LIMIT :size OFFSET :zero;
SELECT COUNT(*) FROM "doctors" WHERE ("doctors"."archived_at" IS NULL);
