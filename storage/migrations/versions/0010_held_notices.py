"""held notices

Notices to people without a chat account used to be written "undeliverable" (last_error "no chat
account") and piled up in /outbox; now they are "held" until the person binds an account
(``storage.outbox``). The rows written before are held too, so they go out when their person binds.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

outbox = sa.table('outbox', sa.column('state', sa.String), sa.column('last_error', sa.Text),
                  sa.column('channel', sa.String))


def upgrade() -> None:
    op.execute(outbox.update()
               .where(outbox.c.state == 'undeliverable', outbox.c.last_error == 'no chat account',
                      outbox.c.channel.is_(None))
               .values(state='held'))


def downgrade() -> None:
    op.execute(outbox.update().where(outbox.c.state == 'held').values(state='undeliverable'))
    # Grouped and summarised notices went out in another form: to the old code they are sent.
    op.execute(outbox.update().where(outbox.c.state.in_(('merged', 'summarised'))).values(state='sent'))
