"""repeats within one report

A photo sent twice with one report (one problem, one node's evidence) is now a 疑似重复照片 of the first
(``bot.domain.photo_match``: the cheapest way to pad a report). The repeats of the report photos already kept
are worked out again by that rule, against the kept photos of every kind, so that the reports sent before are
flagged as the new ones are; going back, by the rule as it was (another project or another day only). Only the
marks that change are written. Problems' and nodes' photos have their repeats found when read: nothing to do.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import storage.types
from bot.domain.photo_match import BANDS, Sighting, bands, distance, first_repeated, hash_from_text

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = {"report": "duplicate_of_id", "problem": "duplicate_of_problem_photo_id",
           "node": "duplicate_of_node_photo_id"}
# The kept photos (with a hash) of each kind: id, what it was sent with, project, day (a report's) or the time
# sent, hash.
SIGHTINGS = {
    "report": "SELECT rp.id, rp.report_id, r.project_id, r.local_day, r.created_at, b.phash FROM report_photos rp "
              "JOIN reports r ON r.id = rp.report_id JOIN photo_blobs b ON b.sha256 = rp.sha256 "
              "WHERE b.phash IS NOT NULL",
    "problem": "SELECT pp.id, pp.problem_id, p.project_id, NULL AS local_day, p.created_at, b.phash "
               "FROM problem_photos pp JOIN problems p ON p.id = pp.problem_id "
               "JOIN photo_blobs b ON b.sha256 = pp.sha256 WHERE b.phash IS NOT NULL",
    "node": "SELECT np.id, np.node_id, n.project_id, NULL AS local_day, np.created_at, b.phash FROM node_photos np "
            "JOIN project_nodes n ON n.id = np.node_id JOIN photo_blobs b ON b.sha256 = np.sha256 "
            "WHERE b.phash IS NOT NULL",
}


def _local_day(day: date | None, at: datetime) -> date:
    return day if day is not None else at.astimezone(SHANGHAI).date()


def _sightings(connection: sa.Connection, *, with_sending: bool) -> list[Sighting]:
    found: list[Sighting] = []
    for kind, query in SIGHTINGS.items():
        typed = sa.text(query).columns(sa.column("id"), sa.column("sent_with"), sa.column("project_id"),
                                       sa.column("local_day", sa.Date()),
                                       sa.column("created_at", storage.types.UTCDateTime()), sa.column("phash"))
        found += [Sighting(photo_id=i, project_id=p, local_day=_local_day(d, at), reported_at=at,
                           phash=hash_from_text(h), kind=kind, sent_with=sent if with_sending else None)
                  for i, sent, p, d, at, h in connection.execute(typed)]
    return found


def _mark_repeats(*, with_sending: bool) -> None:
    """Each kept report photo marked as repeating the earliest photo it repeats, or nothing: the photos sent
    with it counted (`with_sending`) or not."""
    connection = op.get_bind()
    seen = _sightings(connection, with_sending=with_sending)
    buckets: list[dict[int, list[Sighting]]] = [{} for _ in range(BANDS)]
    for sighting in seen:
        for n, value in enumerate(bands(sighting.phash)):
            buckets[n].setdefault(value, []).append(sighting)
    columns = list(COLUMNS.values())
    current = {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
        f"SELECT id, {', '.join(columns)}, duplicate_distance FROM report_photos"))}
    changes = []
    for photo in (s for s in seen if s.kind == "report"):
        candidates = {c.key: c for n, value in enumerate(bands(photo.phash)) for c in buckets[n].get(value, ())}
        earlier = first_repeated(photo, list(candidates.values()))
        wanted: dict[str, int | None] = {column: None for column in columns}
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
    _mark_repeats(with_sending=True)


def downgrade() -> None:
    _mark_repeats(with_sending=False)
