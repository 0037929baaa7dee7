"""ledger change marks in shards on PostgreSQL

On PostgreSQL a group's change mark becomes several rows (``reports.0`` …), a transaction bumping the one of its
connection, the mark their sum (storage.ledger_mark_triggers.SHARDS): concurrent reports no longer take turns on
one row from their first write to their commit. The mark each group had is kept, as its row ``.0``. SQLite keeps
one row a group (one writer at a time there anyway). Downgrading folds the rows back into one a group.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-08
"""

from alembic import op

from storage.ledger_mark_triggers import create_triggers

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None

_ONE_ROW_FUNCTION = """CREATE OR REPLACE FUNCTION ledger_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('ledger_marks.' || TG_ARGV[0], true) IS DISTINCT FROM 'bumped' THEN
        INSERT INTO ledger_marks (name, mark) VALUES (TG_ARGV[0], 1)
            ON CONFLICT (name) DO UPDATE SET mark = ledger_marks.mark + 1;
        PERFORM set_config('ledger_marks.' || TG_ARGV[0], 'bumped', true);
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE ledger_marks IN EXCLUSIVE MODE")
    op.execute("UPDATE ledger_marks SET name = name || '.0' WHERE position('.' in name) = 0")
    for statement in create_triggers("postgresql"):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_ONE_ROW_FUNCTION)
    op.execute("LOCK TABLE ledger_marks IN EXCLUSIVE MODE")
    op.execute("CREATE TEMPORARY TABLE ledger_marks_folded ON COMMIT DROP AS "
               "SELECT split_part(name, '.', 1) AS name, sum(mark) AS mark FROM ledger_marks GROUP BY 1")
    op.execute("DELETE FROM ledger_marks")
    op.execute("INSERT INTO ledger_marks (name, mark) SELECT name, mark FROM ledger_marks_folded")
    op.execute("DROP TABLE ledger_marks_folded")
