"""A photo store that refuses to keep photos tells each sending's sender once, worded by what the photos came with
(a report, a problem, a node's evidence), and the admins once per fault; its end once. The keeper over a store
refusing every write (a full disk, as ``tests/e2e/test_photo_store_full.py`` makes one for real). SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.ops.health import health
from bot.services.photo_keeper import PhotoKeeper
from bot.services.photo_store import LocalPhotoStore, PhotoStoreError
from bot.services.photo_store_fault import StoreFaultNotices
from storage.db import Database
from storage.models import OutboxMessage
from tests.photos.pictures import photo

from .factories import build_world
from .test_evidence_photos import node_done_with, raise_with
from .test_photos import Source
from .test_photos import report as photo_report


class FullStore(LocalPhotoStore):
    """A folder store that refuses every write while ``full``, as a full disk does."""

    full = True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.full:
            raise PhotoStoreError(f"cannot write {key}: [Errno 28] No space left on device", full=True)
        await super().put(key, data, content_type)


class RefusingStore(LocalPhotoStore):
    """A folder store whose next ``refusals`` writes fail as a bucket answering 503 does: a refusal, not a full disk."""

    refusals = 1_000_000

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise PhotoStoreError(f"cannot write {key}: 503 SlowDown")
        await super().put(key, data, content_type)


async def _notices(db: Database) -> list[tuple[int | None, str]]:
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        return [(row.person_id, row.payload["html"]) for row in rows]


async def test_each_sender_and_the_admins_are_told_once(db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    store = FullStore(tmp_path / "photos")
    files = {name: photo(n) for n, name in enumerate(["r1", "r2", "p1", "n1"])}
    keeper = PhotoKeeper(db, clock, store, {"telegram": Source(dict(files))},
                         store_faults=StoreFaultNotices(db, clock))
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1", "r2")
    problem = await raise_with(db, clock, project_id=world.p1, person_id=world.liaison, unit_id=world.housing,
                               photos=[("telegram", "p1")])
    await node_done_with(db, clock, project_id=world.p1, person_id=world.handler, photos=[("telegram", "n1")])

    assert (await keeper.keep_due()).failed == 4
    clock.advance(minutes=1)
    assert (await keeper.keep_due()).failed == 4  # tried again: nobody told again
    told = await _notices(db)
    assert sorted(person for person, _html in told) == sorted([world.admin, world.liaison, world.liaison,
                                                               world.handler])
    [admins] = [html for person, html in told if person == world.admin]
    [report] = [html for _person, html in told if "填报本身" in html]
    [raised] = [html for _person, html in told if "问题本身" in html]
    [node] = [html for person, html in told if person == world.handler]
    assert "照片库的存储空间已满" in admins and "清理或扩容照片存储" in admins
    assert f"您 {clock.now().date().isoformat()} 填报的 ZD2026-001 的现场照片暂未能保存" in report
    assert "填报本身已保存，无需重发" in report
    assert f"您反映的问题 W{problem:04d} 所附的现场照片暂未能保存" in raised and "问题本身已登记" in raised
    assert "ZD2026-001 节点「桩基完成」完成的现场照片暂未能保存" in node and "节点完成已记录" in node

    status, report = await health(db, clock, store_faults=StoreFaultNotices(db, clock), ready=True)  # any process
    assert status == 503 and report["photo_store_fault"]["full"] is True
    assert "photo store refuses photos: full" in report["problems"]

    store.full = False
    clock.advance(minutes=3)
    assert (await keeper.keep_due()).kept == 4
    status, report = await health(db, clock, store_faults=StoreFaultNotices(db, clock), ready=True)
    assert "photo_store_fault" not in report and "photo store refuses photos" not in str(report.get("problems"))
    back = (await _notices(db))[len(told):]
    assert len(back) == 1 and back[0][0] == world.admin and "照片库已恢复保存" in back[0][1]


async def test_a_restarted_keeper_tells_nobody_again_of_a_fault_told_before(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    store = FullStore(tmp_path / "photos")
    source = Source({"r1": photo(1), "p1": photo(2)})
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1")
    first = PhotoKeeper(db, clock, store, {"telegram": source}, store_faults=StoreFaultNotices(db, clock))
    assert (await first.keep_due()).failed == 1
    await raise_with(db, clock, project_id=world.p1, person_id=world.liaison, unit_id=world.housing,
                     photos=[("telegram", "p1")])
    clock.advance(minutes=1)
    again = PhotoKeeper(db, clock, store, {"telegram": source}, store_faults=StoreFaultNotices(db, clock))
    assert (await again.keep_due()).failed == 2
    told = await _notices(db)
    assert sorted(person for person, _html in told) == sorted([world.admin, world.liaison, world.liaison])
    store.full = False
    clock.advance(minutes=3)
    assert (await again.keep_due()).kept == 2
    assert len(await _notices(db)) == len(told) + 1


async def test_once_the_store_keeps_photos_again_those_it_refused_are_tried_at_once(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    store = FullStore(tmp_path / "photos")
    keeper = PhotoKeeper(db, clock, store, {"telegram": Source({"r1": photo(1), "r2": photo(2)})},
                         store_faults=StoreFaultNotices(db, clock))
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1")
    for wait in (0, 31, 121):  # three tries: the next one eight minutes later
        clock.advance(seconds=wait)
        assert (await keeper.keep_due()).failed == 1
    store.full = False  # room again; a new report's photo is the first to be kept
    clock.advance(minutes=1)
    await photo_report(db, clock, world.p2, world.liaison, clock.now().date(), "r2")
    assert (await keeper.keep_due()).kept == 2  # and the one refused before with it, not seven minutes later


class BusyNotices(StoreFaultNotices):
    """Store fault notices over a database too busy to answer."""

    async def works(self) -> None:
        raise TimeoutError("the database is busy")


async def test_a_busy_database_telling_the_store_works_does_not_stop_the_keeper(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    store = LocalPhotoStore(tmp_path / "photos")
    keeper = PhotoKeeper(db, clock, store, {"telegram": Source({"r1": photo(1), "r2": photo(2)})},
                         store_faults=BusyNotices(db, clock))
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1", "r2")
    assert (await keeper.keep_due()).kept == 2  # both photos kept and recorded, the run not broken off
    clock.advance(minutes=1)
    assert (await keeper.keep_due()).kept == 0  # nothing left to download again


class UnreadableNotices(StoreFaultNotices):
    """Store fault notices whose shared memory cannot be read (the database busy)."""

    async def current(self) -> None:
        raise TimeoutError("the database is busy")


async def test_a_store_fault_that_cannot_be_read_is_not_blamed_on_the_photo_store(
        db: Database, clock: FrozenClock) -> None:
    _status, report = await health(db, clock, store_faults=UnreadableNotices(db, clock), ready=True)
    assert report["photo_store_fault"] == {"unknown": "TimeoutError"}
    assert not any("photo store" in problem for problem in report.get("problems", []))


async def test_a_fault_opened_by_another_leader_is_closed_by_one_that_saw_the_store_work_before(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    source = Source({"r1": photo(1), "r2": photo(2), "r3": photo(3)})
    this = PhotoKeeper(db, clock, LocalPhotoStore(tmp_path / "photos"), {"telegram": source},
                       store_faults=StoreFaultNotices(db, clock))
    other = PhotoKeeper(db, clock, FullStore(tmp_path / "photos"), {"telegram": source},
                        store_faults=StoreFaultNotices(db, clock))
    for name, project in (("r1", world.p1), ("r2", world.p2)):
        await photo_report(db, clock, project, world.liaison, clock.now().date(), name)
        keeper = this if name == "r1" else other  # this process leads, then the other one
        await keeper.keep_due()
        clock.advance(minutes=2)
    assert (await StoreFaultNotices(db, clock).current()) is not None  # the other leader opened the fault
    # this process leads again: the store works for it
    await photo_report(db, clock, world.p3, world.liaison, clock.now().date(), "r3")
    assert (await this.keep_due()).kept == 2
    assert (await StoreFaultNotices(db, clock).current()) is None
    assert "照片库已恢复保存" in (await _notices(db))[-1][1]


async def test_a_passing_refusal_tells_nobody(db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    store = RefusingStore(tmp_path / "photos")
    store.refusals = 1
    keeper = PhotoKeeper(db, clock, store, {"telegram": Source({"r1": photo(1)})},
                         store_faults=StoreFaultNotices(db, clock))
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1")
    assert (await keeper.keep_due()).failed == 1
    status, report = await health(db, clock, store_faults=StoreFaultNotices(db, clock), ready=True)
    assert "photo_store_fault" not in report
    clock.advance(seconds=31)
    assert (await keeper.keep_due()).kept == 1
    assert await _notices(db) == []


async def test_refusals_going_on_for_minutes_are_a_fault(db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    keeper = PhotoKeeper(db, clock, RefusingStore(tmp_path / "photos"), {"telegram": Source({"r1": photo(1)})},
                         store_faults=StoreFaultNotices(db, clock))
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1")
    for wait in (0, 31, 121):  # three tries in two and a half minutes: nobody told yet
        clock.advance(seconds=wait)
        assert (await keeper.keep_due()).failed == 1
    assert await _notices(db) == []
    clock.advance(minutes=8)  # the fourth try, ten minutes after the first
    assert (await keeper.keep_due()).failed == 1
    told = await _notices(db)
    assert sorted(person for person, _html in told) == sorted([world.admin, world.liaison])
    assert any("照片库拒绝写入" in html for _person, html in told)
    assert (await StoreFaultNotices(db, clock).current()) == {"since": clock.now().isoformat(), "full": False}


async def test_a_store_the_pages_cannot_read_for_minutes_is_told_once_and_its_end_too(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    faults = StoreFaultNotices(db, clock)
    down = PhotoStoreError("S3 photos: 503 Service Unavailable")
    await faults.unreadable(down)
    clock.advance(minutes=2)
    await faults.unreadable(down)
    assert await _notices(db) == [] and await faults.current() is None  # passing: nobody told
    await faults.readable()  # a page read the store: the outage is over before it was one
    clock.advance(minutes=4)
    await faults.unreadable(down)
    assert await _notices(db) == []  # the minutes count from the first failure since the last read
    since = clock.now().isoformat()
    clock.advance(minutes=5)
    await faults.unreadable(down)
    await faults.unreadable(down)
    told = await _notices(db)
    assert [person for person, _html in told] == [world.admin] and "照片库暂时无法访问" in told[0][1]
    assert await faults.current() == {"since": since, "full": False, "reading": True}
    status, report = await health(db, clock, store_faults=faults, ready=True)
    assert status == 503 and "photo store cannot be read" in report["problems"]
    await faults.readable()
    assert await faults.current() is None and "照片库已恢复访问" in (await _notices(db))[-1][1]


async def test_pages_reading_a_store_that_refuses_writes_do_not_end_its_fault(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    world = await build_world(db, clock.now())
    keeper = PhotoKeeper(db, clock, FullStore(tmp_path / "photos"), {"telegram": Source({"r1": photo(1)})},
                         store_faults=StoreFaultNotices(db, clock))
    await photo_report(db, clock, world.p1, world.liaison, clock.now().date(), "r1")
    assert (await keeper.keep_due()).failed == 1
    pages = StoreFaultNotices(db, clock)
    await pages.readable()  # the full disk is still read
    assert (await pages.current()) == {"since": clock.now().isoformat(), "full": True}
