"""The escalation tick as a job: it looks only at what is due, and `diaodu job escalate` runs it from the CLI.

A small district of its own (one project, its liaison, the unit's handler, the lead official and 区长),
so these tests do not depend on the sample ledger. Times are in Shanghai, November 2026 (no holidays):
a 审批手续 problem raised Monday the 16th before 09:00 is nudged at 09:00 that day, and breaches its
response deadline on Tuesday the 17th at 17:30; one raised after 09:00 is not looked at before then.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from bot.__main__ import main
from bot.clock import FrozenClock
from bot.domain.escalation import SlaPolicy
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from bot.services import problems as problem_service
from jobs import escalation
from storage import people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage, Person, PersonRole, Problem, ProblemEvent, Project, ProjectNode, Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
RENDERER = Renderer()


def nov(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class District:
    project: int
    unit: int
    liaison: int
    handler: int
    lead: int
    top: int


def _person(name: str, role: str, now: datetime, *, unit: Unit | None = None,
            title: str | None = None) -> Person:
    return Person(name=name, title=title, unit=unit, active=True, created_at=now,
                  roles=[PersonRole(role=role)])


async def build_district(db: Database, now: datetime, *, bound: bool = False) -> District:
    """One project of 区住建局; with `bound`, everyone has a Telegram chat (so notices to them wait to be
    sent rather than being undeliverable)."""
    async with db.session() as session:
        unit = Unit(name="区住建局", created_at=now)
        liaison = _person("郝芳", "liaison", now, unit=unit)
        handler = _person("赵芳", "unit", now, unit=unit)
        lead = _person("刘文华", "lead", now, title="副区长(城建)")
        top = _person("王立军", "top", now, title="区长")
        session.add_all([unit, liaison, handler, lead, top])
        await session.flush()
        project = Project(code="ZD2026-001", name="城北高速连接线", category="城建", total_investment=Decimal(68000),
                          annual_plan=Decimal(40800), done_before=Decimal(0), baseline_year=2026, stage="在建",
                          lead_unit=unit, liaison_id=liaison.id, lead_official_id=lead.id, created_at=now,
                          updated_at=now)
        session.add(project)
        await session.flush()
        if bound:
            for chat, person in ((1001, liaison), (3003, handler), (4001, lead), (5001, top)):
                await people.bind_account(session, person=person, channel="telegram", external_id=str(chat),
                                          chat_id=str(chat), display_name=person.name, now=now)
        return District(project=project.id, unit=unit.id, liaison=liaison.id, handler=handler.id,
                        lead=lead.id, top=top.id)


async def raise_problems(db: Database, district: District, *, at: datetime, count: int,
                         category: str = "审批手续") -> None:
    deps = problem_service.ProblemDeps(calendar=WorkCalendar(), policy=SlaPolicy(), renderer=RENDERER)
    async with db.session() as session:
        project = await session.get(Project, district.project)
        raiser = await session.get(Person, district.liaison)
        unit = await session.get(Unit, district.unit)
        assert project is not None and raiser is not None and unit is not None
        for n in range(count):
            await problem_service.raise_problem(session, deps, project=project, raiser=raiser,
                                                category=category, text=f"问题{n}", unit=unit, photos=[],
                                                now=at)


@pytest.fixture
async def memory_db() -> AsyncIterator[Database]:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    try:
        yield db
    finally:
        await db.dispose()


class LoadCounter:
    """Counts the Problem rows the ORM loads while active."""

    def __init__(self) -> None:
        self.loaded: list[int] = []

    def __call__(self, target: Problem, _context: object) -> None:
        self.loaded.append(target.id)


@pytest.fixture
def problem_loads() -> Iterator[LoadCounter]:
    counter = LoadCounter()
    event.listen(Problem, "load", counter)
    try:
        yield counter
    finally:
        event.remove(Problem, "load", counter)


# --- the tick ----------------------------------------------------------------------------------------


async def test_the_tick_only_loads_the_problems_that_are_due(memory_db: Database,
                                                            problem_loads: LoadCounter) -> None:
    district = await build_district(memory_db, nov(16, 8, 0))
    await raise_problems(memory_db, district, at=nov(16, 8, 30), count=3)  # W0001-W0003: nudged at 09:00
    await raise_problems(memory_db, district, at=nov(16, 10, 0), count=47)  # W0004-W0050: not before Tuesday
    problem_loads.loaded.clear()

    result = await escalation.run(memory_db, FrozenClock(nov(16, 9, 0)), RENDERER)

    assert result.checked == 3
    assert sorted(result.actions) == [f"W000{n}:nudge:response:0" for n in (1, 2, 3)]
    assert sorted(set(problem_loads.loaded)) == [1, 2, 3]  # the other 47 were never read

    problem_loads.loaded.clear()
    again = await escalation.run(memory_db, FrozenClock(nov(16, 9, 0)), RENDERER)
    assert (again.checked, again.actions) == (0, [])
    assert problem_loads.loaded == []


async def test_the_tick_takes_due_problems_in_batches(memory_db: Database) -> None:
    district = await build_district(memory_db, nov(16, 8, 0))
    await raise_problems(memory_db, district, at=nov(16, 10, 0), count=12)
    tuesday = FrozenClock(nov(17, 17, 30))

    first = await escalation.run(memory_db, tuesday, RENDERER, batch=5)
    second = await escalation.run(memory_db, tuesday, RENDERER, batch=5)
    third = await escalation.run(memory_db, tuesday, RENDERER, batch=5)
    fourth = await escalation.run(memory_db, tuesday, RENDERER, batch=5)

    assert [first.checked, second.checked, third.checked, fourth.checked] == [5, 5, 2, 0]
    escalated = first.actions + second.actions + third.actions
    assert sorted(escalated) == sorted(f"W{n:04d}:escalate:1" for n in range(1, 13))
    async with memory_db.session() as session:
        levels = (await session.scalars(select(Problem.level))).all()
        escalations = await session.scalar(select(func.count()).where(ProblemEvent.kind == "escalated"))
        kept = (await session.execute(select(ProblemEvent.resolution_due_at, Problem.resolution_due_at)
                                      .join(Problem, Problem.id == ProblemEvent.problem_id)
                                      .where(ProblemEvent.kind == "escalated"))).all()
    assert set(levels) == {1}
    assert escalations == 12
    # each escalation keeps the deadline it gave the problem (what a past period's figures read back)
    assert len(kept) == 12 and all(event is not None and event == problem for event, problem in kept)


async def test_closed_and_resolved_problems_are_never_due(memory_db: Database) -> None:
    district = await build_district(memory_db, nov(16, 8, 0))
    await raise_problems(memory_db, district, at=nov(16, 10, 0), count=2)
    async with memory_db.session() as session:
        for problem in (await session.scalars(select(Problem))).unique().all():
            problem.status = "resolved" if problem.id == 1 else "closed"

    result = await escalation.run(memory_db, FrozenClock(datetime(2027, 6, 1, tzinfo=SHANGHAI)), RENDERER)

    assert (result.checked, result.actions) == (0, [])


# --- diaodu job escalate ------------------------------------------------------------------------------


def _in_thread(function, *args):  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


async def _prepare(url: str) -> None:
    db = Database(url)
    try:
        district = await build_district(db, nov(16, 8, 0), bound=True)
        await raise_problems(db, district, at=nov(16, 10, 0), count=1)
    finally:
        await db.dispose()


@dataclass
class Outcome:
    level: int
    events: list[str]
    outbox: list[tuple[str, str | None, str]]  # (state, chat id, first line)


async def _outcome(url: str) -> Outcome:
    db = Database(url)
    try:
        async with db.session() as session:
            problem = await session.get(Problem, 1)
            assert problem is not None
            history = await session.scalars(select(ProblemEvent).order_by(ProblemEvent.id))
            events = [e.kind for e in history.all()]
            rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
            return Outcome(level=problem.level, events=events,
                           outbox=[(r.state, r.chat_id, r.payload["html"].splitlines()[0]) for r in rows])
    finally:
        await db.dispose()


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite file holding one problem raised Monday 10:00, named by DATABASE_URL; no bot token."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    _in_thread(upgrade, url)
    _in_thread(asyncio.run, _prepare(url))
    monkeypatch.chdir(tmp_path)  # no .env file to pick settings up from
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return url


def test_job_escalate_at_a_time_escalates_and_leaves_notices_pending(
        cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = _in_thread(asyncio.run, _outcome(cli_database))
    assert before.level == 0
    # 赵芳's new-problem notice, waiting for a channel
    assert [(state, chat) for state, chat, _line in before.outbox] == [("pending", "3003")]

    status = main(["job", "escalate", "--at", "2026-11-18T18:00+08:00"])

    out = capsys.readouterr().out
    assert status == 0
    assert "检查了 1 个到期问题：W0001 上报至包抓领导" in out
    assert "未配置任何渠道，通知留在发件箱待发送" in out
    after = _in_thread(asyncio.run, _outcome(cli_database))
    assert after.level == 1
    assert after.events == ["raised", "escalated"]
    new = after.outbox[len(before.outbox):]
    assert sorted(chat for _state, chat, _line in new) == ["1001", "3003", "4001"]  # 刘文华; 郝芳 and 赵芳 told
    assert {state for state, _chat, _line in after.outbox} == {"pending"}  # nothing was sent
    [lead_notice] = [line for _state, chat, line in new if chat == "4001"]
    assert "问题上报" in lead_notice and "W0001" in lead_notice

    # Run again at the same moment: nothing more is due, nothing is written twice.
    assert main(["job", "escalate", "--at", "2026-11-18T18:00+08:00"]) == 0
    out = capsys.readouterr().out
    assert "检查了 0 个到期问题：无需处理" in out
    assert _in_thread(asyncio.run, _outcome(cli_database)) == after


def test_job_escalate_before_anything_is_due_does_nothing(cli_database: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "escalate", "--at", "2026-11-17T17:29+08:00"]) == 0
    assert "检查了 0 个到期问题：无需处理" in capsys.readouterr().out
    assert _in_thread(asyncio.run, _outcome(cli_database)).level == 0


def test_job_escalate_refuses_a_database_that_is_not_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    assert main(["job", "escalate", "--at", "2026-11-18T18:00+08:00"]) == 1
    assert "diaodu db upgrade" in capsys.readouterr().err


def test_job_remind_at_a_time_runs_that_slots_reminders_once(cli_database: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    before = _in_thread(asyncio.run, _outcome(cli_database))

    assert main(["job", "remind", "--at", "2026-11-16T15:00+08:00"]) == 0
    assert "还没到当天第一个提醒时间（16:00）" in capsys.readouterr().out
    assert main(["job", "remind", "--at", "2026-11-21T18:00+08:00"]) == 0  # a Saturday
    assert "不是工作日" in capsys.readouterr().out
    assert _in_thread(asyncio.run, _outcome(cli_database)).outbox == before.outbox

    assert main(["job", "remind", "--at", "2026-11-16T18:05+08:00"]) == 0
    out = capsys.readouterr().out
    assert "按 18:00 的提醒运行：提醒了" in out and "未配置任何渠道，通知留在发件箱待发送" in out
    after = _in_thread(asyncio.run, _outcome(cli_database))
    reminders = after.outbox[len(before.outbox):]
    assert reminders and all(state == "pending" for state, _chat, _line in reminders)
    assert any("填报" in line for _state, _chat, line in reminders), reminders

    assert main(["job", "remind", "--at", "2026-11-16T18:30+08:00"]) == 0  # the same slot again: nothing new
    capsys.readouterr()
    assert _in_thread(asyncio.run, _outcome(cli_database)).outbox == after.outbox


def test_cli_calendar_range_and_official_year(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "set", "2027-02-05", "off", "--name", "春节", "--to", "2027-02-13"]) == 0
    out = capsys.readouterr().out
    assert "2027-02-05 放假（春节）" in out and "2027-02-13 放假（春节）" in out
    assert "已确认按官方通知" not in out
    assert main(["calendar", "official", "2027"]) == 0
    assert "已确认按官方通知全部录入的 2027 年除外" in capsys.readouterr().out
    assert main(["calendar", "official", "2027", "--undo"]) == 0
    assert "已确认按官方通知" not in capsys.readouterr().out


async def _plan_node(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            project = await session.get(Project, 1)
            assert project is not None
            session.add(ProjectNode(project_id=project.id, seq=1, name="桩基完成", planned_on=nov(16, 0, 0).date(),
                                    note="", source="chat", created_at=nov(16, 8, 0), updated_at=nov(16, 8, 0)))
    finally:
        await db.dispose()


def test_job_escalate_turns_an_overdue_node_into_a_problem_first(cli_database: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _in_thread(asyncio.run, _plan_node(cli_database))
    assert main(["job", "escalate", "--at", "2026-11-17T09:30+08:00"]) == 0
    out = capsys.readouterr().out
    assert "逾期节点 1 个：" in out and "桩基完成" in out
    assert main(["job", "escalate", "--at", "2026-11-17T09:35+08:00"]) == 0
    assert "逾期节点" not in capsys.readouterr().out  # told once


@pytest.mark.parametrize(("action", "words"), [
    ("W0001:escalate:1", "W0001 上报至包抓领导"),
    ("W0002:escalate:3", "W0002 上报至区委书记/领导小组"),
    ("W0003:nudge:response:0", "W0003 受理临期提醒"),
    ("W0003:nudge:resolution:2", "W0003 办结临期提醒"),
    ("W0004:overdue:resolution:3", "W0004 办结超期通报"),
    ("W0005:nudge:promise:2026-11-18", "W0005 承诺日期提醒（2026-11-18）"),
    ("W0005:overdue:promise:2026-11-18", "W0005 未按承诺日期完成（2026-11-18）"),
])
def test_the_cli_names_a_ticks_actions_in_chinese(action: str, words: str) -> None:
    assert escalation.describe(action) == words


def test_job_remind_counts_only_what_it_queued(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An alert goes once per streak, a reminder once per slot: a later run names what it sent, not the streak."""
    assert main(["job", "remind", "--at", "2026-11-18T18:00+08:00"]) == 0  # the third working day without a report
    assert "提醒了 1 人（郝芳）；连续未填报预警：ZD2026-001。" in capsys.readouterr().out
    queued = _in_thread(asyncio.run, _outcome(cli_database)).outbox

    assert main(["job", "remind", "--at", "2026-11-18T18:10+08:00"]) == 0  # the same slot again
    assert "提醒了 0 人（无）；连续未填报预警：无；已预警过、本次不重复发送：ZD2026-001。" in capsys.readouterr().out
    assert _in_thread(asyncio.run, _outcome(cli_database)).outbox == queued

    assert main(["job", "remind", "--at", "2026-11-19T18:00+08:00"]) == 0  # the streak goes on: no second alert
    assert "提醒了 1 人（郝芳）；连续未填报预警：无；已预警过、本次不重复发送：ZD2026-001。" in capsys.readouterr().out
    new = _in_thread(asyncio.run, _outcome(cli_database)).outbox[len(queued):]
    assert len(new) == 1 and "填报" in new[0][2]  # 郝芳's reminder only
