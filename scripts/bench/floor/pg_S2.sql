-- pgbench floor for S2 GET /api/patients/{id}/: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D clinic=ITS_CLINIC -D lo=FIRST_PATIENT -D hi=LAST_PATIENT
-- -D pages=N. The authentication's account and membership lookups are cached by the server (10 s),
-- and the pool checks no connection before use, so a request is only its repository's statements.
\set one 1
\set id random(:lo, :hi)
-- PatientRepository::find (also the best SQL for the answer).
SELECT "patients"."id", "patients"."owner_id", "patients"."name", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at", "patients"."clinic_id" FROM "patients" WHERE ("patients"."id" = :id) LIMIT :one;
