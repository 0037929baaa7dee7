"""The triggers that keep ``ledger_marks`` (storage.ledger_marks says what the marks are for), per dialect: used
both when tables are created from the models (tests) and by the migration that added the table.

On PostgreSQL they run once per statement, before it touches any row (so a writer waits for a mark held by the
import before it holds any row of that statement), and bump a mark once per transaction, on one of its rows
(`SHARDS`); SQLite has row triggers
only (its rows are updated in place). Either way the bump is an upsert: a missing row counts as 0 and the first
bump makes it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["AFTER_WRITE", "BUMP", "GROUPS", "SHARDS", "create_triggers", "drop_triggers"]

GROUPS: dict[str, tuple[str, ...]] = {
    "ledger": ("units", "people", "person_roles", "projects", "project_supporting_units", "annual_plans",
               "ledger_bases", "stage_events"),
    "nodes": ("project_nodes",),
    "reports": ("reports",),
}
# Marks PostgreSQL's import takes after its writes: their writers lock rows the import writes before they bump
# the mark (a report locks its project first).
AFTER_WRITE = frozenset({"reports"})

BUMP = ("INSERT INTO ledger_marks (name, mark) VALUES ({name}, 1) "
        "ON CONFLICT (name) DO UPDATE SET mark = ledger_marks.mark + 1")
# On PostgreSQL a group's mark is SHARDS rows (``reports.0`` … ``reports.63``), a transaction bumping the one of its
# connection (its server process's id modulo SHARDS), and the mark is their sum: writers on different connections
# do not queue on one row from their first write to their commit (30 reports at once: their burst took twice as
# long on one row, bench/report_marks.py). Every row only goes up, so an unchanged sum is every row unchanged.
SHARDS = 64
_SQLITE_OPERATIONS = ("insert", "update", "delete")


def _sqlite_create() -> list[str]:
    return [f"CREATE TRIGGER IF NOT EXISTS ledger_mark_{table}_{operation} AFTER {operation.upper()} ON {table} "
            f"BEGIN {BUMP.format(name=repr(group))}; END"
            for group, tables in GROUPS.items() for table in tables for operation in _SQLITE_OPERATIONS]


def _sqlite_drop() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS ledger_mark_{table}_{operation}"
            for tables in GROUPS.values() for table in tables for operation in _SQLITE_OPERATIONS]


def _postgresql_create() -> list[str]:
    # Once a transaction (a setting local to it, given back with a savepoint rolled back): the mark's row is then
    # locked until it ends, and a row updated again and again in one transaction leaves a version each time, which
    # every later update walks (50,000 rows written one statement each took minutes).
    function = f"""CREATE OR REPLACE FUNCTION ledger_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('ledger_marks.' || TG_ARGV[0], true) IS DISTINCT FROM 'bumped' THEN
        {BUMP.format(name=f"TG_ARGV[0] || '.' || (pg_backend_pid() % {SHARDS})")};
        PERFORM set_config('ledger_marks.' || TG_ARGV[0], 'bumped', true);
    END IF;
    RETURN NULL;
END
$$"""
    statements = [function]
    for group, tables in GROUPS.items():
        for table in tables:
            statements += [f"DROP TRIGGER IF EXISTS ledger_mark ON {table}",
                           f"CREATE TRIGGER ledger_mark BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_mark('{group}')"]
    return statements


def _postgresql_drop() -> list[str]:
    return [*(f"DROP TRIGGER IF EXISTS ledger_mark ON {table}" for tables in GROUPS.values() for table in tables),
            "DROP FUNCTION IF EXISTS ledger_mark()"]


def create_triggers(dialect: str) -> Sequence[str]:
    """The statements that make the database keep ``ledger_marks`` (after every table exists; running them again
    changes nothing)."""
    return {"sqlite": _sqlite_create, "postgresql": _postgresql_create}[dialect]()


def drop_triggers(dialect: str) -> Sequence[str]:
    return {"sqlite": _sqlite_drop, "postgresql": _postgresql_drop}[dialect]()
