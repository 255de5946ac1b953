-- pgbench floor for S3 GET /api/patients/?page=N: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D clinic=ITS_CLINIC -D lo=FIRST_PATIENT -D hi=LAST_PATIENT
-- -D pages=N. The authentication's account and membership lookups are cached by the server (10 s),
-- and the pool checks no connection before use, so a request is only its repository's statements.
\set size 20
\set one 1
\set zero 0
\set page random(1, :pages)
\set skip (:page - 1) * 20
-- PatientRepository::list in the caller's clinic: the page with the clinic's total, kept by
-- triggers over 8 rows, as a scalar subquery: one statement (also the best SQL for the answer:
-- one round trip).
SELECT "patients"."id", "patients"."owner_id", "patients"."name", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at", "patients"."clinic_id", (SELECT CAST(COALESCE(SUM(live * :one + archived * :zero), 0) AS BIGINT) FROM clinic_patient_totals WHERE clinic_id = :clinic) FROM "patients" WHERE (("patients"."clinic_id" = :clinic) AND ("patients"."archived_at" IS NULL)) ORDER BY "patients"."created_at" DESC, "patients"."id" DESC LIMIT :size OFFSET :skip;
