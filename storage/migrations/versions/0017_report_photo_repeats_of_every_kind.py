"""report photo repeats of every kind

A report photo is a 疑似重复照片 when it repeats an earlier photo of any kind: a report's, a problem's or a
node's evidence (as problem and node photos already were). The photo it repeats is named by one of three
columns, by its kind: ``duplicate_of_id`` (a report photo, as before), ``duplicate_of_problem_photo_id`` and
``duplicate_of_node_photo_id`` (new). The repeats of the report photos already kept are worked out again by
the rule of ``bot.domain.photo_match`` against the kept photos of every kind; going back, against report
photos only, as the previous release had them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import storage.types
from bot.domain.photo_match import BANDS, Sighting, bands, distance, first_repeated, hash_from_text

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = {"report": "duplicate_of_id", "problem": "duplicate_of_problem_photo_id",
           "node": "duplicate_of_node_photo_id"}
TIMES = {"created_at": storage.types.UTCDateTime(), "local_day": sa.Date()}
# The kept photos (with a hash) of each kind: id, project, day (a report's) or the time sent, hash.
SIGHTINGS = {
    "report": "SELECT rp.id, r.project_id, r.local_day, r.created_at, b.phash FROM report_photos rp "
              "JOIN reports r ON r.id = rp.report_id JOIN photo_blobs b ON b.sha256 = rp.sha256 "
              "WHERE b.phash IS NOT NULL",
    "problem": "SELECT pp.id, p.project_id, NULL AS local_day, p.created_at, b.phash FROM problem_photos pp "
               "JOIN problems p ON p.id = pp.problem_id JOIN photo_blobs b ON b.sha256 = pp.sha256 "
               "WHERE b.phash IS NOT NULL",
    "node": "SELECT np.id, n.project_id, NULL AS local_day, np.created_at, b.phash FROM node_photos np "
            "JOIN project_nodes n ON n.id = np.node_id JOIN photo_blobs b ON b.sha256 = np.sha256 "
            "WHERE b.phash IS NOT NULL",
}


def _local_day(day: date | None, at: datetime) -> date:
    return day if day is not None else at.astimezone(SHANGHAI).date()


def _sightings(connection: sa.Connection, kinds: Iterable[str]) -> list[Sighting]:
    found: list[Sighting] = []
    for kind in kinds:
        query = sa.text(SIGHTINGS[kind]).columns(sa.column("id"), sa.column("project_id"),
                                                 sa.column("local_day", TIMES["local_day"]),
                                                 sa.column("created_at", TIMES["created_at"]), sa.column("phash"))
        found += [Sighting(photo_id=i, project_id=p, local_day=_local_day(d, at), reported_at=at,
                           phash=hash_from_text(h), kind=kind) for i, p, d, at, h in connection.execute(query)]
    return found


def _mark_repeats(kinds: tuple[str, ...]) -> None:
    """Each kept report photo marked as repeating the earliest photo of `kinds` it repeats, or nothing."""
    connection = op.get_bind()
    seen = _sightings(connection, kinds)
    buckets: list[dict[int, list[Sighting]]] = [{} for _ in range(BANDS)]
    for sighting in seen:
        for n, value in enumerate(bands(sighting.phash)):
            buckets[n].setdefault(value, []).append(sighting)
    columns = [COLUMNS[kind] for kind in kinds]
    current = {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
        f"SELECT id, {', '.join(columns)}, duplicate_distance FROM report_photos"))}
    changes = []
    for photo in (s for s in seen if s.kind == "report"):
        candidates = {c.key: c for n, value in enumerate(bands(photo.phash)) for c in buckets[n].get(value, ())}
        earlier = first_repeated(photo, list(candidates.values()))
        wanted = {column: None for column in columns}
        if earlier is not None:
            wanted[COLUMNS[earlier.kind]] = earlier.photo_id
        marked = (*wanted.values(), None if earlier is None else distance(photo.phash, earlier.phash))
        if current[photo.photo_id] != marked:
            changes.append({"photo": photo.photo_id, **wanted, "distance": marked[-1]})
    if changes:
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        connection.execute(sa.text(f"UPDATE report_photos SET {assignments}, duplicate_distance = :distance "
                                   "WHERE id = :photo"), changes)


def upgrade() -> None:
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of_problem_photo_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_node_photo_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_report_photos_duplicate_of_problem_photo_id', 'problem_photos',
                                    ['duplicate_of_problem_photo_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_report_photos_duplicate_of_node_photo_id', 'node_photos',
                                    ['duplicate_of_node_photo_id'], ['id'], ondelete='SET NULL')
    _mark_repeats(("report", "problem", "node"))  # on the table as it now is (SQLite rebuilt it)


def downgrade() -> None:
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_constraint('fk_report_photos_duplicate_of_node_photo_id', type_='foreignkey')
        batch_op.drop_constraint('fk_report_photos_duplicate_of_problem_photo_id', type_='foreignkey')
        batch_op.drop_column('duplicate_of_node_photo_id')
        batch_op.drop_column('duplicate_of_problem_photo_id')
    _mark_repeats(("report",))
