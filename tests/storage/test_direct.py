"""Direct statements and the repository functions built on them: same values as through the ORM, same
transaction as the session, and the report path without the ORM."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import nullcontext
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

import storage.db
from bot.channels.console import bind_console
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.messages import Incoming
from handlers.context import Deps
from handlers.router import Router
from storage import conversations, direct, people
from storage import projects as project_repo
from storage import reports as report_repo
from storage.audit import Actor
from storage.db import BUSY_TIMEOUT_MS, WAL_AUTOCHECKPOINT, Database, _OneHopConnection
from storage.direct import Direct
from storage.models import AuditEntry, ChatAccount, Person, Report, Unit

from .factories import NOW, World, build_world, count

TODAY = NOW.date()
ACTOR = Actor(label="郝芳", channel="console")
_REPORT_COLUMNS = select(Report.id, Report.amount, Report.local_day, Report.created_at, Report.withdrawn_at,
                         Report.progress_text).where(Report.id == bindparam("id"))
_AUDIT_DETAIL = select(AuditEntry.detail, AuditEntry.at).where(AuditEntry.object_key == bindparam("key"))


async def _report(db: Database, world: World, *, amount: str = "850.25", photos: tuple[str, ...] = ()
                  ) -> report_repo.NewReport:
    async with db.session() as session:
        return await report_repo.add_report(
            session, project_id=world.p1, person_id=world.liaison, local_day=TODAY, amount=Decimal(amount),
            progress_text="桩基施工", photos=photos, channel="console", now=NOW, actor=ACTOR,
            project_code="ZD2026-001",
        )


async def test_rows_come_back_as_through_the_orm(db: Database) -> None:
    world = await build_world(db, NOW)
    report = await _report(db, world, amount="0.0001")
    assert report.amount == Decimal("0.0001")
    statement = Direct(_REPORT_COLUMNS)
    async with db.session() as session:
        mine = await direct.rows(session, statement, {"id": report.id})
        orm = [tuple(row) for row in (await session.execute(_REPORT_COLUMNS, {"id": report.id})).all()]
    assert mine == orm
    [(report_id, amount, day, created_at, withdrawn_at, text)] = mine
    assert (report_id, amount, day, withdrawn_at, text) == (report.id, Decimal("0.0001"), TODAY, None, "桩基施工")
    assert isinstance(amount, Decimal) and isinstance(day, date)
    assert created_at == NOW and created_at.tzinfo is not None and created_at.utcoffset() == timedelta(0)


async def test_add_report_writes_photos_and_the_audit_entry(db: Database) -> None:
    world = await build_world(db, NOW)
    report = await _report(db, world, photos=("ph-1", "ph-2"))
    async with db.session() as session:
        stored = await session.get(Report, report.id)
        assert stored is not None
        assert [p.file_id for p in stored.photos] == ["ph-1", "ph-2"]
        [(detail, at)] = await direct.rows(session, Direct(_AUDIT_DETAIL), {"key": "ZD2026-001"})
    assert detail == {"report_id": report.id, "amount": "850.25", "progress": "桩基施工", "photos": 2}
    assert at == NOW.astimezone(UTC)


async def test_a_chain_is_part_of_the_session_transaction(db: Database) -> None:
    world = await build_world(db, NOW)
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            report = await report_repo.add_report(
                session, project_id=world.p1, person_id=world.liaison, local_day=TODAY, amount=Decimal(1),
                progress_text="", photos=["p"], channel="console", now=NOW, actor=ACTOR, project_code="ZD2026-001",
            )
            # Visible inside the transaction, to direct reads and to the ORM alike ...
            assert await direct.rows(session, Direct(_REPORT_COLUMNS), {"id": report.id})
            assert await session.scalar(select(func.count(Report.id))) == 1
            raise RuntimeError("roll back")
    # ... and gone with it.
    assert await count(db, Report) == 0
    assert await count(db, AuditEntry) == 0


async def test_pending_orm_changes_are_written_before_a_direct_statement(db: Database) -> None:
    by_name = Direct(select(Unit.id).where(Unit.name == bindparam("name")))
    async with db.session() as session:
        session.add(Unit(name="区水务局", created_at=NOW))
        found = await direct.rows(session, by_name, {"name": "区水务局"})
    assert len(found) == 1


async def test_a_later_step_takes_its_parameters_from_earlier_rows(db: Database) -> None:
    units = Unit.__table__
    add = Direct(insert(units).values(name=bindparam("name"), created_at=bindparam("at"))
                 .returning(units.c.id, units.c.name))
    async with db.session() as session:
        first, second = await direct.run(
            session, direct.Step(add, {"name": "甲局", "at": NOW}),
            direct.Step(add, lambda done: {"name": f"{done[0][0][1]}分局{done[0][0][0]}", "at": NOW}),
        )
    [(first_id, first_name)], [(second_id, second_name)] = first, second
    assert first_name == "甲局" and second_name == f"甲局分局{first_id}" and second_id != first_id


async def test_a_unit_s_last_chain_commits_with_it(db: Database) -> None:
    world = await build_world(db, NOW)
    by_name = Direct(select(Unit.id).where(Unit.name == bindparam("name")))

    async def report_then_write(name: str, *, fail: bool) -> None:
        async with db.unit() as unit:
            await report_repo.add_report(
                unit, project_id=world.p1, person_id=world.liaison, local_day=TODAY, amount=Decimal(1),
                progress_text="", photos=["p"], channel="console", now=NOW, actor=ACTOR,
                project_code="ZD2026-001", commit=True,
            )
            # What the unit does afterwards is a transaction of its own, committed or rolled back at the end.
            unit.session.add(Unit(name=name, created_at=NOW))
            assert await direct.rows(unit, by_name, {"name": name})
            if fail:
                raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        await report_then_write("后来的局", fail=True)
    assert await count(db, Report) == 1  # committed with its chain ...
    assert await count(db, AuditEntry) == 1
    async with db.session() as session:
        assert await direct.rows(session, by_name, {"name": "后来的局"}) == []  # ... the later write is not
    await report_then_write("再来的局", fail=False)
    assert await count(db, Report) == 2
    async with db.session() as session:
        assert len(await direct.rows(session, by_name, {"name": "再来的局"})) == 1


@pytest.mark.parametrize("through", ["direct", "orm", "both"])
@pytest.mark.parametrize("fail", [False, True], ids=["ends", "raises"])
async def test_a_unit_of_work_commits_or_rolls_back_what_it_wrote(db: Database, through: str, fail: bool) -> None:
    add = Direct(insert(Unit.__table__).values(name=bindparam("name"), created_at=bindparam("at")))
    with pytest.raises(RuntimeError) if fail else nullcontext():
        async with db.unit() as unit:
            if through in ("direct", "both"):
                await direct.run(unit, direct.Step(add, {"name": "甲局", "at": NOW}))
            if through in ("orm", "both"):
                unit.session.add(Unit(name="乙局", created_at=NOW))
            if fail:
                raise RuntimeError("roll back")
    assert await count(db, Unit) == (0 if fail else 2 if through == "both" else 1)


async def test_a_unit_of_work_that_only_reads_writes_nothing(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.unit() as unit:
        assert await project_repo.get_report_target(unit, code="ZD2026-001", today=TODAY) is not None
        assert await unit.session.get(Person, world.liaison) is not None
    assert await count(db, Report) == 0


async def test_only_a_unit_of_work_is_committed_by_a_chain(db: Database) -> None:
    add = Direct(insert(Unit.__table__).values(name=bindparam("name"), created_at=bindparam("at")))
    with pytest.raises(TypeError):
        async with db.session() as session:
            await direct.run(session, direct.Step(add, {"name": "甲局", "at": NOW}), commit=True)
    assert await count(db, Unit) == 0


async def test_parameters_literals_and_computed_values_go_in_as_sqlalchemy_would_send_them(db: Database) -> None:
    world = await build_world(db, NOW)
    await _report(db, world, amount="850.25")
    counted = Direct(select(func.coalesce(func.sum(Report.amount), 0), bindparam("label"))
                     .where(Report.project_id == bindparam("project")))
    computed = Direct(select(Report.id).where(Report.project_id == bindparam("project", callable_=lambda: world.p1)))
    async with db.session() as session:
        assert await direct.rows(session, counted, {"project": world.p1, "label": "甲"}) == [(Decimal("850.25"), "甲")]
        assert await direct.rows(session, counted, {"project": -1, "label": "乙"}) == [(0, "乙")]
        assert len(await direct.rows(session, computed, {})) == 1
        with pytest.raises(SQLAlchemyError, match="A value is required for bind parameter 'label'"):
            await direct.rows(session, counted, {"project": world.p1})


def test_only_selects_and_dml_are_direct() -> None:
    with pytest.raises(TypeError):
        Direct(func.now())  # type: ignore[arg-type]


# --- the caller and the report target ---------------------------------------------------------------


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
    assert caller.flow == people.Flow("report", {"step": "amount"})
    assert elsewhere.bound and elsewhere.flow is None  # the flow belongs to the chat it started in

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
    assert figures.all_reported == Decimal(100)  # the report counted
    # Left out on purpose: the report card shows neither.
    assert (light.last_report, light.photo_count) == (None, None)


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
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions SQLite connections run in their own thread (one hop each), in order."""
    seen: list[str] = []
    original = _OneHopConnection._execute

    async def counted(self: _OneHopConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(_OneHopConnection, "_execute", counted)
    return seen


async def test_a_one_shot_report_is_read_written_and_committed_without_a_hop(
        db: Database, clock: FrozenClock, hops: list[str]) -> None:
    if not db.is_sqlite:
        pytest.skip("thread hops are SQLite's")
    router, external_id = await _liaison_router(db, clock)
    hops.clear()
    outcome = await router.handle(Incoming(channel="console", user_id=external_id, chat_id=external_id,
                                           text="/report ZD2026-001 850 桩基完成"))
    assert "已记录填报" in outcome.replies[0].html
    assert hops == []  # the reads, the report, its audit entry and the commit all ran on the event loop
    assert await count(db, Report) == 1 and await count(db, AuditEntry) >= 1


@pytest.fixture
async def file_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file database (WAL), where other connections can hold the write lock."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'direct.sqlite3'}")
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


_ADD_UNIT = Direct(insert(Unit.__table__).values(name=bindparam("name"), created_at=bindparam("at")))


async def _add_unit(db: Database, name: str) -> None:
    async with db.unit() as unit:
        await direct.run(unit, direct.Step(_ADD_UNIT, {"name": name, "at": NOW}), commit=True)


async def test_a_write_that_must_wait_for_another_writer_waits_off_the_event_loop(
        file_db: Database, hops: list[str]) -> None:
    holder = sqlite3.connect(file_db.url.split(":///", 1)[1], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        writing = asyncio.create_task(_add_unit(file_db, "甲局"))
        started = time.perf_counter()
        await asyncio.sleep(0.3)
        assert time.perf_counter() - started < 2  # the loop went on (blocked, it would wait out the lock)
        assert not writing.done()
        holder.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
    finally:
        holder.close()
    assert hops == ["_run_chain"]  # the write went to the connection's thread and waited there
    assert await count(file_db, Unit) == 1
    async with file_db.unit() as unit:  # the connection waits for locks as before
        assert unit.driver.run_inline(_pragma, "busy_timeout") == BUSY_TIMEOUT_MS


async def test_writes_on_the_event_loop_leave_checkpoints_to_the_thread(
        file_db: Database, hops: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.db, "INLINE_COMMITS_PER_CHECKPOINT", 3)
    hops.clear()
    for n in range(7):
        await _add_unit(file_db, f"第{n}局")
    assert hops == ["_passive_checkpoint", "_passive_checkpoint"]  # after the 3rd and the 6th commit
    assert await count(file_db, Unit) == 7
    async with file_db.unit() as unit:  # commits elsewhere still checkpoint on their own
        assert unit.driver.run_inline(_pragma, "wal_autocheckpoint") == WAL_AUTOCHECKPOINT


async def test_writes_on_the_event_loop_set_the_connection_for_it_once(file_db: Database, hops: list[str]) -> None:
    statements: list[str] = []

    def trace(dbapi_connection: Any, *_args: object) -> None:
        dbapi_connection.driver_connection._conn.set_trace_callback(statements.append)

    event.listen(file_db.engine.sync_engine, "checkout", trace)
    hops.clear()
    for n in range(3):
        await _add_unit(file_db, f"第{n}局")
    assert hops == []
    # Set before the first write, and kept for the next ones: nothing ran in the thread in between.
    assert [sql for sql in statements if sql.startswith("PRAGMA")] == list(storage.db._LOOP_PRAGMAS)
    async with file_db.unit() as unit:  # what runs in the thread waits for locks and checkpoints as before
        assert unit.driver.tuned_for_loop
        assert await unit.driver.run_in_thread(_pragma, "busy_timeout") == BUSY_TIMEOUT_MS
        assert await unit.driver.run_in_thread(_pragma, "wal_autocheckpoint") == WAL_AUTOCHECKPOINT
        assert not unit.driver.tuned_for_loop
        assert unit.driver.run_inline(_pragma, "busy_timeout") == BUSY_TIMEOUT_MS


_UNIT_NAMES = Direct(select(Unit.name).order_by(Unit.id))


async def test_a_read_on_the_event_loop_that_meets_a_lock_is_read_in_the_thread(
        file_db: Database, hops: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Readers of a WAL database meet a lock only in rare moments (another connection recovering the WAL or
    # resetting it); on the event loop the connection does not wait for one, so the first try meets it here.
    await _add_unit(file_db, "甲局")  # the connection is set for the event loop now
    run_chain, tries = direct._run_chain, []

    @functools.wraps(run_chain)
    def locked_once(*args: Any, **kwargs: Any) -> Any:
        tries.append(threading.current_thread() is threading.main_thread())
        if len(tries) == 1:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise error
        return run_chain(*args, **kwargs)

    monkeypatch.setattr(direct, "_run_chain", locked_once)
    async with file_db.unit() as unit:
        assert unit.driver.tuned_for_loop
        hops.clear()
        assert await direct.rows(unit, _UNIT_NAMES, {}) == [("甲局",)]
    assert tries == [True, False]  # on the loop, then again in the connection's thread
    assert hops == ["_run_chain"]


def _pragma(connection: sqlite3.Connection, name: str) -> Any:
    return connection.execute(f"PRAGMA {name}").fetchone()[0]
