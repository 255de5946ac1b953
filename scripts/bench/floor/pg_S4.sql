-- pgbench floor for S4 POST /api/patients/: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D lo=FIRST_PATIENT -D hi=LAST_PATIENT -D pages=N.
\set one 1
\set age random(0, 99)
\set phone random(0, 9999999)
-- Every request: the pool checkout validation (r2d2 test_on_check_out: "SELECT 1"), then the
-- authentication extractor's user lookup (DieselUserRepository::find_by_id).
SELECT 1;
SELECT "users"."id", "users"."name", "users"."email", "users"."email_lower", "users"."password_hash", "users"."is_active", "users"."is_staff", "users"."created_at" FROM "users" WHERE ("users"."id" = :uid) LIMIT :one;
-- The handler's repository call checks out a connection again.
SELECT 1;
-- PatientRepository::insert.
INSERT INTO "patients" ("owner_id", "name", "name_lower", "age", "gender", "phone", "email", "address", "medical_history", "created_at", "updated_at", "version") VALUES (:uid, 'Emma Silva', 'emma silva', :age, 'F', '+1555' || :phone, 'bench' || :phone || '@example.org', '12 Harbour Road, Springfield', 'Seasonal allergies; no known drug allergies. Annual check-up.', LOCALTIMESTAMP, LOCALTIMESTAMP, :one) RETURNING "patients"."id", "patients"."owner_id", "patients"."name", "patients"."name_lower", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at";
