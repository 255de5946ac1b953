-- Login throttling, shared by every server instance.
-- Failed logins per e-mail (lower-cased by the application, whether or not an account exists).
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    email_key TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email_idx ON login_failures (email_key, failed_at);

-- Requests per client address and fixed one-minute window.
CREATE TABLE rate_buckets (
    bucket_key TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket_key, window_start)
);
