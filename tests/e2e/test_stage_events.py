"""开工 and 竣工 as events end to end through the real Application and the fake Bot API: a liaison reports
(the command, and the button under a saved report), the lead unit confirms or says it is not so, the
project's stage and the bulletin's 开工率 follow, and a project planned to start by now that has not is
on the 预警 list.

ZD2026-002 (滨江四期沿江路, 前期, planned to start 2026-05-20) has liaison 武杰 (1002) and lead unit 区城管局,
whose handler is 邓静 (3010). ZD2026-003 (前期, lead unit 区房管局) has liaison 李海涛 (1003).
"""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import local_today
from bot.config import Settings
from bot.domain.workdays import WorkCalendar
from bot.services.standings import compute_standings
from storage.models import AuditEntry, Project, StageEvent
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import Office, at, data_dir, imported, settings, to  # noqa: F401 - fixtures

WU, LI_HT, DENG, ADMIN = 1002, 1003, 3010, 9001


async def _stage(tg: TelegramHarness, code: str) -> str:
    async with tg.session() as session:
        return (await session.scalars(select(Project.stage).where(Project.code == code))).one()


async def _start_rate(tg: TelegramHarness) -> tuple[int, int, list[str]]:
    async with tg.session() as session:
        today = local_today(tg.clock)
        standings = await compute_standings(session, period="x", cutoff=today, window_start=today,
                                            calendar=WorkCalendar())
    return standings.start_rate.numerator, standings.start_rate.denominator, [p.code for p in standings.not_started]


async def test_a_reported_start_counts_once_the_lead_unit_confirms(imported: TelegramHarness,  # noqa: F811
                                                                  settings: Settings) -> None:  # noqa: F811
    office = Office(imported, settings)
    tg = imported
    await office.setup((WU, "武杰", "liaison"), (LI_HT, "李海涛", "liaison"), (DENG, "邓静", "unit"))
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    office.travel(at(12, 2, 10))
    started, planned, late = await _start_rate(tg)
    assert "ZD2026-002" in late and "ZD2026-003" in late

    saved = await tg.send(WU, "/report ZD2026-002 50万 场地平整完成")
    assert "报告开工" in saved.buttons
    future = await tg.send(WU, "/started ZD2026-002 2026-12-20")
    assert "还没到" in future.text
    assert "不是有效的日期" in (await tg.send(WU, "/started ZD2026-002 明天")).text  # no past day
    not_mine = await tg.send(LI_HT, "/started ZD2026-002")
    assert "不是您联络的项目" in not_mine.text
    reported = await tg.send(WU, "/started ZD2026-002 12月1日")
    assert "已请牵头单位 区城管局 确认" in reported.text, reported.text
    again = await tg.press(WU, "报告开工")
    assert "正等待牵头单位确认" in again.text
    assert await _stage(tg, "ZD2026-002") == "前期"

    [ask] = to(DENG, await office.deliver())
    assert "请确认开工" in ask["text"] and "2026-12-01" in ask["text"]
    confirmed = await tg.press(DENG, "确认开工")
    assert "项目阶段现为「在建」" in confirmed.text
    [told] = to(WU, await office.deliver())
    assert "已确认 ZD2026-002" in told["text"]
    assert await _stage(tg, "ZD2026-002") == "在建"
    after = await _start_rate(tg)
    assert after[0] == started + 1 and after[1] == planned and "ZD2026-002" not in after[2]

    # another unit's project: its report goes to its own lead unit, and waits there
    await tg.send(LI_HT, "/started ZD2026-003")
    assert to(DENG, await office.deliver()) == []  # 区房管局's handlers are asked, not 区城管局's
    async with tg.session() as session:
        [event] = (await session.scalars(select(StageEvent).where(StageEvent.state == "pending"))).all()
    assert event.kind == "start" and event.day == at(12, 2).date()
    waiting = await tg.send(ADMIN, "/started ZD2026-003 12月2日")
    assert "正等待牵头单位确认" in waiting.text  # an admin too waits for the pending one to be decided

    # an admin's report counts at once
    direct = await tg.send(ADMIN, "/started ZD2026-004 2026-11-30")
    assert "项目阶段现为「在建」" in direct.text
    async with tg.session() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.in_(("project.start", "project.finish"))))).all()
    assert sorted(actions) == ["project.start", "project.start"]


async def test_a_start_the_lead_unit_does_not_confirm_changes_nothing(imported: TelegramHarness,  # noqa: F811
                                                                    settings: Settings) -> None:  # noqa: F811
    office = Office(imported, settings)
    tg = imported
    await office.setup((WU, "武杰", "liaison"), (DENG, "邓静", "unit"))
    office.travel(at(12, 2, 10))
    await tg.send(WU, "/started ZD2026-002")
    await office.deliver()
    refused = await tg.press(DENG, "不属实")
    assert "已退回 ZD2026-002" in refused.text
    [told] = to(WU, await office.deliver())
    assert "未确认 ZD2026-002" in told["text"]
    assert await _stage(tg, "ZD2026-002") == "前期"
    again = await tg.send(WU, "/started ZD2026-002")  # refused ones do not block a new report
    assert "已请牵头单位" in again.text
    usage = await tg.send(WU, "/finished ZD2026-002 昨天下午")
    assert "不是有效的日期" in usage.text
    early = await tg.send(WU, "/finished ZD2026-002")
    assert "「前期」阶段，不能报告竣工" in early.text


async def test_the_day_of_a_start_is_read_as_every_past_day_is(imported: TelegramHarness,  # noqa: F811
                                                                settings: Settings) -> None:  # noqa: F811
    """/started and /finished read their day with the one past-day reader (bot.domain.dates, past=True)."""
    office = Office(imported, settings)
    tg = imported
    await office.setup((WU, "武杰", "liaison"), (DENG, "邓静", "unit"))
    office.travel(at(12, 2, 10))  # Wednesday 2 December 2026
    for typed, meant in [("昨天", "2026-12-01"), ("前天", "2026-11-30"), ("周一", "2026-11-30"),
                         ("上周五", "2026-11-27"), ("11月20日", "2026-11-20"), ("11.19", "2026-11-19"),
                         ("2026-11-18", "2026-11-18"), ("3月1日", "2026-03-01")]:
        reported = await tg.send(WU, f"/started ZD2026-002 {typed}")
        assert f"于 {meant} 开工" in reported.text, (typed, reported.text)
        async with tg.session() as session:
            [event] = (await session.scalars(select(StageEvent).where(StageEvent.state == "pending"))).all()
            assert event.day.isoformat() == meant
            await session.delete(event)  # so that the next form is reported afresh
    # 12月20日 on 2 December is a slip, not the 20 December eleven months back
    ahead = await tg.send(WU, "/started ZD2026-002 12月20日")
    assert "2026-12-20 还没到" in ahead.text, ahead.text
