-- pgbench floor for S4 POST /api/patients/: the statement one API request runs, as PostgreSQL logged it
-- (log_statement = all). Variables: -D uid=USER -D clinic=ITS_CLINIC -D lo=FIRST_PATIENT -D hi=LAST_PATIENT
-- -D pages=N. The authentication's account and membership lookups are cached by the server (10 s),
-- and the pool checks no connection before use, so a request is only its repository's statements.
-- PatientRepository::insert: the patient and its audit row (with its row MAC) in one
-- data-modifying statement, atomic on its own: one round trip, also the best SQL for the answer.
-- The server names the patient's id itself (reserved from the sequence 32 at a time, one more
-- round trip per 32 requests) because the audit row's MAC covers it; here the row reads it back.
\set one 1
\set age random(0, 99)
\set phone random(0, 9999999)
WITH created AS (INSERT INTO "patients" ("owner_id", "name", "name_lower", "name_folded", "age", "gender", "phone", "email", "address", "medical_history", "created_at", "updated_at", "version", "clinic_id") VALUES (:uid, 'Emma Silva', 'emma silva', 'emma silva', :age, 'F', '+1555' || :phone, 'bench' || :phone || '@example.org', '12 Harbour Road, Springfield', 'Seasonal allergies; no known drug allergies. Annual check-up.', LOCALTIMESTAMP, LOCALTIMESTAMP, :one, :clinic) RETURNING *), audited AS (INSERT INTO "audit_events" ("at", "actor_user_id", "action", "resource_type", "resource_id", "patient_id", "outcome", "client_address", "request_id", "row_nonce", "row_mac", "break_glass") SELECT LOCALTIMESTAMP, :uid, 'patient.create', 'patient', created.id, created.id, 'success', '127.0.0.1', 'floor-' || :phone, md5(random()::text), md5(random()::text) || md5(random()::text), false FROM created) SELECT * FROM created;
