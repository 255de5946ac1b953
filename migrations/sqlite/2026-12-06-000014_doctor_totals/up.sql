-- How many doctors are live and archived, kept at write time: the directory's total (the
-- `count` of every page) is read, not counted over the whole table on every request, so a page
-- costs the same however many doctors there are. Filtered lists (search, specialization,
-- availability) still count their matches.
CREATE TABLE doctor_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live INTEGER NOT NULL CHECK (live >= 0),
    archived INTEGER NOT NULL CHECK (archived >= 0)
);
INSERT INTO doctor_totals (id, live, archived)
SELECT 1, COUNT(*) FILTER (WHERE archived_at IS NULL), COUNT(*) FILTER (WHERE archived_at IS NOT NULL)
FROM doctors;

CREATE TRIGGER doctors_count_totals_insert AFTER INSERT ON doctors
BEGIN
    UPDATE doctor_totals SET
        live = live + (NEW.archived_at IS NULL),
        archived = archived + (NEW.archived_at IS NOT NULL);
END;
CREATE TRIGGER doctors_count_totals_update AFTER UPDATE ON doctors
WHEN (OLD.archived_at IS NULL) IS NOT (NEW.archived_at IS NULL)
BEGIN
    UPDATE doctor_totals SET
        live = live - (OLD.archived_at IS NULL) + (NEW.archived_at IS NULL),
        archived = archived - (OLD.archived_at IS NOT NULL) + (NEW.archived_at IS NOT NULL);
END;
CREATE TRIGGER doctors_count_totals_delete AFTER DELETE ON doctors
BEGIN
    UPDATE doctor_totals SET
        live = live - (OLD.archived_at IS NULL),
        archived = archived - (OLD.archived_at IS NOT NULL);
END;
