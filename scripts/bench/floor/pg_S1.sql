-- pgbench floor for S1 GET /api/doctors/ (page 1): the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D clinic=ITS_CLINIC -D lo=FIRST_PATIENT -D hi=LAST_PATIENT
-- -D pages=N. The authentication's account and membership lookups are cached by the server (10 s),
-- and the pool checks no connection before use, so a request is only its repository's statements.
\set size 20
\set one 1
\set zero 0
-- DoctorRepository::list: the page (patient_count is a column) with the directory's total, kept
-- by triggers, as a scalar subquery: one statement. Also the best SQL for the answer: one round
-- trip, one index scan and one row, nothing counted.
SELECT "doctors"."id", "doctors"."created_by", "doctors"."name", "doctors"."specialization", "doctors"."phone", "doctors"."email", "doctors"."experience_years", "doctors"."qualification", "doctors"."consultation_fee_cents", "doctors"."is_available", "doctors"."created_at", "doctors"."updated_at", "doctors"."version", "doctors"."archived_at", "doctors"."linked_user_id", "doctors"."patient_count", (SELECT CAST(COALESCE(SUM(live * :one + archived * :zero), 0) AS BIGINT) FROM doctor_totals) FROM "doctors" WHERE ("doctors"."archived_at" IS NULL) ORDER BY "doctors"."name" ASC, "doctors"."id" ASC LIMIT :size OFFSET :zero;
