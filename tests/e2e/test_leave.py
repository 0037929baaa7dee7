"""Leave (请假) and substitutes end to end through Telegram, travelling in time around the National Day break
of 2026 (10/1–10/7 off, Saturday 10/10 a 调休 working day).

郝芳 (1001, liaison of ZD2026-001) is on leave from Wednesday 9/30 to Friday 10/9 with 武杰 (1002, liaison of
ZD2026-002) as her substitute: the leave spans a weekend and the holiday, and covers the working days 9/30,
10/8 and 10/9. She gets no reminder then; 武杰 is reminded of her project and his report counts (stored
as his, audited as for her); the 连续未填报 alert does not count her leave days; the punctuality of her
project (and so of its unit) is what it would be without those days.
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from bot.services.standings import compute_standings
from storage.models import AuditEntry, Leave, Person, Project, Report
from storage.settings import load_calendar
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import (  # noqa: F401  (fixtures used by name)
    HAO,
    LIU,
    WU,
    ZHAO,
    Office,
    at,
    cloned,
    data_dir,
    settings,
    texts,
)

ADMIN = 9001
PEOPLE = [(HAO, "郝芳", "liaison"), (WU, "武杰", "liaison"), (ZHAO, "赵芳", "unit"), (LIU, "刘文华", "lead"),
          (ADMIN, "管理员(区重大项目办)", "admin")]
LATE = time(18, 0)


def reminders_in(chat: int, calls) -> list[str]:  # type: ignore[no-untyped-def]
    return [t for t in texts(chat, calls) if "填报提醒" in t or "再次提醒" in t]


async def _remind_day(office: Office, month: int, day: int) -> tuple[list, object]:  # type: ignore[type-arg]
    """The 16:00 and 18:00 reminders of a day; what was sent, and the 18:00 run's result."""
    office.travel(at(month, day, 16))
    await office.remind(time(16, 0))
    office.travel(at(month, day, 18))
    result = await office.remind(LATE)
    return await office.deliver(), result


async def _punctuality(tg: TelegramHarness, first: date, last: date) -> tuple[float | None, float | None]:
    """ZD2026-001's punctuality and its unit's (区住建局) over first..last, as the bulletins compute them."""
    async with tg.session() as session:
        standings = await compute_standings(session, period="test", cutoff=last, window_start=first,
                                            calendar=await load_calendar(session))
    project = next(p for p in standings.projects if p.code == "ZD2026-001")
    unit = next(u for u in standings.units if u.name == project.lead_unit)
    return project.punctuality, unit.punctuality


async def test_a_leave_across_national_day_with_a_substitute(cloned: TelegramHarness, settings) -> None:  # noqa: F811
    office = Office(cloned, settings)
    tg = cloned
    await office.setup(*PEOPLE, monthly=False)

    office.travel(at(9, 28, 10))
    recorded = await tg.send(HAO, "/leave 9-30 至 10-9 武杰")
    assert "已登记请假：2026-09-30 至 2026-10-09，代理人 武杰" in recorded.text, recorded
    calls = await office.deliver()
    assert any("郝芳 2026-09-30 至 2026-10-09 请假，代理人 武杰" in t for t in texts(ADMIN, calls))
    assert any("代为填报 郝芳 负责的项目" in t for t in texts(WU, calls))
    assert texts(HAO, calls) == []  # she did it herself
    listed = await tg.send(HAO, "/leave")
    assert "我 2026-09-30 至 2026-10-09，代理人 武杰" in listed.text
    assert "代理人 我（代为填报其项目）" in (await tg.send(WU, "/leave")).text

    for day in (28, 29):  # before the leave she reports herself; the substitute may not
        office.travel(at(9, day, 10))
        await office.report(HAO, "ZD2026-001", "100")
        await office.report(WU, "ZD2026-002", "100")
    assert "只能填报自己负责的项目" in (await tg.send(WU, "/report ZD2026-001 50 试试")).text

    # Wednesday 9/30, on leave: 武杰 is reminded of her project, she is not
    office.travel(at(9, 30, 16))
    await office.report(WU, "ZD2026-002", "100")
    await office.remind(time(16, 0))
    calls = await office.deliver()
    assert reminders_in(HAO, calls) == []
    [reminder] = reminders_in(WU, calls)
    assert "ZD2026-001" in reminder and "代 郝芳 填报" in reminder and "ZD2026-002" not in reminder
    saved = await tg.send(WU, "/report ZD2026-001 300 主体施工（代报）")
    assert "已记录填报（代 郝芳 填报）" in saved.text
    mine = (await tg.send(WU, "/mine")).text
    assert "代为填报" in mine and "✅ ZD2026-001" in mine
    async with tg.session() as session:
        report = (await session.scalars(select(Report).join(Project, Project.id == Report.project_id).where(
            Report.local_day == date(2026, 9, 30), Project.code == "ZD2026-001"))).one()
        wu = (await session.scalars(select(Person).where(Person.name == "武杰"))).one()
        assert report.person_id == wu.id  # the substitute's report
        entry = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "report.create")
                                       .order_by(AuditEntry.id.desc()).limit(1))).one()
        assert entry.actor == "武杰" and entry.detail["for"] == "郝芳"
    assert "（代 郝芳 填报）" in (await tg.send(ADMIN, "/audit ZD2026-001")).text
    calls, _ = await _remind_day(office, 9, 30)
    assert reminders_in(HAO, calls) == [] and reminders_in(WU, calls) == []  # both reported

    # the holiday and its weekend: no reminders at all
    for day in range(1, 8):
        office.travel(at(10, day, 16))
        assert (await office.remind(time(16, 0))).skipped == "not a working day"

    # 10/8 and 10/9, still on leave, the substitute does not report her project: reminded, never alerted
    for day in (8, 9):
        office.travel(at(10, day, 10))
        await office.report(WU, "ZD2026-002", "100")
        calls, result = await _remind_day(office, 10, day)
        assert reminders_in(HAO, calls) == []
        assert all("ZD2026-001" in t for t in reminders_in(WU, calls)) and reminders_in(WU, calls)
        assert "ZD2026-001" not in result.alerts  # type: ignore[attr-defined]
        assert not any("ZD2026-001" in t for t in texts(ZHAO, calls) + texts(LIU, calls))

    # Saturday 10/10 (调休), back: reminded again; the substitute's right has ended
    calls, _ = await _remind_day(office, 10, 10)
    assert reminders_in(HAO, calls)
    assert not any("ZD2026-001" in t for t in reminders_in(WU, calls))
    assert "只能填报自己负责的项目" in (await tg.send(WU, "/report ZD2026-001 50 试试")).text
    await office.report(HAO, "ZD2026-001", "100")

    # Her leave days do not count against the project, nor do they add to it: 100 % both weeks
    assert (await _punctuality(tg, date(2026, 9, 28), date(2026, 10, 4)))[0] == 1.0  # 9/28, 9/29 of 2
    assert (await _punctuality(tg, date(2026, 10, 5), date(2026, 10, 11)))[0] == 1.0  # 10/10 of 1
    project, unit = await _punctuality(tg, date(2026, 9, 28), date(2026, 10, 11))
    assert project == 1.0 and unit is not None

    # after the leave, days missed count again: 10/12 and 10/13 make the streak of two
    _, result = await _remind_day(office, 10, 12)
    assert "ZD2026-001" not in result.alerts  # type: ignore[attr-defined]
    _, result = await _remind_day(office, 10, 13)
    assert "ZD2026-001" in result.alerts  # type: ignore[attr-defined]


async def test_leave_listed_refused_and_ended(cloned: TelegramHarness, settings) -> None:  # noqa: F811
    office = Office(cloned, settings)
    tg = cloned
    await office.setup(*PEOPLE, monthly=False)
    office.travel(at(9, 28, 10))

    assert "开始日期已经过去" in (await tg.send(HAO, "/leave 2026-09-01 2026-09-03")).text
    assert "结束日期早于开始日期" in (await tg.send(HAO, "/leave 10-9 9-30")).text
    assert "没有名叫「张三」的联络员" in (await tg.send(HAO, "/leave 9-30 10-9 张三")).text
    assert "代理人须是在职的联络员" in (await tg.send(HAO, "/leave 9-30 10-9 赵芳")).text  # a handler
    assert "只有管理员可以为他人登记请假" in (await tg.send(HAO, "/leave 武杰 9-30 10-9")).text
    assert "没有看懂" in (await tg.send(HAO, "/leave 下个月")).text
    assert "没有进行中或将要开始的请假" in (await tg.send(HAO, "/leave")).text

    # an admin records one for 郝芳 without a substitute: she is told; no reminders then, no report asked
    done = await tg.send(ADMIN, "/leave 郝芳 2026-09-29 2026-09-30")
    assert "已登记 郝芳 的请假：2026-09-29 至 2026-09-30" in done.text
    calls = await office.deliver()
    assert any("未指定代理人" in t for t in texts(HAO, calls))
    everyone = await tg.send(ADMIN, "/leave 全部")
    assert "全部请假" in everyone.text and "郝芳 2026-09-29 至 2026-09-30，无代理人" in everyone.text
    assert everyone.buttons == ["销假 郝芳 09-29起"]
    assert "已有请假" in (await tg.send(HAO, "/leave 9-30 10-2")).text
    calls, _ = await _remind_day(office, 9, 29)
    assert reminders_in(HAO, calls) == []
    assert "联络员请假中，无需填报" in (await tg.send(HAO, "/mine")).text

    # 销假 on 9/30: the leave ends on 9/29, she is reminded again that day
    office.travel(at(9, 30, 9))
    assert "我 2026-09-29 至 2026-09-30，无代理人" in (await tg.send(HAO, "/leave")).text
    ended = await tg.press(HAO, "销假 郝芳 09-29起")
    assert "郝芳 已销假：请假到 2026-09-29 为止" in ended.text
    calls, _ = await _remind_day(office, 9, 30)
    assert reminders_in(HAO, calls)
    assert any("已销假" in t for t in texts(ADMIN, calls))
    async with tg.session() as session:
        leave = (await session.scalars(select(Leave))).one()
        assert (leave.end, leave.cancelled_at) == (date(2026, 9, 29), None)
    assert "已登记请假" in (await tg.send(HAO, "/leave 10-8")).text  # one day, no substitute
    cancelled = await tg.press(HAO, "销假")
    assert "已取消 郝芳 2026-10-08 至 2026-10-08 的请假" in cancelled.text
