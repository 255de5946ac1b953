-- Patients, doctors and their assignments. Rows are archived, never deleted, by the API.
-- Only the exact spelling INTEGER PRIMARY KEY gives SQLite automatic ids.
CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    -- Lower-cased by the application (Unicode-aware) for case-insensitive search.
    name_lower TEXT NOT NULL,
    age INTEGER NOT NULL CHECK (age BETWEEN 0 AND 150),
    gender TEXT NOT NULL CHECK (gender IN ('M', 'F', 'O')),
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    medical_history TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    archived_at TIMESTAMP
);
-- The list: one owner's live patients, newest first.
CREATE INDEX patients_owner_created_idx ON patients (owner_id, created_at DESC, id DESC)
    WHERE archived_at IS NULL;
CREATE INDEX patients_name_lower_idx ON patients (name_lower);

CREATE TABLE doctors (
    id INTEGER PRIMARY KEY,
    created_by INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    specialization TEXT NOT NULL,
    specialization_lower TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    experience_years INTEGER NOT NULL CHECK (experience_years BETWEEN 0 AND 80),
    qualification TEXT NOT NULL,
    consultation_fee_cents BIGINT NOT NULL CHECK (consultation_fee_cents >= 0),
    is_available BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    archived_at TIMESTAMP
);
CREATE INDEX doctors_name_idx ON doctors (name, id) WHERE archived_at IS NULL;
CREATE INDEX doctors_specialization_lower_idx ON doctors (specialization_lower);

CREATE TABLE patient_doctor_mappings (
    id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (id),
    doctor_id INTEGER NOT NULL REFERENCES doctors (id),
    assigned_by INTEGER NOT NULL REFERENCES users (id),
    assigned_date TIMESTAMP NOT NULL,
    notes TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
-- One active mapping per pair: a race between two identical assignments ends in a conflict.
CREATE UNIQUE INDEX mappings_one_active_pair_key ON patient_doctor_mappings (patient_id, doctor_id)
    WHERE is_active = 1;
CREATE INDEX mappings_patient_active_idx ON patient_doctor_mappings (patient_id, is_active);
CREATE INDEX mappings_doctor_active_idx ON patient_doctor_mappings (doctor_id, is_active);
