-- pgbench floor for S4 POST /api/patients/: the statements one API request runs, as PostgreSQL logged them
-- (log_statement = all). Variables: -D uid=USER -D clinic=ITS_CLINIC -D lo=FIRST_PATIENT -D hi=LAST_PATIENT
-- -D pages=N. The authentication's account and membership lookups are cached by the server (10 s),
-- and the pool checks no connection before use, so a request is only its repository's statements.
\set one 1
\set age random(0, 99)
\set phone random(0, 9999999)
-- PatientRepository::insert: the patient and its audit row (with its row MAC) in one transaction.
BEGIN;
INSERT INTO "patients" ("owner_id", "name", "name_lower", "age", "gender", "phone", "email", "address", "medical_history", "created_at", "updated_at", "version", "clinic_id") VALUES (:uid, 'Emma Silva', 'emma silva', :age, 'F', '+1555' || :phone, 'bench' || :phone || '@example.org', '12 Harbour Road, Springfield', 'Seasonal allergies; no known drug allergies. Annual check-up.', LOCALTIMESTAMP, LOCALTIMESTAMP, :one, :clinic) RETURNING "patients"."id", "patients"."owner_id", "patients"."name", "patients"."name_lower", "patients"."age", "patients"."gender", "patients"."phone", "patients"."email", "patients"."address", "patients"."medical_history", "patients"."created_at", "patients"."updated_at", "patients"."version", "patients"."archived_at", "patients"."clinic_id";
INSERT INTO "audit_events" ("at", "actor_user_id", "action", "resource_type", "resource_id", "patient_id", "outcome", "client_address", "request_id", "row_nonce", "row_mac", "break_glass") VALUES (LOCALTIMESTAMP, :uid, 'patient.create', 'patient', :phone, :phone, 'success', '127.0.0.1', 'floor-' || :phone, md5(random()::text), md5(random()::text) || md5(random()::text), false);
COMMIT;
