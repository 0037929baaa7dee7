"""people's 人员编号 as typed

The 人员编号 an admin types in the ledger's roster (人员名单) is kept with the person (``people.ledger_key``) and
written back by the export, instead of the person's internal id, so that the office finds its own numbers in
the workbook and an export imported as it is changes nothing. People imported before have none: the export
writes their internal id for those without a phone, as before, and the import still knows a person by it.
Downgrading drops the column: the export writes internal ids again.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ledger_key', sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('ledger_key')
