-- pgbench floor for S2 GET /api/patients/{id}/: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D lo=FIRST_PATIENT -D hi=LAST_PATIENT -D pages=N.
\set one 1
\set id random(:lo, :hi)
-- The authentication's user lookup is cached by the server (AuthService::authenticate reads an
-- account at most every 10 s), so a request starts with the handler's pool checkout validation.
SELECT 1;
-- PatientRepository::find.
SELECT "patients"."id", "patients"."owner_id", "patients"."name", "patients"."name_lower", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at", "patients"."clinic_id" FROM "patients" WHERE ("patients"."id" = :id) LIMIT :one;
