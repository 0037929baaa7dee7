"""Open problems' deadlines when the admin enters 2027's calendar late, end to end: through the chat (the real PTB
Application and the fake Bot API) and through `diaodu calendar`, the clock travelling over 2027's 春节.

The library estimates 春节 2027 as 02-05 … 02-10 off, with no working weekend. The notice as this story has it:
春节 02-05 … 02-13 off, Sunday 01-31 and Saturday 02-20 working.

On Thursday 2027-01-28 at 10:00 郝芳 raises two problems on ZD2026-001 (区住建局, 赵芳), both taken up at once:
W0001 资金 (10 working days): 02-17 on the estimate, 02-18 on the notice (01-31 added, 02-11 and 02-12 taken);
W0002 审批手续 (3 working days): 02-02 on the estimate (01-29, 02-01, 02-02), 02-01 on the notice (01-29, 01-31,
02-01). The admin enters the notice on Monday 02-01 at 18:00: W0002's new deadline has then passed.

The other stories: extensions asked or approved on either side of the notice, an overdue node's grace period,
and the same notice entered with `diaodu calendar` (its clock set by hand) followed by `diaodu job escalate`.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.clock import FrozenClock, SystemClock
from bot.domain.escalation import SlaPolicy
from bot.domain.workdays import SHANGHAI, WorkCalendar
from bot.services import problems as problem_service
from bot.services.admin_ops import set_days
from bot.services.calendar_recount import RecountSummary, recount_open_problems
from jobs import escalation
from jobs import nodes as node_job
from storage.audit import Actor
from storage.db import Database
from storage.models import ChatAccount, OutboxMessage, Person, Problem, Project
from storage.nodes import add_node
from storage.settings import load_calendar
from tests.admin.admin_support import wire_admin
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import ADMIN, HAO, LIU, RAISE, ZHAO, Desk, bind_everyone
from tests.jobs.test_escalation_job import RENDERER, _in_thread, build_district, raise_problems


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def deadlines(desk: Desk, number: int) -> tuple[int, str, bool]:
    problem = await desk.problem(number)
    return problem.level, local(problem.resolution_due_at), problem.due_estimated


@pytest.fixture
async def desk(telegram: TelegramHarness, monkeypatch: pytest.MonkeyPatch) -> Desk:
    wire_admin(telegram.core.router, monkeypatch)
    return await bind_everyone(telegram)


async def test_the_notice_entered_in_the_chat_moves_open_deadlines_and_tells_who_holds_them(desk: Desk) -> None:
    tg = desk.tg
    desk.travel(at(date(2027, 1, 28)))
    first = await tg.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")
    assert "办结时限：2027-02-17 17:30（按预估日历）" in first.text, first
    second = await tg.send(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    assert "办结时限：2027-02-02 17:30（按预估日历）" in second.text, second
    for number in ("W0001", "W0002"):
        assert "已受理" in (await tg.send(ZHAO, f"/accept {number}")).text
    await desk.deliver()

    desk.travel(at(date(2027, 2, 1), 18))
    holiday = await tg.send(ADMIN, "/calendar 2027-02-05..2027-02-13 off 春节")
    assert "1 个问题时限已按正式日历重算" in holiday.text and "1 个时限调整（W0001）" in holiday.text, holiday
    told = await desk.deliver()
    assert told.chats == {HAO, ZHAO}, told  # the raiser and the unit; the 包抓领导 holds nothing yet
    [to_unit] = told.texts(ZHAO)
    assert "办结时限：2027-02-17 17:30 → 2027-02-19 17:30（按预估日历）" in to_unit, to_unit
    assert await deadlines(desk, 1) == (0, "2027-02-19 17:30", True)  # 02-14, a Sunday not entered, is estimated

    sunday = await tg.send(ADMIN, "/calendar 2027-01-31 work")
    assert "2 个问题时限已按正式日历重算" in sunday.text and "2 个时限调整（W0001、W0002）" in sunday.text, sunday
    told = await desk.deliver()
    for chat in (HAO, ZHAO):  # one message each, however many problems
        [text] = told.texts(chat)
        assert "W0001" in text and "2027-02-19 17:30 → 2027-02-18 17:30" in text, text
        assert "W0002" in text and "2027-02-02 17:30 → 2027-02-01 17:30（按新时限已到期）" in text, text
    assert "已通知责任单位和提出人共 2 人" in sunday.text, sunday

    unaffected = await tg.send(ADMIN, "/calendar 2027-02-20 work")
    assert "2 个在办问题的时限均不受影响" in unaffected.text, unaffected
    official = await tg.send(ADMIN, "/calendar 2027 official")
    assert "2 个问题时限已按正式日历重算" in official.text and "2 个不再按预估日历（时限不变）" in official.text
    assert (await desk.deliver()).chats == set()  # nothing moved: nobody is told
    assert await deadlines(desk, 1) == (0, "2027-02-18 17:30", False)
    assert await deadlines(desk, 2) == (0, "2027-02-01 17:30", False)

    card = (await tg.send(ZHAO, "/issue W0002")).text
    assert "工作日历调整，时限重算（办结时限 2027-02-02 17:30 → 2027-02-01 17:30）" in card, card

    # W0002's deadline moved into the past: the next tick takes it up as it takes up any breach.
    result = await desk.tick()
    assert result.actions == ["W0002:escalate:1"], result
    assert LIU in (await desk.deliver()).chats

    undone = await tg.send(ADMIN, "/calendar 2027 estimated")
    assert "个问题时限已按预估日历重算" in undone.text and "改为按预估日历（时限不变）" in undone.text, undone
    assert await deadlines(desk, 1) == (0, "2027-02-18 17:30", True)
    assert (await desk.deliver()).chats == set()
    await tg.send(ADMIN, "/calendar 2027 official")

    # Over 春节: W0001 is reminded on 02-17 (the working day before its deadline) and goes up on 02-18.
    nudged: list[date] = []
    escalated: list[date] = []
    day = date(2027, 2, 2)
    while day <= date(2027, 2, 19):
        for hour, minute in ((9, 0), (17, 30)):
            desk.travel(at(day, hour, minute))
            actions = (await desk.tick()).actions
            nudged += [day for a in actions if a == "W0001:nudge:resolution:0"]
            escalated += [day for a in actions if a == "W0001:escalate:1"]
        day = date.fromordinal(day.toordinal() + 1)
    assert nudged == [date(2027, 2, 17)] and escalated == [date(2027, 2, 18)]


async def test_extensions_and_reminders_follow_the_notice_entered_after_them(desk: Desk) -> None:
    """Two 审批手续 problems raised Monday 02-01 at 10:00, due Thursday 02-04 on either calendar. W0001's extension
    to Monday 02-15 is approved on the estimate: its reminder falls on 02-12 there, on 02-04 on the notice. W0002's
    extension to Thursday 02-11 is asked on the estimate and approved after the notice made 02-11 a holiday."""
    tg = desk.tg
    desk.travel(at(date(2027, 2, 1)))
    for _ in range(2):
        assert "办结时限：2027-02-04 17:30（按预估日历）" in (await tg.send(HAO, RAISE)).text
    assert "已作为延期申请报上一层级审批" in (await tg.send(ZHAO, "/answer W0001 2027-02-15 需协调省厅")).text
    await desk.deliver()
    assert "延期申请已同意" in (await tg.press(LIU, "同意延期")).text
    assert "已作为延期申请报上一层级审批" in (await tg.send(ZHAO, "/answer W0002 2027-02-11 需协调省厅")).text
    await desk.deliver()
    assert (await desk.problem(1)).next_check_at == at(date(2027, 2, 12), 9)  # the reminder, on the estimate

    desk.travel(at(date(2027, 2, 3)))
    entered = await tg.send(ADMIN, "/calendar 2027-02-05..2027-02-13 off 春节")
    assert "2 个在办问题的时限均不受影响" in entered.text, entered
    assert (await desk.deliver()).chats == set()
    assert (await desk.problem(1)).next_check_at == at(date(2027, 2, 4), 9)  # the working day before 02-15

    approved = await tg.press(LIU, "同意延期")  # W0002's request: 02-11 is now 春节
    assert "延期申请已同意" in approved.text, approved
    w0002 = await desk.problem(2)
    assert local(w0002.resolution_due_at) == "2027-02-15 17:30" and w0002.promised_date == date(2027, 2, 15)
    assert "办结时限延至 2027-02-15 17:30" in (await desk.deliver()).text(ZHAO)

    desk.travel(at(date(2027, 2, 4), 9))
    actions = (await desk.tick()).actions
    assert "W0001:nudge:resolution:0" in actions and "W0002:nudge:resolution:0" in actions, actions


async def test_an_extension_approved_after_the_deadline_moved_past_its_day_does_not_shorten_it(desk: Desk) -> None:
    """W0001 (资金, raised 01-28) is due 02-17 on the estimate; 赵芳 asks to extend it to 02-18. The notice entered
    meanwhile moves the deadline to 02-19: approving the request keeps 02-19, with 02-18 as the promised date."""
    tg = desk.tg
    desk.travel(at(date(2027, 1, 28)))
    await tg.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")
    assert "已作为延期申请报上一层级审批" in (await tg.send(ZHAO, "/answer W0001 2027-02-18 需协调省厅")).text
    await desk.deliver()
    desk.travel(at(date(2027, 1, 29)))
    assert "1 个时限调整（W0001）" in (await tg.send(ADMIN, "/calendar 2027-02-05..2027-02-13 off 春节")).text
    assert "延期申请已同意" in (await tg.press(LIU, "同意延期")).text
    problem = await desk.problem(1)
    assert local(problem.resolution_due_at) == "2027-02-19 17:30" and problem.promised_date == date(2027, 2, 18)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_overdue_node_keeps_its_grace_period_counted_from_the_planned_day(backend: str) -> None:
    """A node planned for Wednesday 02-03 and not done becomes a problem on Thursday 02-04 (the first working day
    after): 3 working days after the planned day, 02-12 on the estimate, 02-16 once 春节 02-05 … 02-13 is entered
    (02-04, 02-15, 02-16)."""
    async with fresh_database(backend) as db:
        district = await build_district(db, at(date(2027, 1, 27), 8), bound=True)
        async with db.session() as session:
            project = await session.get(Project, district.project)
            assert project is not None
            await add_node(
                session, project=project, name="主体封顶", planned_on=date(2027, 2, 3), now=at(date(2027, 1, 27))
            )
        told = await node_job.run(db, FrozenClock(at(date(2027, 2, 4), 9)), RENDERER)
        assert told.raised == ["W0001"]
        async with db.session() as session:
            problem = await session.get(Problem, 1)
            assert problem is not None and (local(problem.resolution_due_at), problem.due_estimated) == (
                "2027-02-12 17:30",
                True,
            )
            before = await load_calendar(session)
            actor = Actor(label="管理员", channel="cli")
            await set_days(
                session,
                first=date(2027, 2, 5),
                last=date(2027, 2, 13),
                kind="off",
                name="春节",
                now=at(date(2027, 2, 4), 10),
                actor=actor,
            )
            summary = await recount_open_problems(
                session, RENDERER, before=before, now=at(date(2027, 2, 4), 10), actor=actor
            )
            assert (summary.moved, summary.numbers) == (1, ["W0001"])
            assert local(problem.resolution_due_at) == "2027-02-16 17:30"
        quiet = await escalation.run(db, FrozenClock(at(date(2027, 2, 12), 17, 31)), RENDERER)
        assert "W0001:escalate:1" not in quiet.actions
        due = await escalation.run(db, FrozenClock(at(date(2027, 2, 16), 17, 30)), RENDERER)
        assert "W0001:escalate:1" in due.actions


async def _district_with_a_problem(url: str) -> None:
    db = Database(url)
    try:
        district = await build_district(db, at(date(2027, 1, 27), 8), bound=True)
        await raise_problems(db, district, at=at(date(2027, 1, 28)), count=1, category="资金")
        async with db.session() as session:
            problem = await session.get(Problem, 1)
            handler = await session.get(Person, district.handler)
            assert problem is not None and handler is not None
            deps = problem_service.ProblemDeps(calendar=WorkCalendar(), policy=SlaPolicy(), renderer=RENDERER)
            await problem_service.accept(session, deps, problem, actor=handler, now=at(date(2027, 1, 28), 11))
    finally:
        await db.dispose()


async def _state(url: str) -> tuple[str, bool, list[tuple[str | None, str]]]:
    db = Database(url)
    try:
        async with db.session() as session:
            problem = await session.get(Problem, 1)
            assert problem is not None
            rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
            return (
                local(problem.resolution_due_at),
                problem.due_estimated,
                [(r.chat_id, r.payload["html"]) for r in rows],
            )
    finally:
        await db.dispose()


def test_diaodu_calendar_moves_open_deadlines_and_the_job_follows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    _in_thread(upgrade, url)
    _in_thread(asyncio.run, _district_with_a_problem(url))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr(SystemClock, "now", lambda _self: at(date(2027, 1, 29), 16))
    assert _in_thread(asyncio.run, _state(url))[:2] == ("2027-02-17 17:30", True)
    sent_before = len(_in_thread(asyncio.run, _state(url))[2])

    assert main(["calendar", "set", "2027-02-05", "off", "--name", "春节", "--to", "2027-02-13"]) == 0
    out = capsys.readouterr().out
    assert "1 个问题时限已按正式日历重算" in out and "1 个时限调整（W0001），已通知责任单位和提出人共 2 人" in out, out
    assert main(["calendar", "set", "2027-01-31", "work"]) == 0
    assert main(["calendar", "official", "2027"]) == 0
    out = capsys.readouterr().out
    assert "1 个问题时限已按正式日历重算" in out and "1 个不再按预估日历" in out, out
    due, estimated, outbox = _in_thread(asyncio.run, _state(url))
    assert (due, estimated) == ("2027-02-18 17:30", False)
    notices = outbox[sent_before:]
    assert sorted(chat for chat, _html in notices) == ["1001", "1001", "3003", "3003"]  # a message per change each
    assert "2027-02-17 17:30 → 2027-02-19 17:30" in notices[0][1]
    assert "2027-02-19 17:30 → 2027-02-18 17:30" in notices[-1][1]

    assert main(["calendar", "official", "2027", "--undo"]) == 0
    assert "1 个改为按预估日历（时限不变）" in capsys.readouterr().out
    assert _in_thread(asyncio.run, _state(url))[:2] == ("2027-02-18 17:30", True)
    assert main(["calendar", "official", "2027"]) == 0
    capsys.readouterr()

    assert main(["job", "escalate", "--at", "2027-02-17T17:31+08:00"]) == 0
    assert "上报" not in capsys.readouterr().out
    assert main(["job", "escalate", "--at", "2027-02-18T17:30+08:00"]) == 0
    assert "W0001 上报至包抓领导" in capsys.readouterr().out


def test_the_admins_summary_names_at_most_twenty_problems() -> None:
    numbers = [f"W{n:04d}" for n in range(1, 26)]
    summary = RecountSummary(checked=30, moved=25, told=7, numbers=numbers)
    text = RENDERER.plain("_calendar_recount", recount=summary, changed="days")
    assert "25 个问题时限已按正式日历重算" in text and "W0020等）" in text and "W0021" not in text, text


async def test_the_leader_holding_an_escalated_problem_is_told_on_each_of_his_channels(desk: Desk) -> None:
    """W0001 (审批手续, raised 01-28) goes up to 刘文华 (包抓领导) on 02-02 at 17:31: his deadline is 02-15 on the
    estimate (02-03, 02-04, 02-11, 02-12, 02-15). 春节 entered on 02-03 moves it to 02-17: he is told, on Telegram
    and on WeCom, in one message; so are the unit and the raiser."""
    tg = desk.tg
    desk.travel(at(date(2027, 1, 28)))
    await tg.send(HAO, RAISE)
    assert "已受理" in (await tg.send(ZHAO, "/accept W0001")).text
    desk.travel(at(date(2027, 2, 2), 17, 31))
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    await desk.deliver()
    assert await deadlines(desk, 1) == (1, "2027-02-15 17:30", True)
    async with tg.session() as session:
        liu = await session.scalar(select(ChatAccount.person_id).where(ChatAccount.external_id == str(LIU)))
        assert liu is not None
        session.add(ChatAccount(person_id=liu, channel="wecom", external_id="liuwenhua", chat_id="liuwenhua",
                                created_at=at(date(2027, 1, 28))))

    desk.travel(at(date(2027, 2, 3)))
    entered = await tg.send(ADMIN, "/calendar 2027-02-05..2027-02-13 off 春节")
    assert "1 个时限调整（W0001），已通知责任单位、提出人和已上报问题的当前承办领导共 3 人" in entered.text, entered
    rows = [r for r in await desk.outbox_rows() if r.dedupe_key.startswith("calendar:")]
    assert sorted((r.channel, r.chat_id) for r in rows if r.person_id == liu) == [
        ("telegram", str(LIU)), ("wecom", "liuwenhua")]
    told = await desk.deliver()
    assert told.chats == {HAO, ZHAO, LIU}, told
    [to_leader] = told.texts(LIU)
    assert "W0001" in to_leader and "办结时限：2027-02-15 17:30 → 2027-02-17 17:30" in to_leader, to_leader

    quiet = await tg.send(ADMIN, "/calendar 2027-02-20 work")  # moves nothing: nobody is told
    assert "1 个在办问题的时限均不受影响" in quiet.text, quiet
    assert (await desk.deliver()).chats == set()


async def test_a_promise_left_after_an_earlier_deadline_is_kept_and_the_unit_told_to_ask_for_an_extension(
    desk: Desk,
) -> None:
    """W0001 (资金, raised 01-28) is due 02-17 on the estimate; 赵芳 promises 02-16. The admin makes the weekend of
    01-30 working: the deadline becomes 02-15, the promise is kept but now after it: the notice says so, the card
    shows it, and 赵芳 asks for the extension with /answer."""
    tg = desk.tg
    desk.travel(at(date(2027, 1, 28)))
    await tg.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")
    await tg.send(ZHAO, "/answer W0001 2027-02-16 正协调财政局")
    assert (await desk.problem(1)).promised_date == date(2027, 2, 16)
    await desk.deliver()

    desk.travel(at(date(2027, 1, 29)))
    await tg.send(ADMIN, "/calendar 2027-01-30..2027-01-31 work")
    problem = await desk.problem(1)
    assert (local(problem.resolution_due_at), problem.promised_date) == ("2027-02-15 17:30", date(2027, 2, 16))
    told = await desk.deliver()
    for chat in (ZHAO, HAO):
        [text] = told.texts(chat)
        assert "办结时限：2027-02-17 17:30 → 2027-02-15 17:30" in text, text
        assert "承诺完成日期 2027-02-16 已超出新的办结时限" in text and "/answer W0001 日期 理由" in text, text
    card = (await tg.send(ZHAO, "/issue W0001")).text
    assert "承诺完成：2027-02-16（超出办结时限，需申请延期）" in card, card
    assert "；承诺完成日期超出新的办结时限）" in card, card

    asked = await tg.send(ZHAO, "/answer W0001 2027-02-16 正协调财政局，需延期一天")
    assert "已作为延期申请报上一层级审批" in asked.text, asked
