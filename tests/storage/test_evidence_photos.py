"""Problem photos and node evidence photos are kept by the same keeper as report photos
(bot.services.photo_keeper, storage.photos): due when sent, downloaded once, the same bytes stored once
whatever kind of photo brought them, failures retried and given up with the reason kept; and read back
(storage.evidence_photos). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.services import photos
from bot.services.photo_keeper import GIVE_UP_AFTER, FetchFailed, PhotoKeeper
from bot.services.photo_reasons import GONE_WECOM, UNREACHABLE
from bot.services.photo_store import LocalPhotoStore, original_key, thumbnail_key
from storage import evidence_photos as evidence_repo
from storage import nodes as node_repo
from storage import photo_repeats as repeat_repo
from storage import photos as photo_repo
from storage.audit import Actor
from storage.db import Database
from storage.models import PhotoBlob, Problem, ProblemPhoto, Project
from storage.reports import add_report
from tests.photos import reading
from tests.photos.pictures import photo, resent

from .factories import build_world
from .test_photos import Source

ACTOR = Actor(label="郝芳", channel="telegram")


@pytest.fixture
def store(tmp_path: Path) -> LocalPhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


async def raise_with(db: Database, clock: FrozenClock, *, project_id: int, person_id: int, unit_id: int,
                     photos: list[tuple[str, str]]) -> int:
    """A problem raised with photos (channel, file id) as ``bot.services.problems.raise_problem`` stores it."""
    now = clock.now()
    async with db.session() as session:
        problem = Problem(project_id=project_id, raised_by_id=person_id, unit_id=unit_id, category="用地",
                          text="还有12户未签约", status="open", policy={}, level_started_at=now, nudged=[],
                          created_at=now, updated_at=now,
                          photos=[ProblemPhoto(channel=c, file_id=f, fetch_after=now) for c, f in photos])
        session.add(problem)
        await session.flush()
        return problem.id


async def node_done_with(db: Database, clock: FrozenClock, *, project_id: int, person_id: int,
                         photos: list[tuple[str, str]]) -> int:
    """A node of the project marked done with evidence photos (``storage.nodes.mark_done``); the node's id."""
    async with db.session() as session:
        project = await session.get(Project, project_id)
        assert project is not None
        node = await node_repo.add_node(session, project=project, name="桩基完成", planned_on=date(2026, 12, 1),
                                        now=clock.now())
        await node_repo.mark_done(session, node, done_on=clock.now().date(), note="桩基全部完成",
                                  person_id=person_id, photos=photos, now=clock.now())
        return node.id


async def test_problem_and_node_photos_are_kept_and_the_same_bytes_are_stored_once(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    world = await build_world(db, clock.now())
    source = Source({"r": photo(1), "p-same": photo(1), "p-new": photo(2), "n-same": photo(1)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    async with db.session() as session:
        await add_report(session, project_id=world.p1, person_id=world.liaison, local_day=clock.now().date(),
                         amount=Decimal(100), progress_text="桩基", photos=["r"], channel="telegram",
                         now=clock.now(), actor=ACTOR, project_code="ZD2026-001")
    clock.advance(minutes=1)
    problem_id = await raise_with(db, clock, project_id=world.p1, person_id=world.liaison, unit_id=world.housing,
                                  photos=[("telegram", "p-same"), ("telegram", "p-new")])
    clock.advance(minutes=1)
    node_id = await node_done_with(db, clock, project_id=world.p2, person_id=world.liaison,
                                   photos=[("telegram", "n-same")])
    async with db.session() as session:
        due = await photo_repo.due_photos(session, now=clock.now())
        assert sorted(d.kind for d in due) == ["node", "problem", "problem", "report"]
        assert await photo_repo.waiting_count(session) == 4

    stats = await keeper.keep_due()
    # The node's photo (another project) repeats the report's; the problem's (same project and day) does not.
    assert (stats.kept, stats.failed, stats.duplicates) == (4, 0, 1)
    assert sorted(source.fetched) == ["n-same", "p-new", "p-same", "r"]
    async with db.session() as session:
        [same, new] = await evidence_repo.photos_of_problem(session, problem_id=problem_id)
        [evidence] = (await evidence_repo.photos_of_nodes(session, node_ids=[node_id, 999]))[node_id]
        blobs = (await session.scalars(select(PhotoBlob.sha256))).all()
        assert await photo_repo.due_photos(session, now=clock.now() + timedelta(days=30)) == []
        counts = await photo_repo.keeping_counts(session)
    [report_photo] = await reading.project_photos(db, project_id=world.p1)
    assert same.state == new.state == evidence.state == "kept" and same.has_thumbnail
    assert same.sha256 == evidence.sha256 == report_photo.sha256 != new.sha256
    assert report_photo.duplicate is None  # it was sent first
    assert len(blobs) == 2 and (counts.kept, counts.waiting, counts.given_up) == (4, 0, 0)
    originals = [p for p in (store.root / "originals").rglob("*") if p.is_file()]
    assert len(originals) == 2  # the same bytes stored once, whichever photos brought them
    assert store.path(original_key(new.sha256)).read_bytes() == photo(2)
    assert store.path(thumbnail_key(evidence.sha256)).is_file()

    async with db.session() as session:  # what the routes check the viewer's scope on
        stored = await evidence_repo.stored_problem_photo(session, photo_id=same.id)
        assert stored is not None and (stored.owner_id, stored.sha256) == (problem_id, same.sha256)
        stored = await evidence_repo.stored_node_photo(session, photo_id=evidence.id)
        assert stored is not None and (stored.owner_id, stored.has_thumbnail) == (world.p2, True)
        assert await evidence_repo.stored_node_photo(session, photo_id=evidence.id + 100) is None
    assert (await keeper.keep_due()).kept == 0  # nothing is downloaded twice


async def report_with(db: Database, clock: FrozenClock, *, project_id: int, person_id: int,
                      file_ids: list[str]) -> None:
    async with db.session() as session:
        await add_report(session, project_id=project_id, person_id=person_id, local_day=clock.now().date(),
                         amount=Decimal(100), progress_text="桩基", photos=file_ids, channel="telegram",
                         now=clock.now(), actor=ACTOR, project_code="ZD")


async def test_a_report_photo_repeating_a_problem_or_node_photo_is_flagged(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    """A report's photo is compared with the earlier photos of every kind: the next day, the picture a problem
    was raised with (rescaled) and a node's evidence photo (the same bytes, another project) are repeats."""
    world = await build_world(db, clock.now())
    source = Source({"p": photo(3), "n": photo(4), "p-again": resent(3), "n-again": photo(4), "new": photo(5)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    day = clock.now().date()
    problem_id = await raise_with(db, clock, project_id=world.p1, person_id=world.liaison, unit_id=world.housing,
                                  photos=[("telegram", "p")])
    node_id = await node_done_with(db, clock, project_id=world.p2, person_id=world.liaison, photos=[("telegram", "n")])
    assert (await keeper.keep_due()).duplicates == 0
    clock.advance(days=1)
    await report_with(db, clock, project_id=world.p1, person_id=world.liaison, file_ids=["p-again", "n-again", "new"])
    stats = await keeper.keep_due()
    assert (stats.kept, stats.duplicates) == (3, 2)

    async with db.session() as session:
        [raised] = await evidence_repo.photos_of_problem(session, problem_id=problem_id)
        [evidence] = (await evidence_repo.photos_of_nodes(session, node_ids=[node_id]))[node_id]
        notes = await photo_repo.photo_notes(session, project_id=world.p1)
    [p_again, n_again, new] = sorted(await reading.project_photos(db, project_id=world.p1), key=lambda p: p.id)
    assert p_again.duplicate is not None and p_again.duplicate.distance is not None
    assert p_again.duplicate == photos.Duplicate(photo_id=raised.id, project_code="ZD2026-001", local_day=day,
                                                 identical=False, distance=p_again.duplicate.distance, kind="problem")
    assert p_again.duplicate.distance <= 4
    assert n_again.duplicate == photos.Duplicate(photo_id=evidence.id, project_code="ZD2026-002", local_day=day,
                                                 identical=True, distance=0, kind="node")
    assert new.duplicate is None
    assert notes.repeats == 2 and {p.id for p in notes.newest_repeats} == {p_again.id, n_again.id}


async def test_a_problem_photo_kept_late_flags_the_later_report_photo(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    """Order of downloads does not matter across kinds: the problem's photo, sent first, is kept after the
    photo of another project's report; the report's is then marked as its repeat."""
    world = await build_world(db, clock.now())
    source = Source({"p": FetchFailed(UNREACHABLE, "network down"), "r": resent(6)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    await raise_with(db, clock, project_id=world.p1, person_id=world.liaison, unit_id=world.housing,
                     photos=[("telegram", "p")])
    assert (await keeper.keep_due()).failed == 1  # tried again in 30 seconds
    clock.advance(seconds=1)
    await report_with(db, clock, project_id=world.p2, person_id=world.liaison, file_ids=["r"])
    assert (await keeper.keep_due()).duplicates == 0  # the problem's photo is not kept yet
    [later] = await reading.project_photos(db, project_id=world.p2)
    assert later.state == "kept" and later.duplicate is None
    source.files["p"] = photo(6)
    clock.advance(seconds=30)
    stats = await keeper.keep_due()
    assert (stats.kept, stats.duplicates) == (1, 1)
    [later] = await reading.project_photos(db, project_id=world.p2)
    assert later.duplicate is not None and (later.duplicate.kind, later.duplicate.project_code) == (
        "problem", "ZD2026-001")


async def test_a_failed_download_is_retried_then_given_up_with_its_reason(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    world = await build_world(db, clock.now())
    source = Source({"p": FetchFailed(UNREACHABLE, "Telegram: Timed out"),
                     "n": FetchFailed(GONE_WECOM, "WeCom: invalid media_id 40007", permanent=True)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source, "wecom": source})
    problem_id = await raise_with(db, clock, project_id=world.p1, person_id=world.liaison, unit_id=world.housing,
                                  photos=[("telegram", "p")])
    node_id = await node_done_with(db, clock, project_id=world.p1, person_id=world.liaison, photos=[("wecom", "n")])

    stats = await keeper.keep_due()
    assert (stats.kept, stats.failed, stats.given_up) == (0, 1, 1)  # the node's medium is gone: given up at once
    async with db.session() as session:
        [waiting] = await evidence_repo.photos_of_problem(session, problem_id=problem_id)
        [lost] = (await evidence_repo.photos_of_nodes(session, node_ids=[node_id]))[node_id]
    assert waiting.state == "waiting" and waiting.fetch_after == clock.now() + timedelta(seconds=30)
    assert waiting.fetch_reason == UNREACHABLE
    assert lost.state == "lost" and lost.fetch_reason == GONE_WECOM

    assert (await keeper.keep_due()).failed == 0  # not before its time
    clock.advance(seconds=30)
    assert (await keeper.keep_due()).failed == 1  # tried again, and again later…
    clock.advance(days=GIVE_UP_AFTER.days)
    stats = await keeper.keep_due()
    assert (stats.failed, stats.given_up) == (0, 1)  # …until a week after the problem was raised
    async with db.session() as session:
        [given_up] = await evidence_repo.photos_of_problem(session, problem_id=problem_id)
        counts = await photo_repo.keeping_counts(session)
        row = await session.get(ProblemPhoto, given_up.id)
    assert given_up.state == "lost" and given_up.fetch_reason == UNREACHABLE
    assert row is not None and row.fetch_attempts == 3
    assert (counts.kept, counts.waiting, counts.given_up) == (0, 0, 2)
    assert sorted(source.fetched) == ["n", "p", "p", "p"]


async def done_again(db: Database, clock: FrozenClock, node_id: int, *, person_id: int, file_ids: list[str]) -> None:
    """The node, its done day taken back by the ledger (done_on empty again), marked done again in the chat."""
    async with db.session() as session:
        node = await node_repo.get_node(session, node_id=node_id)
        assert node is not None
        node.done_on = None
        await node_repo.mark_done(session, node, done_on=clock.now().date(), note="复核后完成", person_id=person_id,
                                  photos=[("telegram", f) for f in file_ids], now=clock.now())


async def test_a_node_photo_sent_again_in_another_sending_is_not_worded_as_sent_together(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    """A node's evidence may be sent several times (done, reopened, done again): the same picture twice in one
    sending repeats (与同时报送的另一张照片相同), an album's late part belonging to the sending that marked it
    done; the same picture in another sending the same day does not, and the next day it repeats the earlier
    day's photo, not one "sent together"."""
    world = await build_world(db, clock.now())
    source = Source({"a": photo(7), "a-twin": photo(7), "a-late-part": photo(7), "a-later": photo(7),
                     "a-next-day": photo(7)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    day = clock.now().date()
    node_id = await node_done_with(db, clock, project_id=world.p1, person_id=world.liaison,
                                   photos=[("telegram", "a"), ("telegram", "a-twin")])
    clock.advance(seconds=2)
    async with db.session() as session:  # the rest of the album that marked it done
        assert await node_repo.add_photos(session, node_id=node_id, channel="telegram", photos=["a-late-part"],
                                          now=clock.now()) is not None
    clock.advance(hours=2)
    await done_again(db, clock, node_id, person_id=world.liaison, file_ids=["a-later"])
    clock.advance(days=1)
    await done_again(db, clock, node_id, person_id=world.liaison, file_ids=["a-next-day"])
    assert (await keeper.keep_due()).kept == 5
    async with db.session() as session:
        sent = (await evidence_repo.photos_of_nodes(session, node_ids=[node_id]))[node_id]
        [first, twin, late_part, later, next_day] = ids = sorted(p.id for p in sent)
        found = await repeat_repo.repeats_of(session, kind="node", photo_ids=ids)
    assert set(found) == {twin, late_part, next_day}
    assert (found[twin].photo_id, found[twin].together) == (first, True)
    assert (found[late_part].photo_id, found[late_part].together) == (first, True)
    assert (found[next_day].photo_id, found[next_day].local_day, found[next_day].together) == (first, day, False)


async def test_two_sendings_of_a_node_in_one_instant_are_two_sendings(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    """A node done, its day taken back and done again within the same instant: two sendings, told apart by an
    id and not by the time they came. The same picture in the second sending is not 与同时报送的另一张照片相同 (nor a
    repeat: the same project and day); an album's late part joins the latest sending, and repeats its photo."""
    world = await build_world(db, clock.now())
    source = Source({"a": photo(7), "a-again": photo(7), "a-late-part": photo(7)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    node_id = await node_done_with(db, clock, project_id=world.p1, person_id=world.liaison, photos=[("telegram", "a")])
    await done_again(db, clock, node_id, person_id=world.liaison, file_ids=["a-again"])
    async with db.session() as session:  # the rest of the album that marked it done again
        assert await node_repo.add_photos(session, node_id=node_id, channel="telegram", photos=["a-late-part"],
                                          now=clock.now()) is not None
    assert (await keeper.keep_due()).kept == 3
    async with db.session() as session:
        sent = (await evidence_repo.photos_of_nodes(session, node_ids=[node_id]))[node_id]
        [first, again, late_part] = ids = sorted(p.id for p in sent)
        found = await repeat_repo.repeats_of(session, kind="node", photo_ids=ids)
    assert set(found) == {late_part}
    assert (found[late_part].photo_id, found[late_part].together) == (again, True)
    assert first not in found
