"""Repository functions for kept photos: what is due for download, recording a kept photo (and which earlier
photo it repeats) or a failed attempt, and reading a project's photos back.

Three kinds of photo are kept, one way: a report's photos (``report_photos``), the photos attached to a
problem when it was raised (``problem_photos``) and the evidence photos of a node marked done
(``node_photos``). A photo is due while ``fetch_after`` is set and past; kept, it has its ``sha256`` (a row of
``photo_blobs``, shared by every photo of any kind with the same bytes); given up, it has neither, and
``fetch_reason`` says why (a code of ``bot.services.photo_reasons``). Duplicates (a repeat is a photo of
another day or project, or sent with it) follow ``bot.domain.photo_match`` across the three kinds: when a
photo is kept, the kept photos of every kind sharing a band of its perceptual hash
(``storage.photo_sightings``) are compared with it; a report photo is marked as repeating the earliest one it
repeats, whatever its kind, and the later report photos that repeat the photo just kept (kept before it, e.g.
after a failed download of this one) are marked as repeating it when it is the earliest they repeat. The
repeats of problem and node photos are found when read (``storage.photo_repeats``); those photos are read
back by ``storage.evidence_photos``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, literal, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import to_local
from bot.domain.photo_match import Sighting, bands, distance, first_repeated, hash_to_text, repeats
from storage.models import (
    REASON_LENGTH,
    NodePhoto,
    Person,
    PhotoBlob,
    Problem,
    ProblemPhoto,
    Project,
    ProjectNode,
    Report,
    ReportPhoto,
)
from storage.photo_sightings import sightings

_BANDS = (PhotoBlob.band0, PhotoBlob.band1, PhotoBlob.band2, PhotoBlob.band3, PhotoBlob.band4)

PhotoKind = Literal["report", "problem", "node"]
TABLES: dict[str, type[ReportPhoto] | type[ProblemPhoto] | type[NodePhoto]] = {
    "report": ReportPhoto, "problem": ProblemPhoto, "node": NodePhoto}


@dataclass(frozen=True)
class DuePhoto:
    """A photo to download now: its kind and id, and when it was sent (the give-up window runs from then)."""

    id: int
    channel: str
    file_id: str
    attempts: int
    reported_at: datetime
    kind: PhotoKind = "report"


def _due_of(kind: str, now: datetime, skip_channels: Collection[str]):  # type: ignore[no-untyped-def]
    table = TABLES[kind]
    sent_at = {"report": Report.created_at, "problem": Problem.created_at, "node": NodePhoto.created_at}[kind]
    query = select(table.id.label("id"), table.channel.label("channel"), table.file_id.label("file_id"),
                   table.fetch_attempts.label("attempts"), sent_at.label("sent_at"),
                   literal(kind).label("kind"), table.fetch_after.label("fetch_after"))
    if kind == "report":
        query = query.join(Report, Report.id == ReportPhoto.report_id)
    elif kind == "problem":
        query = query.join(Problem, Problem.id == ProblemPhoto.problem_id)
    query = query.where(table.fetch_after.is_not(None), table.fetch_after <= now, table.sha256.is_(None))
    return query.where(table.channel.not_in(list(skip_channels))) if skip_channels else query


async def due_photos(session: AsyncSession, *, now: datetime, limit: int = 20,
                     skip_channels: Collection[str] = ()) -> list[DuePhoto]:
    """The photos of every kind whose download is due, the longest waiting first (but for those of the
    channels `skip_channels`, which cannot be asked now)."""
    due = union_all(*(_due_of(kind, now, skip_channels) for kind in TABLES)).subquery()
    rows = await session.execute(
        select(due.c.id, due.c.channel, due.c.file_id, due.c.attempts, due.c.sent_at, due.c.kind)
        .order_by(due.c.fetch_after, due.c.kind, due.c.id).limit(limit))
    return [DuePhoto(*row) for row in rows]


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the next photo falls due (None when none is waiting)."""
    times = [await session.scalar(select(func.min(table.fetch_after)).where(table.sha256.is_(None)))
             for table in TABLES.values()]
    return min((at for at in times if at is not None), default=None)


async def waiting_count(session: AsyncSession) -> int:
    """How many photos wait for a download (due now or later): counts over the indexes of ``fetch_after``."""
    return sum([int(await session.scalar(select(func.count(table.id)).where(table.fetch_after.is_not(None))) or 0)
                for table in TABLES.values()])


async def record_failure(session: AsyncSession, *, photo_id: int, reason: str, retry_at: datetime | None,
                         kind: PhotoKind = "report") -> None:
    """A download failed: try again at `retry_at`, or (None) give up, keeping the reason (a code)."""
    table = TABLES[kind]
    await session.execute(
        update(table).where(table.id == photo_id)
        .values(fetch_after=retry_at, fetch_reason=reason[:REASON_LENGTH], fetch_attempts=table.fetch_attempts + 1))


async def due_again(session: AsyncSession, *, reason: str, now: datetime) -> int:
    """Every photo waiting to be tried again after a failure of ``reason`` is due now (the store that refused them
    keeps photos again); how many."""
    count = 0
    for table in TABLES.values():
        result = await session.execute(
            update(table).where(table.sha256.is_(None), table.fetch_after > now, table.fetch_reason == reason)
            .values(fetch_after=now).execution_options(synchronize_session=False))
        count += int(getattr(result, "rowcount", 0) or 0)
    return count


@dataclass(frozen=True)
class Kept:
    """A photo just kept: the earlier photo (of any kind) it repeats, if any, and the later report photos now
    marked as repeating it (``newly_repeating``: those of them that repeated nothing until now; the others were
    marked as repeating a photo sent after this one, kept before it)."""

    photo_id: int
    duplicate_of: int | None
    later_repeats: tuple[int, ...] = ()
    newly_repeating: tuple[int, ...] = ()

    @property
    def repeats_found(self) -> int:
        """How many photos this keeping found to be repeats that were not known as such before: itself, and the
        later photos marked now that were unmarked."""
        return (self.duplicate_of is not None) + len(self.newly_repeating)


def sharing_a_band(hashes: Iterable[int]) -> ColumnElement[bool]:
    """Photo blobs sharing a band of one of these perceptual hashes: the candidates ``bot.domain.photo_match``
    compares exactly (a blob without a hash has no bands and never matches)."""
    return or_(*(column == value for phash in hashes for column, value in zip(_BANDS, bands(phash), strict=True)))


def _insert_ignoring_conflict(session: AsyncSession, values: dict[str, object]):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(PhotoBlob).values(**values).on_conflict_do_nothing(index_elements=["sha256"])


# The column of a report photo naming the earlier photo it repeats, by that photo's kind.
REPEAT_COLUMNS = {"report": ReportPhoto.duplicate_of_id, "problem": ReportPhoto.duplicate_of_problem_photo_id,
                  "node": ReportPhoto.duplicate_of_node_photo_id}


def is_a_repeat() -> ColumnElement[bool]:
    """The report photo repeats an earlier photo (of any kind)."""
    return or_(*(column.is_not(None) for column in REPEAT_COLUMNS.values()))


def repeat_values(photo: Sighting, earlier: Sighting | None) -> dict[str, int | None]:
    """The columns of a report photo marked as repeating `earlier` (None: repeating nothing)."""
    values: dict[str, int | None] = {column.key: None for column in REPEAT_COLUMNS.values()}
    values["duplicate_distance"] = None
    if earlier is not None:
        values[REPEAT_COLUMNS[earlier.kind].key] = earlier.photo_id
        values["duplicate_distance"] = distance(photo.phash, earlier.phash)
    return values


async def keep_photo(session: AsyncSession, *, photo_id: int, sha256: str, size: int, content_type: str,
                     width: int | None, height: int | None, phash: int | None, has_thumbnail: bool,
                     now: datetime, kind: PhotoKind = "report") -> Kept:
    """Record that the photo's bytes are in the store under `sha256` (with what `photo_images.examine`
    said about them), and the repeats it is part of: the earlier photo it repeats (marked on a report photo),
    and the later report photos that repeat it first."""
    blob: dict[str, object] = {"sha256": sha256, "size": size, "content_type": content_type[:50], "width": width,
                               "height": height, "has_thumbnail": has_thumbnail, "created_at": now,
                               "phash": None if phash is None else hash_to_text(phash)}
    if phash is not None:
        blob.update({column.key: value for column, value in zip(_BANDS, bands(phash), strict=True)})
    await session.execute(_insert_ignoring_conflict(session, blob))
    table = TABLES[kind]
    await session.execute(
        update(table).where(table.id == photo_id)
        .values(sha256=sha256, kept_at=now, fetch_after=None, fetch_reason=None,
                fetch_attempts=table.fetch_attempts + 1))
    if phash is None:
        return Kept(photo_id=photo_id, duplicate_of=None)
    seen = [s.sighting for s in await sightings(session, sharing_a_band([phash]))]
    me = next((s for s in seen if s.key == (kind, photo_id)), None)
    if me is None:
        return Kept(photo_id=photo_id, duplicate_of=None)
    earlier = first_repeated(me, seen)
    if kind == "report":
        await session.execute(update(ReportPhoto).where(ReportPhoto.id == photo_id)
                              .values(**repeat_values(me, earlier)))
    marked, unmarked = await _mark_later_repeats(session, me, [s for s in seen if s.kind == "report"])
    return Kept(photo_id=photo_id, duplicate_of=None if earlier is None else earlier.photo_id,
                later_repeats=marked, newly_repeating=unmarked)


async def _mark_later_repeats(session: AsyncSession, me: Sighting,
                              reports: list[Sighting]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Mark the report photos that repeat `me` (just kept) and whose earliest repeated photo it is (they were
    kept before it: they repeat nothing yet, or a photo sent after it); their ids, and those of them that
    repeated nothing before."""
    later = [s for s in reports if repeats(s, me)]
    if not later:
        return (), ()
    pool = [s.sighting for s in await sightings(session, sharing_a_band({s.phash for s in later}))]
    marked: list[int] = []
    for photo in later:
        first = first_repeated(photo, pool)
        if first is not None and first.key == me.key:
            marked.append(photo.photo_id)
    if not marked:
        return (), ()
    repeating = set((await session.scalars(select(ReportPhoto.id).where(ReportPhoto.id.in_(marked),
                                                                         is_a_repeat()))).all())
    for photo in later:
        if photo.photo_id in marked:
            await session.execute(update(ReportPhoto).where(ReportPhoto.id == photo.photo_id)
                                  .values(**repeat_values(photo, me)))
    return tuple(marked), tuple(p for p in marked if p not in repeating)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class PhotoRow:
    """One report photo of a project, with its report, its keeping state and what it repeats: the earlier
    photo's kind ("report", "problem", "node") and id, its project's code, its day and its bytes."""

    id: int
    report_id: int
    local_day: date
    reported_at: datetime
    reporter: str
    report_withdrawn: bool
    channel: str
    sha256: str | None
    content_type: str | None
    width: int | None
    height: int | None
    has_thumbnail: bool
    fetch_after: datetime | None
    fetch_attempts: int
    fetch_reason: str | None
    duplicate_of_id: int | None
    duplicate_distance: int | None
    duplicate_project_code: str | None
    duplicate_day: date | None
    duplicate_sha256: str | None
    duplicate_kind: str | None = None
    duplicate_together: bool = False  # the earlier photo came with the same report


def _photo_query(project_id: int, *, include_withdrawn: bool):  # type: ignore[no-untyped-def]
    """The project's report photos, each with the earlier photo it repeats, of whichever kind (one SELECT)."""
    other_photo, other_report, other_project = aliased(ReportPhoto), aliased(Report), aliased(Project)
    problem_photo, problem, problem_project = aliased(ProblemPhoto), aliased(Problem), aliased(Project)
    node_photo, node, node_project = aliased(NodePhoto), aliased(ProjectNode), aliased(Project)
    kind = case(*((column.is_not(None), literal(name)) for name, column in REPEAT_COLUMNS.items()), else_=None)
    query = (
        select(ReportPhoto.id, Report.id, Report.local_day, Report.created_at, Person.name,
               Report.withdrawn_at.is_not(None), ReportPhoto.channel, ReportPhoto.sha256, PhotoBlob.content_type,
               PhotoBlob.width, PhotoBlob.height, func.coalesce(PhotoBlob.has_thumbnail, False),
               ReportPhoto.fetch_after, ReportPhoto.fetch_attempts, ReportPhoto.fetch_reason,
               func.coalesce(*REPEAT_COLUMNS.values()), ReportPhoto.duplicate_distance,
               func.coalesce(other_project.code, problem_project.code, node_project.code),
               other_report.local_day, problem.created_at, node_photo.created_at,
               func.coalesce(other_photo.sha256, problem_photo.sha256, node_photo.sha256), kind,
               func.coalesce(other_photo.report_id == ReportPhoto.report_id, False))
        .join(Report, Report.id == ReportPhoto.report_id)
        .join(Person, Person.id == Report.person_id)
        .outerjoin(PhotoBlob, PhotoBlob.sha256 == ReportPhoto.sha256)
        .outerjoin(other_photo, other_photo.id == ReportPhoto.duplicate_of_id)
        .outerjoin(other_report, other_report.id == other_photo.report_id)
        .outerjoin(other_project, other_project.id == other_report.project_id)
        .outerjoin(problem_photo, problem_photo.id == ReportPhoto.duplicate_of_problem_photo_id)
        .outerjoin(problem, problem.id == problem_photo.problem_id)
        .outerjoin(problem_project, problem_project.id == problem.project_id)
        .outerjoin(node_photo, node_photo.id == ReportPhoto.duplicate_of_node_photo_id)
        .outerjoin(node, node.id == node_photo.node_id)
        .outerjoin(node_project, node_project.id == node.project_id)
        .where(Report.project_id == project_id)
        .order_by(Report.local_day.desc(), Report.created_at.desc(), ReportPhoto.id)
    )
    return query if include_withdrawn else query.where(Report.withdrawn_at.is_(None))


def _rows(rows: Iterable[Any]) -> list[PhotoRow]:
    found: list[PhotoRow] = []
    for row in rows:
        (photo_id, report_id, day, at, reporter, withdrawn, channel, sha, content_type, width, height, thumb,
         fetch_after, attempts, error, earlier, distance_, code, report_day, problem_at, node_at, earlier_sha,
         kind, together) = row
        sent_at = problem_at or node_at  # a problem's or a node's photo: its day is the day it was sent
        earlier_day = report_day if sent_at is None else to_local(sent_at).date()
        found.append(PhotoRow(photo_id, report_id, day, at, reporter, bool(withdrawn), channel, sha, content_type,
                              width, height, bool(thumb), fetch_after, attempts, error, earlier, distance_, code,
                              earlier_day, earlier_sha, kind, bool(together)))
    return found


async def photos_of_project(session: AsyncSession, *, project_id: int, include_withdrawn: bool = False,
                            since: date | None = None, until: date | None = None) -> list[PhotoRow]:
    """The project's report photos, newest day first (one SELECT)."""
    query = _photo_query(project_id, include_withdrawn=include_withdrawn)
    if since is not None:
        query = query.where(Report.local_day >= since)
    if until is not None:
        query = query.where(Report.local_day <= until)
    return _rows(await session.execute(query))


@dataclass(frozen=True)
class ProjectPhotoNotes:
    """What /project says about a project's photos beyond their number: how many repeat an earlier photo
    (the newest few of them), and how many could not be kept (given up)."""

    repeats: int
    newest_repeats: list[PhotoRow]
    lost: int


async def photo_notes(session: AsyncSession, *, project_id: int, limit: int = 5) -> ProjectPhotoNotes:
    """The notes of the photos of the project's reports that count (a second SELECT only with repeats)."""
    repeats = func.count(ReportPhoto.id).filter(is_a_repeat())
    lost = func.count(ReportPhoto.id).filter(ReportPhoto.sha256.is_(None), ReportPhoto.fetch_after.is_(None))
    counted, lost_count = (await session.execute(
        select(repeats, lost).join(Report, Report.id == ReportPhoto.report_id)
        .where(Report.project_id == project_id, Report.withdrawn_at.is_(None)))).one()
    newest: list[PhotoRow] = []
    if counted:
        query = _photo_query(project_id, include_withdrawn=False).where(is_a_repeat())
        newest = _rows(await session.execute(query.limit(limit)))
    return ProjectPhotoNotes(repeats=int(counted), newest_repeats=newest, lost=int(lost_count))


@dataclass(frozen=True)
class StoredPhoto:
    """Where a report photo's bytes are: its project (for the reader's scope check) and blob."""

    id: int
    project_id: int
    sha256: str | None
    content_type: str | None
    has_thumbnail: bool
    fetch_after: datetime | None = None  # not kept: when the next download is due (None: given up)
    fetch_reason: str | None = None  # not kept: why the last download failed


async def stored_photo(session: AsyncSession, *, photo_id: int) -> StoredPhoto | None:
    """The report photo with this id, or None."""
    row = (await session.execute(
        select(ReportPhoto.id, Report.project_id, ReportPhoto.sha256, PhotoBlob.content_type,
               func.coalesce(PhotoBlob.has_thumbnail, False), ReportPhoto.fetch_after, ReportPhoto.fetch_reason)
        .join(Report, Report.id == ReportPhoto.report_id)
        .outerjoin(PhotoBlob, PhotoBlob.sha256 == ReportPhoto.sha256)
        .where(ReportPhoto.id == photo_id)
    )).first()
    return None if row is None else StoredPhoto(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


@dataclass(frozen=True)
class KeepingCounts:
    """How the photos stand: kept, waiting for a (next) download, given up."""

    kept: int
    waiting: int
    given_up: int


async def keeping_counts(session: AsyncSession) -> KeepingCounts:
    """The counts over the photos of every kind."""
    totals = [0, 0, 0]
    for table in TABLES.values():
        kept = func.count(table.sha256)
        waiting = func.count(table.id).filter(table.sha256.is_(None), table.fetch_after.is_not(None))
        given_up = func.count(table.id).filter(table.sha256.is_(None), table.fetch_after.is_(None))
        row = (await session.execute(select(kept, waiting, given_up))).one()
        totals = [total + int(count) for total, count in zip(totals, row, strict=True)]
    return KeepingCounts(*totals)
