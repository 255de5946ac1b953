-- The staff admin site: each staff user's TOTP second factor, its single-use recovery codes
-- (only their hashes), and server-side sessions (only the hash of the cookie's token).
CREATE TABLE staff_second_factors (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret BLOB NOT NULL,
    -- NULL while enrolling: the factor counts only once a first code confirmed it.
    confirmed_at TIMESTAMP,
    -- The last accepted time step: a code is accepted at most once (replay protection).
    last_step BIGINT NOT NULL DEFAULT 0,
    -- While enrolling: the sign-in (hash of its session token) that was shown the secret;
    -- only that sign-in may confirm it, and any other sign-in gets a new secret.
    enrolling_session TEXT,
    created_at TIMESTAMP NOT NULL
);

-- Only the exact spelling INTEGER PRIMARY KEY gives SQLite automatic ids.
CREATE TABLE staff_recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    second_factor_done BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_sessions_user_idx ON admin_sessions (user_id);
-- Idle sessions are swept by time.
CREATE INDEX admin_sessions_last_seen_idx ON admin_sessions (last_seen_at);
