"""The report path's repository functions through the session: what they store, that they are part of the
session's transaction, the one-report-a-day rule, and the caller and report-target reads."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.console import bind_console
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.messages import Incoming
from handlers.context import Deps
from handlers.router import Router
from storage import conversations, people, processed
from storage import projects as project_repo
from storage import reports as report_repo
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, ChatAccount, Conversation, Person, Report, ReportSum, Unit

from .factories import NOW, World, build_world, count

TODAY = NOW.date()
ACTOR = Actor(label="郝芳", channel="console")


async def _report(db: Database, world: World, *, amount: str = "850.25", photos: tuple[str, ...] = (),
                  replaces: int | None = None, at: timedelta = timedelta(0)) -> report_repo.NewReport:
    async with db.session() as session:
        return await report_repo.add_report(
            session, project_id=world.p1, person_id=world.liaison, local_day=TODAY, amount=Decimal(amount),
            progress_text="桩基施工", photos=photos, channel="console", now=NOW + at, actor=ACTOR,
            project_code="ZD2026-001", replaces=replaces,
        )


async def test_add_report_writes_the_report_its_photos_and_the_audit_entry(db: Database) -> None:
    world = await build_world(db, NOW)
    report = await _report(db, world, amount="0.0001", photos=("ph-1", "ph-2"))
    assert report.amount == Decimal("0.0001")
    async with db.session() as session:
        stored = await session.get(Report, report.id)
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.object_key == "ZD2026-001"))
    assert stored is not None and entry is not None
    assert [p.file_id for p in stored.photos] == ["ph-1", "ph-2"]
    assert (stored.amount, stored.local_day, stored.withdrawn_at, stored.replaces_id) == (
        Decimal("0.0001"), TODAY, None, None)
    assert stored.created_at == NOW and stored.created_at.utcoffset() == timedelta(0)
    assert entry.action == "report.create"
    assert entry.detail == {"report_id": report.id, "amount": "0.0001", "progress": "桩基施工", "photos": 2}
    assert entry.at == NOW.astimezone(UTC)


async def test_a_report_is_part_of_the_session_transaction(db: Database) -> None:
    world = await build_world(db, NOW)
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await report_repo.add_report(
                session, project_id=world.p1, person_id=world.liaison, local_day=TODAY, amount=Decimal(1),
                progress_text="", photos=["p"], channel="console", now=NOW, actor=ACTOR, project_code="ZD2026-001",
            )
            assert await session.scalar(select(func.count(Report.id))) == 1  # visible inside ...
            raise RuntimeError("roll back")
    assert await count(db, Report) == 0  # ... and gone with it
    assert await count(db, AuditEntry) == 0


async def _sum(db: Database, world: World) -> Decimal:
    async with db.session() as session:
        return Decimal(await session.scalar(select(func.coalesce(func.sum(ReportSum.amount), 0))
                                            .where(ReportSum.project_id == world.p1)) or 0)


async def test_one_report_counts_per_project_and_day(db: Database) -> None:
    world = await build_world(db, NOW)
    first = await _report(db, world, amount="850")
    with pytest.raises(report_repo.ReportConflict):  # a second one needs to name the one it replaces
        await _report(db, world, amount="850", at=timedelta(minutes=1))
    assert await count(db, Report) == 1 and await _sum(db, world) == Decimal(850)

    second = await _report(db, world, amount="900", replaces=first.id, at=timedelta(minutes=2))
    with pytest.raises(report_repo.ReportConflict):  # the first is no longer the day's report
        await _report(db, world, amount="950", replaces=first.id, at=timedelta(minutes=3))
    async with db.session() as session:
        old, new = await session.get(Report, first.id), await session.get(Report, second.id)
        live = await report_repo.live_report_of_day(session, project_id=world.p1, local_day=TODAY)
        actions = list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())
    assert old is not None and new is not None and live is not None
    assert old.withdrawn_at == NOW + timedelta(minutes=2)  # kept, no longer counted
    assert new.replaces_id == first.id and live.id == second.id and live.amount == Decimal(900)
    assert live.person_name == "郝芳"
    assert await count(db, Report) == 2
    assert await _sum(db, world) == Decimal(900)  # the running sums follow (storage.report_sums)
    assert actions == ["report.create", "report.replace"]
    async with db.session() as session:
        replaced = await session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "report.replace"))
    assert replaced == {"report_id": second.id, "amount": "900", "progress": "桩基施工", "photos": 0,
                        "replaces": first.id, "replaced_amount": "850"}


async def test_get_caller_reads_account_person_roles_and_flow(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        assert await people.get_caller(session, channel="console", external_id="nobody", chat_id="nobody") \
            == people.Caller()
    async with db.session() as session:
        liaison = await people.get_person(session, person_id=world.liaison)
    assert liaison is not None
    external_id = await bind_console(db, liaison, now=NOW)
    async with db.session() as session:
        await conversations.save_conversation(session, channel="console", chat_id=external_id,
                                              user_id=external_id, flow="report", state={"step": "amount"}, now=NOW)
    async with db.session() as session:
        caller = await people.get_caller(session, channel="console", external_id=external_id, chat_id=external_id)
        elsewhere = await people.get_caller(session, channel="console", external_id=external_id, chat_id="-1")
    assert caller.bound and caller.person_id == world.liaison and caller.name == "郝芳"
    assert caller.roles == frozenset(liaison.role_names)
    assert caller.flow == people.Flow("report", {"step": "amount"}, NOW)  # with when it last moved on
    assert elsewhere.bound and elsewhere.flow is None  # the flow belongs to the chat it started in
    assert not caller.handled

    async with db.session() as session:  # a message of theirs was handled: the caller's read says so
        await processed.mark_handled(session, channel="console", key=f"{external_id}:9", now=NOW)
    async with db.session() as session:
        again = await people.get_caller(session, channel="console", external_id=external_id, chat_id=external_id,
                                        message_key=f"{external_id}:9")
        other = await people.get_caller(session, channel="console", external_id=external_id, chat_id=external_id,
                                        message_key=f"{external_id}:10")
    assert again.handled and again.person_id == world.liaison and not other.handled

    async with db.session() as session:
        await session.execute(update(Person).where(Person.id == world.liaison).values(active=False))
    async with db.session() as session:
        inactive = await people.get_caller(session, channel="console", external_id=external_id, chat_id=external_id)
        await session.execute(update(Person).where(Person.id == world.liaison).values(active=True))
        await session.execute(update(ChatAccount).where(ChatAccount.external_id == external_id)
                              .values(blocked_at=NOW))
    async with db.session() as session:
        blocked = await people.get_caller(session, channel="console", external_id=external_id, chat_id=external_id)
    assert not inactive.bound and inactive.person_id == world.liaison
    assert not blocked.bound and blocked.blocked


async def test_report_target_agrees_with_the_project_figures(db: Database) -> None:
    world = await build_world(db, NOW)
    await _report(db, world, amount="100", photos=("a",))
    async with db.session() as session:
        found = await project_repo.get_report_target(session, code=" zd2026-001 ", today=TODAY)
        project = await project_repo.get_project_by_code(session, code="ZD2026-001")
        assert found is not None and project is not None
        figures = await project_repo.project_figures(session, project=project, today=TODAY)
        missing = await project_repo.get_report_target(session, code="ZD2099-999", today=TODAY)
    target, light = found
    assert missing is None
    assert (target.id, target.code, target.name, target.liaison_id) == (world.p1, "ZD2026-001", project.name,
                                                                       world.liaison)
    assert (target.annual_plan, target.total_investment, target.done_before) == (
        project.annual_plan, project.total_investment, project.done_before)
    assert (light.ytd_done, light.all_reported, light.as_of) == (figures.ytd_done, figures.all_reported,
                                                                  figures.as_of)
    assert figures.all_reported == Decimal(100)
    assert (light.last_report, light.photo_count) == (None, None)  # the report card shows neither


async def _liaison_router(db: Database, clock: FrozenClock) -> tuple[Router, str]:
    """A router over `db`, and the console account of the liaison of ZD2026-001, bound."""
    world = await build_world(db, clock.now())
    async with db.session() as session:
        liaison = await people.get_person(session, person_id=world.liaison)
    assert liaison is not None
    external_id = await bind_console(db, liaison, now=clock.now())
    return Router(Deps(db=db, clock=clock, settings=load_settings(DATABASE_URL=db.url))), external_id


async def test_a_one_shot_report_loads_no_orm_person(db: Database, clock: FrozenClock) -> None:
    router, external_id = await _liaison_router(db, clock)
    loaded: list[object] = []

    def on_load(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(Person, "load", on_load)
    try:
        outcome = await router.handle(Incoming(channel="console", user_id=external_id, chat_id=external_id,
                                               text="/report ZD2026-001 850 桩基完成"))
        light = len(loaded)
        await router.handle(Incoming(channel="console", user_id=external_id, chat_id=external_id, text="/mine"))
    finally:
        event.remove(Person, "load", on_load)
    assert "已记录填报" in outcome.replies[0].html
    assert light == 0  # /report took the caller from the light lookup ...
    assert len(loaded) > light  # ... while other commands still get the stored Person
    assert await count(db, Report) == 1


@pytest.fixture
async def file_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file database (WAL), where other connections can hold the write lock."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'reports.sqlite3'}")
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


async def test_a_write_that_must_wait_for_another_writer_waits_off_the_event_loop(file_db: Database) -> None:
    holder = sqlite3.connect(file_db.url.split(":///", 1)[1], isolation_level=None)

    async def add_unit() -> None:
        async with file_db.session() as session:
            session.add(Unit(name="甲局", created_at=NOW))

    try:
        holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        writing = asyncio.create_task(add_unit())
        started = time.perf_counter()
        await asyncio.sleep(0.3)
        assert time.perf_counter() - started < 2  # the loop went on
        assert not writing.done()
        holder.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
    finally:
        holder.close()
    assert await count(file_db, Unit) == 1


async def test_a_message_key_is_recorded_once_and_forgotten_after_a_week(db: Database) -> None:
    long_key = "e:" + "x" * 300  # longer than the column: kept as its hash, found the same way

    async def was_handled(session: AsyncSession, *, channel: str, key: str) -> bool:
        """As the router reads it with the caller (``processed.handled``, in ``storage.people``)."""
        return bool(await session.scalar(select(processed.handled(literal(channel),
                                                                  literal(processed.stored_key(key))))))

    for key in ("1001:17", long_key):
        async with db.session() as session:
            assert not await was_handled(session, channel="telegram", key=key)
            assert await processed.mark_handled(session, channel="telegram", key=key, now=NOW)
        async with db.session() as session:
            assert await was_handled(session, channel="telegram", key=key)
            assert not await was_handled(session, channel="wecom", key=key)  # keys are per channel
            assert not await processed.mark_handled(session, channel="telegram", key=key, now=NOW)
    async with db.session() as session:
        assert await processed.forget_old(session, now=NOW + processed.KEEP) == 0
        assert await processed.forget_old(session, now=NOW + processed.KEEP + timedelta(seconds=1)) == 2
        assert not await was_handled(session, channel="telegram", key="1001:17")


async def test_the_same_message_handled_by_two_processes_at_once_is_stored_once(
        db: Database, clock: FrozenClock, tmp_path: Path) -> None:
    """Two processes (two engines) get the same delivery at the same moment: both read it as new, both
    handle it; one commits, the other finds the key taken (or the day's report there) and rolls back whole,
    answering nothing."""
    shared = db
    if db.is_sqlite:  # in-memory databases are private to their engine: share a file instead
        shared = Database(f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}")
        await shared.create_all()
    other = Database(shared.url)
    try:
        router, external_id = await _liaison_router(shared, clock)
        second = Router(Deps(db=other, clock=clock, settings=router.deps.settings))
        message = Incoming(channel="console", user_id=external_id, chat_id=external_id,
                           text="/report ZD2026-001 850 桩基完成", key="console:42")
        outcomes = await asyncio.gather(router.handle(message), second.handle(message))
        answered = [o for o in outcomes if o.replies]
        assert len(answered) == 1 and "已记录填报" in answered[0].replies[0].html
        assert await count(shared, Report) == 1
        async with shared.session() as session:
            flows = (await session.execute(select(func.count()).select_from(Conversation))).scalar()
        assert flows == 0  # the loser's question (replace the day's report?) was rolled back with it
    finally:
        await other.dispose()
        if shared is not db:
            await shared.dispose()
