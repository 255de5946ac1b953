-- Clinics hold patients; users are their members, with one role each. Every account has a
-- personal clinic, of which it is the admin. Existing accounts get theirs here, named after
-- them and holding the patients they created.
CREATE TABLE clinics (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    -- The account whose personal clinic this is; NULL for a shared clinic.
    personal_owner_id INTEGER UNIQUE REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE clinic_members (
    clinic_id INTEGER NOT NULL REFERENCES clinics (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'front_desk', 'auditor')),
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (clinic_id, user_id)
);
-- A user's clinics.
CREATE INDEX clinic_members_user_idx ON clinic_members (user_id);

-- A clinic's name has at most 100 characters, an account's 150.
INSERT INTO clinics (name, personal_owner_id, created_at)
    SELECT rtrim(substr(name, 1, 100)), id, created_at FROM users ORDER BY id;
INSERT INTO clinic_members (clinic_id, user_id, role, joined_at)
    SELECT id, personal_owner_id, 'admin', created_at FROM clinics;

-- SQLite cannot add a NOT NULL column without a default, nor change a column later without
-- rebuilding the table (which the mappings' foreign keys forbid inside a migration's
-- transaction), and cannot drop a column that has a foreign key: the column is filled here and
-- the triggers keep it naming an existing clinic (clinics are never deleted).
ALTER TABLE patients ADD COLUMN clinic_id INTEGER;
UPDATE patients SET clinic_id = (
    SELECT clinics.id FROM clinics WHERE clinics.personal_owner_id = patients.owner_id
);
CREATE TRIGGER patients_clinic_id_exists_on_insert BEFORE INSERT ON patients
    WHEN NOT EXISTS (SELECT 1 FROM clinics WHERE clinics.id = NEW.clinic_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: patients.clinic_id');
END;
CREATE TRIGGER patients_clinic_id_exists_on_update BEFORE UPDATE OF clinic_id ON patients
    WHEN NOT EXISTS (SELECT 1 FROM clinics WHERE clinics.id = NEW.clinic_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: patients.clinic_id');
END;
-- The list: one clinic's live patients, newest first.
CREATE INDEX patients_clinic_created_idx ON patients (clinic_id, created_at DESC, id DESC)
    WHERE archived_at IS NULL;
