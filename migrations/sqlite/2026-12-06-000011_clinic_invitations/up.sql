-- Invitations to join a clinic: a single-use token, handed over out of band and stored only as
-- its SHA-256, bound to the invited e-mail (lower-cased by the application), valid 7 days.
CREATE TABLE clinic_invitations (
    id INTEGER PRIMARY KEY,
    clinic_id INTEGER NOT NULL REFERENCES clinics (id),
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'front_desk', 'auditor')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    accepted_by INTEGER REFERENCES users (id)
);
