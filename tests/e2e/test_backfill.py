"""补报 end to end through Telegram (the real PTB Application and the fake Bot API): a day that has no report
is entered afterwards by the 项目办 through /correct, across the turn of the year.

武杰 (1002) is the liaison of ZD2026-002. He reports 100 万元 on 2026-12-29 and 12-30; his 12-31 report was
typed at 23:58 and confirmed at 00:01, so it was cancelled (the guided flow ends with its day), and 12-28 he
could not send. On 2027-01-04 the first working day of 2027 sends 2026-W53 and the December, Q4, H2 and 2026
bulletins, and he reports 100 万元 for 2027. On 2027-01-05 he cannot 补报 himself; the admin enters 12-31
(one-shot) and 12-28 (guided, a day before two stored ones).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from bot.config import Settings
from storage.models import Project, Report, ReportSum
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import GROUP, PEOPLE, WU, Office, texts
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401  (fixtures)

ADMIN_NAME = "管理员(区重大项目办)"
CODE = "ZD2026-002"
SENT = "2026-W53 周通报、2026-12 月通报、2026-Q4 季度调度、2026-H2 半年讲评、2026 年终考核"


async def _sums(tg: TelegramHarness) -> dict[int, Decimal]:
    """The trigger-kept yearly sums of the project, and (checked equal) the sums of its live reports."""
    async with tg.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == CODE))
        kept = {s.year: s.amount for s in (await session.scalars(
            select(ReportSum).where(ReportSum.project_id == project_id))).all()}
        live = await session.execute(select(Report.local_day, Report.amount).where(
            Report.project_id == project_id, Report.withdrawn_at.is_(None)))
        summed: dict[int, Decimal] = {}
        for day, amount in live.all():
            summed[day.year] = summed.get(day.year, Decimal(0)) + amount
        assert {y: a for y, a in kept.items() if a} == summed
        return kept


async def _report_count(tg: TelegramHarness) -> int:
    async with tg.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


async def test_the_office_enters_a_missed_day_after_the_year_turned(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    for day in (date(2026, 12, 29), date(2026, 12, 30)):
        office.travel(at(day, 9, 30))
        await office.report(WU, CODE, "100", "清表完成")
    office.travel(at(date(2027, 1, 4), 9))
    assert [p.period for p in await office.tick()] == ["2026-W53", "2026-12", "2026-Q4", "2026-H2", "2026"]
    await office.deliver()
    office.travel(at(date(2027, 1, 4), 9, 30))
    await office.report(WU, CODE, "100", "基础施工")  # 2027's first report
    assert await _sums(tg) == {2026: Decimal(200), 2027: Decimal(100)}

    office.travel(at(date(2027, 1, 5), 10))
    stored = await _report_count(tg)
    # the liaison cannot 补报; the advice he gets now leads somewhere
    refused = await tg.send(WU, f"/correct {CODE} 12-31 300 主体施工 理由：零点确认被取消")
    assert "在 2026-12-31 没有填报，无从更正。如要补报当天进度，请联系区项目办。" in refused.text, refused
    assert await _report_count(tg) == stored

    # the admin: one-shot, shown first with the bulletins that went out without the day
    asked = await tg.send(ADMIN, f"/correct {CODE} 12-31 300 主体施工 理由：零点确认被取消")
    assert "2026-12-31 补报：本期完成投资 300（未写单位，按万元计）= 300.0 万元，主体施工" in asked.text, asked
    assert "确认后作为当天的填报计入 2026 年度统计和排名" in asked.text
    assert f"已发出的{SENT}未计入这一天；已发出的通报不再改动" in asked.text, asked
    assert asked.buttons == ["确认补报", "取消"]
    assert await _report_count(tg) == stored  # nothing before 确认
    done = await tg.press(ADMIN, "确认补报")
    assert "已补报 ZD2026-002 滨江四期沿江路 2026-12-31 的填报：本期完成投资 300.0 万元，主体施工" in done.text, done
    assert "2026 年度累计完成 500.0 万元" in done.text and "已告知联络员 武杰" in done.text, done
    assert await _sums(tg) == {2026: Decimal(500), 2027: Decimal(100)}  # 2026's money in 2026
    told = texts(WU, await office.deliver())
    assert any("区项目办 管理员(区重大项目办) 补报了您负责的项目 ZD2026-002 滨江四期沿江路 2026-12-31 的填报" in t
               and "零点确认被取消" in t for t in told), told

    # guided, a day before two stored ones: the later days' figures stay as they were, the year's grow
    assert "在 2026-12-28 没有填报，区项目办可以补报" in await tg.send(ADMIN, f"/correct {CODE} 12-28")
    assert "金额「很多」无法使用" in await tg.send(ADMIN, "很多")  # checked as a report's; the step waits
    assert "请发送当天的形象进度" in await tg.send(ADMIN, "50")
    assert "补报理由" in await tg.send(ADMIN, "清表")
    confirm = await tg.send(ADMIN, "联络员出差")
    assert "2026-12-28 补报：本期完成投资 50（未写单位，按万元计）= 50.0 万元，清表" in confirm
    assert "2026 年度累计完成 550.0 万元" in await tg.send(ADMIN, "确认补报")  # typed, as if pressed
    assert await _sums(tg) == {2026: Decimal(550), 2027: Decimal(100)}
    async with tg.session() as session:
        days = (await session.execute(select(Report.local_day, Report.amount).where(
            Report.withdrawn_at.is_(None)).order_by(Report.local_day))).all()
    assert [(d.isoformat(), a) for d, a in days] == [
        ("2026-12-28", Decimal(50)), ("2026-12-29", Decimal(100)), ("2026-12-30", Decimal(100)),
        ("2026-12-31", Decimal(300)), ("2027-01-04", Decimal(100))]

    card = (await tg.send(WU, f"/project {CODE}")).text
    assert "年度累计完成：100.0 万元" in card, card  # 2027's own figure untouched
    assert ("2026-12-31 没有填报，补报 300.0 万元（主体施工），管理员(区重大项目办) 2027-01-05 10:00 补报，"
            "理由：零点确认被取消") in card, card
    audit = (await tg.send(ADMIN, f"/audit {CODE}")).text
    assert "补报填报" in audit and "report.backfill" not in audit, audit

    # an amount that reads two ways is asked back, as a report's; nothing is entered until one is picked
    asked = await tg.send(ADMIN, f"/correct {CODE} 12-24 3 000 承台完成 理由：漏报")
    assert "可以有2种理解" in asked.text and len(asked.buttons) == 3, asked
    assert "请核对补报内容" in await tg.press(ADMIN, asked.buttons[1])
    assert "已取消补报" in await tg.press(ADMIN, "取消")
    assert "可以有2种理解" in await tg.send(ADMIN, f"/correct {CODE} 12-24 3 000 承台完成 理由：漏报")
    assert "继续，或发送 /cancel 取消补报" in await tg.send(ADMIN, "随便说说")
    await tg.send(ADMIN, "/cancel")
    assert await _sums(tg) == {2026: Decimal(550), 2027: Decimal(100)}

    # not today's (the liaison reports it), not a day off
    assert "当天的进度请由联络员用 /report 填报" in await tg.send(ADMIN, f"/correct {CODE} 01-05 10 理由：x")
    assert "不是工作日" in await tg.send(ADMIN, f"/correct {CODE} 2027-01-02 10 理由：x")
    assert await _sums(tg) == {2026: Decimal(550), 2027: Decimal(100)}

    # the next weekly bulletin notes the 补报 of a day the sent ones did not count
    office.travel(at(date(2027, 1, 11), 9))
    assert [p.period for p in await office.tick()] == ["2027-W01"]
    [w01] = [t for t in texts(GROUP, await office.deliver()) if "上期数据更正" in t]
    assert "ZD2026-002 滨江四期沿江路 2026-12-31 补报填报 300.0 万元（理由：零点确认被取消）" in w01, w01
