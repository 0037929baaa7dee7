"""finish days from the audit trail

A project finished (竣工/投产) before the day of its finish was recorded has no confirmed 竣工 in
``stage_events``, so every figure, of any day, reads it as finished. Where the audit trail says when it was
made finished (an admin's change of its stage, a ledger import's, or the import that added it finished:
``bot.domain.stage_events.audit_made_finished``), its latest such entry dates the finish: a confirmed 竣工 of
that entry's day (Asia/Shanghai) is recorded, by whoever made the change. A project with no such entry is left
as it is (finished on every day); the bulletins say how many there are. Nothing changes the schema; going
back leaves the recorded days, which the previous revision reads as it reads any other.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import storage.types
from bot.domain.progress import FINISHED_STAGES
from bot.domain.stage_events import CONFIRMED, FINISH, audit_made_finished

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

SHANGHAI = ZoneInfo("Asia/Shanghai")
projects = sa.table(
    "projects", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("stage", sa.String)
)
stage_events = sa.table(
    "stage_events",
    sa.column("project_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("day", sa.Date),
    sa.column("state", sa.String),
    sa.column("raised_by_id", sa.Integer),
    sa.column("decided_by_id", sa.Integer),
    sa.column("created_at", storage.types.UTCDateTime()),
    sa.column("decided_at", storage.types.UTCDateTime()),
)
audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("at", storage.types.UTCDateTime()),
    sa.column("actor_person_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_key", sa.String),
    sa.column("detail", sa.JSON),
)


def upgrade() -> None:
    connection = op.get_bind()
    dated = sa.select(stage_events.c.project_id).where(stage_events.c.kind == FINISH, stage_events.c.state == CONFIRMED)
    undated = {
        code: project_id
        for project_id, code in connection.execute(
            sa.select(projects.c.id, projects.c.code).where(
                projects.c.stage.in_(sorted(FINISHED_STAGES)), projects.c.id.not_in(dated)
            )
        )
    }
    if not undated:
        return
    entries = connection.execute(
        sa.select(
            audit_log.c.object_key, audit_log.c.at, audit_log.c.actor_person_id, audit_log.c.action, audit_log.c.detail
        )
        .where(
            audit_log.c.object_type == "project",
            audit_log.c.object_key.in_(sorted(undated)),
            audit_log.c.action.in_(("project.create", "project.update")),
        )
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    latest = {
        code: (at, person)
        for code, at, person, action, detail in entries
        if isinstance(detail, dict) and audit_made_finished(action, detail)
    }
    rows = [
        {
            "project_id": undated[code],
            "kind": FINISH,
            "day": at.astimezone(SHANGHAI).date(),
            "state": CONFIRMED,
            "raised_by_id": person,
            "decided_by_id": person,
            "created_at": at,
            "decided_at": at,
        }
        for code, (at, person) in sorted(latest.items())
    ]
    if rows:
        connection.execute(sa.insert(stage_events), rows)


def downgrade() -> None:
    """The finishes recorded stay: the previous revision reads them as any other confirmed 竣工."""
