"""/meeting (the dispatch meeting's agenda) and /decide (a decision followed like a problem), through the
router with console accounts; the escalation tick moves decisions past the missing lead official.

Calendar (November 2026, no holidays): Mon 16, Tue 17, Wed 18, Thu 19, Fri 20, Mon 23.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.channels.console import CHANNEL, bind_console, take_notices
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.escalation import Escalate, Overdue, ProblemClock, SlaPolicy, decide
from bot.domain.messages import Incoming, Outcome
from bot.domain.workdays import WorkCalendar
from bot.html_split import TELEGRAM_LIMIT
from bot.render import html_to_plain
from bot.services.ledger_export import history_cell
from bot.services.problems import ProblemDeps, record_decision
from bot.services.standings import compute_standings
from handlers import meeting
from handlers.meeting import parse_due
from jobs import escalation
from storage import people
from storage import problems as repo
from storage.models import Unit
from storage.problem_ledger import problem_rows
from storage.settings import load_calendar, load_digest_settings, load_policy
from tests.e2e.harness import START, build_core

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = "管理员(区重大项目办)"


def nov(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
async def core(ledger_template: Path, tmp_path: Path) -> AsyncIterator[Core]:
    settings = load_settings(DATABASE_URL="sqlite+aiosqlite://", DATA_DIR=str(tmp_path), _env_file=None)
    built = await build_core(settings, FrozenClock(START), template=ledger_template)
    if built.router.commands.get("meeting") is None:
        meeting.register(built.router.commands)
    try:
        yield built
    finally:
        await built.db.dispose()


def travel(core: Core, at: datetime) -> None:
    core.clock.set(at)  # type: ignore[attr-defined]


async def console_id(core: Core, name: str) -> str:
    async with core.db.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
    return await bind_console(core.db, person, now=core.clock.now())


async def handle(core: Core, name: str, text: str) -> Outcome:
    external_id = await console_id(core, name)
    return await core.router.handle(Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id,
                                             text=text, display_name=name))


async def say(core: Core, name: str, text: str) -> str:
    return "\n\n".join(html_to_plain(r.html) for r in (await handle(core, name, text)).replies)


async def notices(core: Core, name: str) -> str:
    """The notices waiting in `name`'s console chat (taken: each is seen once)."""
    outcome = await take_notices(core.router, await console_id(core, name))
    return "\n\n".join(html_to_plain(r.html) for r in outcome.replies)


# --- who may -----------------------------------------------------------------------------------------

async def test_only_admins_hold_meetings_and_record_decisions(core: Core) -> None:
    assert "没有权限" in await say(core, "郝芳", "/decide 加快进度 区住建局 2026-12-01")
    assert "没有权限" in await say(core, "王立军", "/meeting")
    async with core.db.session() as session:
        assert await repo.get_problem(session, problem_id=1) is None


async def test_decide_refusals_are_explained(core: Core) -> None:
    cases = {
        "/decide": "用法：/decide 事项内容 责任单位 期限",
        "/decide 加快进度 区住建局": "用法",
        "/decide 加快征迁 区住建局 月底": "「月底」不是日期",
        "/decide 加快征迁 区住建局 2026-11-19x": "不是日期",
        "/decide 加快征迁 区住建局 2026-02-30": "不是日期",
        "/decide 加快征迁 区住建局 2026-11-19 ": "已记录议定事项 W0001",  # a trailing space is fine
        "/decide 加快征迁 区宇宙局 2026-11-30": "没有「区宇宙局」这个单位",
        "/decide 加快征迁 局 2026-11-30": "对应多个单位",
        "/decide 加 区住建局 2026-11-30": "请写明议定事项的内容",
    }
    travel(core, nov(16, 10))
    for command, fragment in cases.items():
        assert fragment in await say(core, ADMIN, command), command
    travel(core, nov(20, 17, 31))
    assert "期限 2026-11-20 17:30 已过" in await say(core, ADMIN, "/decide 加快征迁 区住建局 2026-11-20")
    assert "已过" in await say(core, ADMIN, "/decide 加快征迁 区住建局 2026-11-19")
    async with core.db.session() as session:
        assert await repo.get_problem(session, problem_id=2) is None


def test_due_dates_are_read_in_the_forms_meetings_use() -> None:
    today = date(2026, 11, 18)
    assert parse_due("2026-12-15", today=today) == date(2026, 12, 15)
    assert parse_due("2026年12月5日", today=today) == date(2026, 12, 5)
    assert parse_due("12月15日", today=today) == date(2026, 12, 15)
    assert parse_due("1月10日", today=today) == date(2027, 1, 10)  # already past this year: next year's
    assert parse_due("11月18日", today=today) == date(2026, 11, 18)
    assert parse_due("13月1日", today=today) is None and parse_due("月底", today=today) is None
    assert parse_due("明天", today=today) == date(2026, 11, 19)
    assert parse_due("下周五", today=today) == date(2026, 11, 27)


def test_a_decision_skips_the_missing_lead_official() -> None:
    calendar, policy = WorkCalendar([]), SlaPolicy()
    due = nov(17, 17, 30)
    clock = ProblemClock(status="open", level=0, response_due_at=due, resolution_due_at=nov(19, 17, 30),
                         skipped=frozenset({1}))
    [action] = decide(clock, nov(17, 17, 31), calendar=calendar, policy=policy).actions
    assert action == Escalate("response", 2, due)
    plain = ProblemClock(status="open", level=0, response_due_at=due, resolution_due_at=None)
    [project_problem] = decide(plain, nov(17, 17, 31), calendar=calendar, policy=policy).actions
    assert isinstance(project_problem, Escalate) and project_problem.to_level == 1
    at_top = ProblemClock(status="open", level=3, response_due_at=None, resolution_due_at=due,
                          skipped=frozenset({1}))
    assert isinstance(decide(at_top, nov(17, 17, 31), calendar=calendar, policy=policy).actions[0], Overdue)


# --- /decide, followed to the end ---------------------------------------------------------------------

async def test_a_decision_escalates_to_the_district_head_and_is_closed_by_the_admin(core: Core) -> None:
    for name in ("赵芳", "王立军", "李明德", "刘文华"):
        await console_id(core, name)
    travel(core, nov(16, 10))
    recorded = await say(core, ADMIN, "/decide 协调解决城北片区施工临时用电 住建局 11月19日")
    assert "已记录议定事项 W0001，交办 区住建局（赵芳）" in recorded
    assert "受理时限：2026-11-17 17:30" in recorded and "办结期限：2026-11-19 17:30" in recorded

    new = await notices(core, "赵芳")
    assert "新问题交办" in new and "W0001 议定事项" in new and "事项：协调解决城北片区施工临时用电" in new
    assert "类别" not in new and "ZD2026" not in new
    card = await say(core, "赵芳", "/issue W0001")
    assert "W0001 议定事项" in card and "提出人：管理员(区重大项目办)" in card
    assert "W0001 议定事项，待受理，责任单位办理中" in await say(core, ADMIN, "/issues")
    # The top officials see every problem, before it reaches them; a 包抓领导 has no part in a decision.
    assert "W0001 议定事项，待受理，责任单位办理中" in await say(core, "王立军", "/issues")
    assert "没有与您相关" in await say(core, "刘文华", "/issues")

    travel(core, nov(17, 17, 31))  # nobody accepted it: the response clock ran out at 17:30
    result = await escalation.run(core.db, core.clock, core.deps.renderer)
    assert result.actions == ["W0001:escalate:2"]
    async with core.db.session() as session:
        problem = await repo.get_problem(session, problem_id=1)
        assert problem is not None
        assert (problem.kind, problem.project_id, problem.level) == ("decision", None, 2)
        assert [e.detail.get("to") for e in await repo.history(session, problem_id=1)] == [None, 2]
    up = await notices(core, "王立军")
    assert "问题上报" in up and "已上报至区长" in up and "W0001 议定事项" in up
    assert await notices(core, "刘文华") == "" and await notices(core, "李明德") == ""
    assert "已上报至区长" in await notices(core, "赵芳")
    assert "已上报至区长" in await notices(core, ADMIN)
    assert "W0001 议定事项，待受理，已上报区长" in await say(core, "王立军", "/issues")

    travel(core, nov(18, 9))
    assert "W0001 已报告解决" in await say(core, "赵芳", "/resolved W0001 已协调供电公司接入临时用电")
    resolved = await handle(core, ADMIN, "/issue W0001")
    assert "待销号" in html_to_plain(resolved.replies[0].html)
    asked = await take_notices(core.router, await console_id(core, ADMIN))
    assert "责任单位报告已解决" in html_to_plain(asked.replies[0].html)
    assert [b.label for row in asked.replies[0].buttons for b in row] == ["确认销号", "未解决"]
    assert "W0001 已确认销号" in await say(core, ADMIN, "/confirm W0001")
    async with core.db.session() as session:
        problem = await repo.get_problem(session, problem_id=1)
        history = await repo.history(session, problem_id=1)
    assert problem is not None and problem.status == "closed" and problem.next_check_at is None
    assert history[-1].kind == "closed" and history[-1].detail == {"as_admin": False}  # closed by its raiser
    assert "已确认销号" in await notices(core, "王立军")
    assert (await escalation.run(core.db, core.clock, core.deps.renderer)).actions == []



async def test_decisions_are_rows_of_the_ledger_export(core: Core) -> None:
    travel(core, nov(16, 10))
    await say(core, ADMIN, "/decide 研究名城二期安置房分配方案 区房管局 2026-12-31")
    async with core.db.session() as session:
        [row] = await problem_rows(session)
    assert (row.number, row.project_code, row.project_name, row.unit) == ("W0001", "", "议定事项", "区房管局")
    assert "提出：研究名城二期安置房分配方案" in history_cell(row.events)


# --- /meeting --------------------------------------------------------------------------------------

async def test_meeting_agenda_lists_what_is_due_red_projects_and_open_decisions(core: Core) -> None:
    travel(core, nov(16, 8, 30))
    assert "W0001" in await say(core, "郝芳", "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    assert "W0002" in await say(core, "郝芳", "/issue ZD2026-001 征地拆迁 还有12户未签约")
    assert "已受理" in await say(core, "赵芳", "/accept W0002")  # only its 15-day resolution clock runs
    travel(core, nov(18, 10))
    assert "W0003" in await say(core, ADMIN, "/decide 协调解决城北片区施工临时用电 区住建局 11月19日")
    assert "W0004" in await say(core, ADMIN, "/decide 研究名城二期安置房分配方案 区房管局 2026-12-31")
    assert "已受理" in await say(core, "沈磊", "/accept W0004")

    pages = await agenda_pages(core)
    assert len(pages) > 1  # the sample ledger has many red projects
    parts = [page.split("二、红灯项目", 1)[0] for page in pages] + ["二、红灯项目"] + [
        page.split("二、红灯项目", 1)[1].split("三、议定事项落实", 1)[0] for page in pages] + ["三、议定事项落实"] + [
        page.split("三、议定事项落实", 1)[1] for page in pages]
    first, rest = "".join(parts).split("二、红灯项目", 1)
    reds_part, decisions_part = rest.split("三、议定事项落实", 1)
    assert f"调度会议程（2026-11-18） 第 1/{len(pages)} 页" in first
    assert "（见第 " in reds_part  # a part named on a page that shows none of its entries says where they are
    assert "一、临期和超期问题（2 个，其中已超期 1 个" in first
    assert "▸ 区住建局（2 个）" in first
    assert ("W0001 ZD2026-001 城北高速连接线：施工许可迟迟未批，待受理，受理时限 2026-11-17 17:30，⚠️已超期 1 个工作日"
            in first)
    assert "W0003 议定事项：协调解决城北片区施工临时用电，待受理，办结时限 2026-11-19 17:30，还剩 1 个工作日" in first
    assert first.index("W0001") < first.index("W0003")  # by deadline within the unit
    assert "W0002" not in first and "W0004" not in first

    async with core.db.session() as session:
        today = date(2026, 11, 18)
        settings = await load_digest_settings(session)
        standings = await compute_standings(
            session, period="x", cutoff=today, window_start=today - timedelta(days=2),
            calendar=await load_calendar(session), thresholds=settings.thresholds)
    reds = [p.code for p in standings.projects if p.light == "red"]
    assert reds, "the sample ledger has red projects in November"
    assert f"（{len(reds)} 个" in reds_part.splitlines()[0]
    assert [line.split()[1] for line in reds_part.splitlines() if line.startswith("🔴")] == reds

    assert "（未办结 2 个）" in decisions_part
    assert "W0003 区住建局：协调解决城北片区施工临时用电，待受理，期限 2026-11-19 17:30" in decisions_part
    assert "W0004 区房管局：研究名城二期安置房分配方案，办理中，期限 2026-12-31 17:30" in decisions_part


async def test_a_missed_promise_is_on_the_agenda_as_overdue(core: Core) -> None:
    """The unit's promised day passed while the 办结 deadline (15 working days) is ahead: overdue, by the rule
    /issues and the digests mark it by (bot.domain.overdue), the promise named."""
    travel(core, nov(16, 8, 30))
    assert "W0001" in await say(core, "郝芳", "/issue ZD2026-001 征地拆迁 还有12户未签约")
    assert "承诺完成日期：2026-11-17" in await say(core, "赵芳", "/answer W0001 2026-11-17 已约谈")
    travel(core, nov(18, 10))
    first = (await agenda_pages(core))[0].split("二、红灯项目", 1)[0]
    assert "一、临期和超期问题（1 个，其中已超期 1 个" in first, first
    assert ("W0001 ZD2026-001 城北高速连接线：还有12户未签约，已答复，承诺 2026-11-17 前完成，⚠️已超期 1 个工作日"
            in first), first


async def agenda_pages(core: Core) -> list[str]:
    """Every page of /meeting, pressing 下一页 until there is none; each page is one reply."""
    outcome = await handle(core, ADMIN, "/meeting")
    pages: list[str] = []
    while True:
        [reply] = outcome.replies
        pages.append(html_to_plain(reply.html))
        after = [b.data for row in reply.buttons for b in row if b.label == "下一页"]
        if not after:
            return pages
        assert len(pages) < 100
        external_id = await console_id(core, ADMIN)
        outcome = await core.router.handle(Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id,
                                                    callback_data=after[0], display_name=ADMIN))


async def test_a_long_agenda_pages_with_every_entry_once(core: Core) -> None:
    travel(core, nov(18, 10))
    count = 200
    assert "W0001" in await say(core, ADMIN, "/decide 第1项:统筹推进城北片区征地拆迁 区住建局 2027-1-10")
    async with core.db.session() as session:  # the other 299 straight into the database: quicker
        [admin] = await people.find_people_by_name(session, name=ADMIN)
        unit = await session.scalar(select(Unit).where(Unit.name == "区住建局"))
        assert unit is not None
        deps = ProblemDeps(calendar=await load_calendar(session), policy=await load_policy(session),
                           renderer=core.router.deps.renderer)
        for n in range(1, count):
            await record_decision(session, deps, raiser=admin, text=f"第{n + 1}项:统筹推进城北片区征地拆迁", unit=unit,
                                  due=date(2027, n % 12 + 1, 10), now=core.clock.now())

    pages = await agenda_pages(core)

    assert len(pages) > 13
    assert all(f"第 {n}/{len(pages)} 页" in page for n, page in enumerate(pages, start=1))
    assert all(len(page) <= TELEGRAM_LIMIT for page in pages)  # one message a page
    whole = "\n".join(pages)
    for n in range(count):
        assert whole.count(f"W{n + 1:04d} 区住建局：第{n + 1}项") == 1
    assert all(page.count("三、议定事项落实（未办结 200 个）") == 1 for page in pages)
    assert "（见第 1 页起）" in pages[-1].split("二、红灯项目")[0]  # what page 1 starts with is named
    assert pages[-1].rstrip().endswith("/decide 事项内容 责任单位 下周五")
