-- How many doctors are live and archived, kept at write time: the directory's total (the
-- `count` of every page) is read, not counted over the whole table on every request, so a page
-- costs the same however many doctors there are. Filtered lists (search, specialization,
-- availability) still count their matches.
CREATE TABLE doctor_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live BIGINT NOT NULL CHECK (live >= 0),
    archived BIGINT NOT NULL CHECK (archived >= 0)
);

CREATE FUNCTION doctors_count_totals() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE doctor_totals SET
            live = live - (OLD.archived_at IS NULL)::int,
            archived = archived - (OLD.archived_at IS NOT NULL)::int;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE doctor_totals SET
            live = live + (NEW.archived_at IS NULL)::int,
            archived = archived + (NEW.archived_at IS NOT NULL)::int;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER doctors_count_totals_insert AFTER INSERT ON doctors
    FOR EACH ROW EXECUTE FUNCTION doctors_count_totals();
CREATE TRIGGER doctors_count_totals_update AFTER UPDATE ON doctors
    FOR EACH ROW WHEN ((OLD.archived_at IS NULL) IS DISTINCT FROM (NEW.archived_at IS NULL))
    EXECUTE FUNCTION doctors_count_totals();
CREATE TRIGGER doctors_count_totals_delete AFTER DELETE ON doctors
    FOR EACH ROW EXECUTE FUNCTION doctors_count_totals();

-- Counted after the triggers exist: creating them locks out writers of doctors until this
-- migration commits, so no write of a server still on the previous release is missed.
INSERT INTO doctor_totals (id, live, archived)
SELECT 1, COUNT(*) FILTER (WHERE archived_at IS NULL), COUNT(*) FILTER (WHERE archived_at IS NOT NULL)
FROM doctors;
