"""node photo sendings

A node's evidence photos name the sending they came with by a number (``node_photos.sending``: the node's
``project_nodes.sendings`` when it was marked done, 1 the first time, 2 once done again after its day was taken
back), not by the time they were stored: two sendings within one instant stay two, and the late parts of an
album join the sending that marked the node done whenever they come. The photos stored before are numbered by
the times they were stored (one time, one sending, as they were told apart until now); each node counts the
sendings its photos show.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('project_nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sendings', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('node_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sending', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE node_photos SET sending = (SELECT COUNT(DISTINCT earlier.created_at) FROM node_photos earlier "
               "WHERE earlier.node_id = node_photos.node_id AND earlier.created_at <= node_photos.created_at)")
    op.execute("UPDATE project_nodes SET sendings = COALESCE((SELECT MAX(sending) FROM node_photos "
               "WHERE node_photos.node_id = project_nodes.id), 0)")


def downgrade() -> None:
    with op.batch_alter_table('node_photos', schema=None) as batch_op:
        batch_op.drop_column('sending')
    with op.batch_alter_table('project_nodes', schema=None) as batch_op:
        batch_op.drop_column('sendings')
