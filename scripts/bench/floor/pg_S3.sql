-- pgbench floor for S3 GET /api/patients/?page=N: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D lo=FIRST_PATIENT -D hi=LAST_PATIENT -D pages=N.
\set one 1
\set size 20
\set page random(1, :pages)
\set offset (:page - 1) * 20
-- The authentication's user lookup is cached by the server (AuthService::authenticate reads an
-- account at most every 10 s), so a request starts with the handler's pool checkout validation.
SELECT 1;
-- PatientRepository::list: the page, then the total.
SELECT "patients"."id", "patients"."owner_id", "patients"."name", "patients"."name_lower", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at", "patients"."clinic_id" FROM "patients" WHERE (("patients"."owner_id" = :uid) AND ("patients"."archived_at" IS NULL)) ORDER BY "patients"."created_at" DESC, "patients"."id" DESC LIMIT :size OFFSET :offset;
SELECT COUNT(*) FROM "patients" WHERE (("patients"."owner_id" = :uid) AND ("patients"."archived_at" IS NULL));
