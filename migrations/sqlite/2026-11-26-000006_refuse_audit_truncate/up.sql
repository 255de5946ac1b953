-- SQLite has no TRUNCATE (a bare DELETE is refused by audit_events_no_delete): nothing to do,
-- kept so both dialects have the same migration history.
SELECT 1;
