"""person names: what each person was called, dated

A person's name was kept only as it is now, so a past period's bulletin made again named a 包抓领导 or liaison
renamed since (a name corrected by the ledger import) by his new name. From now on a rename writes the name he
had before, valid from his creation, and the new name, valid from the rename (``person_names``). Renames made
before the upgrade cannot be dated: the table starts empty, and a past period reads every name as it stood at the
upgrade. Downgrading drops the table.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", storage.types.UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_person_names_person_from", "person_names", ["person_id", "valid_from"])
    op.create_index(op.f("ix_person_names_valid_from"), "person_names", ["valid_from"])


def downgrade() -> None:
    op.drop_index(op.f("ix_person_names_valid_from"), table_name="person_names")
    op.drop_index("ix_person_names_person_from", table_name="person_names")
    op.drop_table("person_names")
