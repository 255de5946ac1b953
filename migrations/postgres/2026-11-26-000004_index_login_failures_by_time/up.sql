-- Old failures are swept by time on every recorded attempt.
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);
