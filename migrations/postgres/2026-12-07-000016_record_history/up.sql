-- Record history (FHIR vread and _history): every change of a patient's or doctor's version
-- (update, archive, restore) keeps the row as it was, in the same statement as the change and
-- so in its transaction and beside its audit row. A counter update (`patient_count`) changes
-- no version and keeps nothing. The row lock of the update orders concurrent changes, so no
-- version is lost or kept twice. Versions before this migration were not kept: a record's
-- history starts at the version it has now.
--
-- `name_folded`: the name lower-cased with its accents removed, for FHIR's accent-insensitive
-- name search; written by the application, filled in for existing rows when it starts.
ALTER TABLE patients ADD COLUMN name_folded TEXT;
ALTER TABLE doctors ADD COLUMN name_folded TEXT;
-- What is left to fold, found at each start without reading the tables.
CREATE INDEX patients_unfolded_idx ON patients (id) WHERE name_folded IS NULL;
CREATE INDEX doctors_unfolded_idx ON doctors (id) WHERE name_folded IS NULL;
-- FHIR searches page through a clinic's live patients by id (keyset: `id > last seen`).
CREATE INDEX patients_clinic_id_idx ON patients (clinic_id, id) WHERE archived_at IS NULL;

-- The columns of `patients`, in its order (the row type reads both tables).
CREATE TABLE patient_versions (
    patient_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    age INTEGER NOT NULL,
    gender TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    medical_history TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    archived_at TIMESTAMP,
    clinic_id BIGINT NOT NULL,
    name_folded TEXT,
    PRIMARY KEY (patient_id, version)
);
CREATE FUNCTION patients_keep_versions() RETURNS trigger AS $$
BEGIN
    INSERT INTO patient_versions (patient_id, owner_id, name, name_lower, age, gender, phone,
        email, address, medical_history, created_at, updated_at, version, archived_at,
        clinic_id, name_folded)
    VALUES (OLD.id, OLD.owner_id, OLD.name, OLD.name_lower, OLD.age, OLD.gender, OLD.phone,
        OLD.email, OLD.address, OLD.medical_history, OLD.created_at, OLD.updated_at,
        OLD.version, OLD.archived_at, OLD.clinic_id, OLD.name_folded);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER patients_keep_versions AFTER UPDATE ON patients
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION patients_keep_versions();

-- The columns of `doctors`, in its order.
CREATE TABLE doctor_versions (
    doctor_id BIGINT NOT NULL,
    created_by BIGINT NOT NULL,
    name TEXT NOT NULL,
    specialization TEXT NOT NULL,
    specialization_lower TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    experience_years INTEGER NOT NULL,
    qualification TEXT NOT NULL,
    consultation_fee_cents BIGINT NOT NULL,
    is_available BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    archived_at TIMESTAMP,
    linked_user_id BIGINT,
    patient_count BIGINT NOT NULL,
    name_folded TEXT,
    PRIMARY KEY (doctor_id, version)
);
CREATE FUNCTION doctors_keep_versions() RETURNS trigger AS $$
BEGIN
    INSERT INTO doctor_versions (doctor_id, created_by, name, specialization,
        specialization_lower, phone, email, experience_years, qualification,
        consultation_fee_cents, is_available, created_at, updated_at, version, archived_at,
        linked_user_id, patient_count, name_folded)
    VALUES (OLD.id, OLD.created_by, OLD.name, OLD.specialization, OLD.specialization_lower,
        OLD.phone, OLD.email, OLD.experience_years, OLD.qualification,
        OLD.consultation_fee_cents, OLD.is_available, OLD.created_at, OLD.updated_at,
        OLD.version, OLD.archived_at, OLD.linked_user_id, OLD.patient_count, OLD.name_folded);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER doctors_keep_versions AFTER UPDATE ON doctors
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION doctors_keep_versions();

-- A kept version is never edited or removed.
CREATE FUNCTION versions_are_kept() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or removed', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER patient_versions_are_kept BEFORE UPDATE OR DELETE ON patient_versions
    FOR EACH ROW EXECUTE FUNCTION versions_are_kept();
CREATE TRIGGER patient_versions_not_truncated BEFORE TRUNCATE ON patient_versions
    FOR EACH STATEMENT EXECUTE FUNCTION versions_are_kept();
CREATE TRIGGER doctor_versions_are_kept BEFORE UPDATE OR DELETE ON doctor_versions
    FOR EACH ROW EXECUTE FUNCTION versions_are_kept();
CREATE TRIGGER doctor_versions_not_truncated BEFORE TRUNCATE ON doctor_versions
    FOR EACH STATEMENT EXECUTE FUNCTION versions_are_kept();
