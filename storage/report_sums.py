"""The running sums of live reports per project and year (``report_sums``), kept by database triggers.

Storing a report checks its amount against what the project has left and shows the year's total, so it
needs two sums over the project's reports. Summed from ``reports`` they cost time in proportion to the
project's history (some 250 reports a year); read from ``report_sums`` they are a few rows.

The database keeps the table itself: triggers on ``reports`` add a live report's amount to its (project,
year) row and take it away again when the report is withdrawn, changed or deleted. Every writer, the
program, a script or an admin at the SQL prompt, keeps the sums right without knowing they exist. The
year is the calendar year of the report's ``local_day``.

The statements below are written once per dialect and used both when tables are created from the models
(tests) and by the migration that added the table.
"""

from __future__ import annotations

from collections.abc import Sequence

_SQLITE_YEAR = "CAST(substr({row}.local_day, 1, 4) AS INTEGER)"

_SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS report_sums_insert AFTER INSERT ON reports WHEN NEW.withdrawn_at IS NULL
BEGIN
    INSERT INTO report_sums (project_id, year, amount)
        VALUES (NEW.project_id, {_SQLITE_YEAR.format(row='NEW')}, NEW.amount)
        ON CONFLICT (project_id, year) DO UPDATE SET amount = amount + excluded.amount;
END""",
    f"""CREATE TRIGGER IF NOT EXISTS report_sums_delete AFTER DELETE ON reports WHEN OLD.withdrawn_at IS NULL
BEGIN
    UPDATE report_sums SET amount = amount - OLD.amount
        WHERE project_id = OLD.project_id AND year = {_SQLITE_YEAR.format(row='OLD')};
END""",
    f"""CREATE TRIGGER IF NOT EXISTS report_sums_update
    AFTER UPDATE OF project_id, local_day, amount, withdrawn_at ON reports
BEGIN
    UPDATE report_sums SET amount = amount - OLD.amount
        WHERE OLD.withdrawn_at IS NULL AND project_id = OLD.project_id AND year = {_SQLITE_YEAR.format(row='OLD')};
    INSERT INTO report_sums (project_id, year, amount)
        SELECT NEW.project_id, {_SQLITE_YEAR.format(row='NEW')}, NEW.amount WHERE NEW.withdrawn_at IS NULL
        ON CONFLICT (project_id, year) DO UPDATE SET amount = amount + excluded.amount;
END""",
]
_SQLITE_DROP = ["DROP TRIGGER IF EXISTS report_sums_insert", "DROP TRIGGER IF EXISTS report_sums_delete",
                "DROP TRIGGER IF EXISTS report_sums_update"]

_POSTGRESQL_CREATE = [
    """CREATE OR REPLACE FUNCTION report_sums_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.withdrawn_at IS NULL THEN
        UPDATE report_sums SET amount = amount - OLD.amount
            WHERE project_id = OLD.project_id AND year = EXTRACT(YEAR FROM OLD.local_day)::integer;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.withdrawn_at IS NULL THEN
        INSERT INTO report_sums (project_id, year, amount)
            VALUES (NEW.project_id, EXTRACT(YEAR FROM NEW.local_day)::integer, NEW.amount)
            ON CONFLICT (project_id, year) DO UPDATE SET amount = report_sums.amount + EXCLUDED.amount;
    END IF;
    RETURN NULL;
END
$$""",
    "DROP TRIGGER IF EXISTS report_sums_track ON reports",
    """CREATE TRIGGER report_sums_track
    AFTER INSERT OR UPDATE OF project_id, local_day, amount, withdrawn_at OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION report_sums_track()""",
]
_POSTGRESQL_DROP = ["DROP TRIGGER IF EXISTS report_sums_track ON reports",
                    "DROP FUNCTION IF EXISTS report_sums_track()"]

_YEAR = {"sqlite": _SQLITE_YEAR.format(row="reports"), "postgresql": "EXTRACT(YEAR FROM local_day)::integer"}


def create_triggers(dialect: str) -> Sequence[str]:
    """The statements that make the database keep ``report_sums`` (after both tables exist; running them
    again changes nothing)."""
    return {"sqlite": _SQLITE_CREATE, "postgresql": _POSTGRESQL_CREATE}[dialect]


def drop_triggers(dialect: str) -> Sequence[str]:
    return {"sqlite": _SQLITE_DROP, "postgresql": _POSTGRESQL_DROP}[dialect]


def fill(dialect: str) -> str:
    """The statement that sums the live reports already stored into an empty ``report_sums``."""
    return (f"INSERT INTO report_sums (project_id, year, amount) SELECT project_id, {_YEAR[dialect]}, sum(amount) "
            f"FROM reports WHERE withdrawn_at IS NULL GROUP BY project_id, {_YEAR[dialect]}")
