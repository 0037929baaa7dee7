"""/rank through the real channels with a time-travelled clock: each line's change since last Sunday (名次 ↑/↓,
持平, 新上榜, completion points), and /rank 填报 (填报率 over four weeks with a leave, a weekend and a
finished project not due, and its heat map), on Telegram (the real PTB Application, fake Bot API) here and
on WeCom (the real callback endpoint, fake WeCom server) in tests/wecom/test_rank_trends.py, one scenario.

The ledger was entered on Sunday 11/01, except ZD2026-042, entered on Monday 11/23 (新上榜 since 11/22).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import delete, func, select, update

from bot.clock import SHANGHAI
from bot.domain.bulletin_cut import bulletin_cuts
from bot.services.standings import current_standings
from storage.models import AnnualPlan, Person, Project, ProjectNode, Unit
from tests.e2e.harness import ChannelHarness, TelegramHarness

Say = Callable[[str, str], Awaitable[str]]  # (who, text) → what the bot answered, as shown


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


async def _entered(harness: ChannelHarness) -> None:
    async with harness.session() as session:
        await session.execute(update(Project).values(created_at=at(11, 1, 8)))
        await session.execute(update(Project).where(Project.code == "ZD2026-042").values(created_at=at(11, 23, 8)))


async def changes_since_sunday(harness: ChannelHarness, say: Say) -> None:
    """Monday 11/23 武杰 reports 15,000 of ZD2026-002's 21,000 (0 % → 71.4 %: above ZD2026-013 and ZD2026-001)
    and 郝芳 408 of ZD2026-001's 40,800 (+1.0 point, one place down); the top of the ranking did not move."""
    await _entered(harness)
    harness.clock.set(at(11, 23))
    assert "已记录" in await say("wu", "/report ZD2026-002 15000 土方开挖")
    assert "已记录" in await say("hao", "/report ZD2026-001 408 主体施工")

    harness.clock.set(at(11, 24))
    hao = await say("hao", "/rank")
    assert "名次和完成率变化均较上期（截至 2026-11-22）。" in hao
    assert "ZD2026-001 城北高速连接线：第 12/41 名" in hao and "较上期名次↓1，完成率 +1.0 个百分点" in hao
    wu = await say("wu", "/rank")
    assert "ZD2026-002 滨江四期沿江路：第 10/41 名" in wu and "较上期名次↑" in wu
    assert "完成率 +71.4 个百分点" in wu
    unit = await say("ye", "/rank")  # 区卫健局's handler: its projects, ZD2026-042 among them
    assert "ZD2026-042" in unit and "较上期新上榜" in unit
    admin = await say("admin", "/rank")
    assert "1. ZD2026-021 焦化150万吨捣固焦 100.0% 持平 0.0" in admin


async def participation_scenario(harness: ChannelHarness, say: Say) -> None:
    """Four weeks to Friday 11/27 (weekends not due): 郝芳 reports 11/23 and 11/24 and is on leave from 11/25;
    ZD2026-016 is finished (owes nothing); ZD2026-031's liaison never reports."""
    await _entered(harness)
    async with harness.session() as session:
        await session.execute(update(Project).where(Project.code == "ZD2026-016").values(stage="竣工"))
    for day in (23, 24):
        harness.clock.set(at(11, day))
        assert "已记录" in await say("hao", f"/report ZD2026-001 {day} 主体施工")
    assert "已登记请假" in await say("hao", "/leave 11-25 11-27")

    harness.clock.set(at(11, 27, 17))
    hao = await say("hao", "/rank 填报")
    assert "近四周填报率" in hao and "（2026-11-02 至 2026-11-27）" in hao
    assert "今日（2026-11-27）尚未结束，当天填报情况次日计入。" in hao
    assert "本人" in hao and "11.8%（2/17）：0.0% → 0.0% → 0.0% → 100.0%" in hao  # 5 + 5 + 5 + 2 days due
    unit = await say("zhao", "/rank 填报")
    # ZD2026-031's 19 days over, none reported: Friday, still under way, is not missed yet
    assert "区住建局" in unit and "5.6%（2/36）" in unit
    assert "郝芳 11.8%" in unit and "孔芳 0.0%（0/19）" in unit and "严超" not in unit  # his project is 竣工
    admin = await say("admin", "/rank 填报")
    assert "各牵头单位" in admin and "区住建局 5.6%（2/36）" in admin and "全区：" in admin

    harness.clock.set(at(11, 28))  # Saturday morning: Friday is over and counts
    unit = await say("zhao", "/rank 填报")
    assert "区住建局" in unit and "5.4%（2/37）" in unit and "孔芳 0.0%（0/20）" in unit


async def a_day_under_way(harness: ChannelHarness, say: Say) -> None:
    """Monday 11/23 at 10:00, the district's first day in the bot: 郝芳 has reported ZD2026-001, nobody else
    yet. Nothing is missed before the evening: the week's 填报率 has nothing due yet (a dash, not 0.0 %), and
    her report today does not lift it either; on Tuesday, Monday counts."""
    async with harness.session() as session:
        await session.execute(update(Project).values(created_at=at(11, 23, 8)))
    harness.clock.set(at(11, 23))
    assert "已记录" in await say("hao", "/report ZD2026-001 23 主体施工")
    unit = await say("zhao", "/rank 填报")
    assert "<b>区住建局</b>：—（0/0）：— → — → — → —" in unit and "郝芳 —（0/0）" in unit and "0.0%" not in unit
    harness.clock.set(at(11, 24))
    unit = await say("zhao", "/rank 填报")
    assert "郝芳 100.0%（1/1）" in unit and "孔芳 0.0%（0/1）" in unit


# --- Telegram ----------------------------------------------------------------------------------------

TG_PEOPLE = {"hao": (1001, "郝芳", "liaison"), "wu": (1002, "武杰", "liaison"), "ye": (3007, "叶志刚", "unit"),
             "zhao": (3003, "赵芳", "unit"), "admin": (9001, "管理员(区重大项目办)", "admin")}


async def _telegram(telegram: TelegramHarness, photos: list[bytes]) -> Say:
    for user, name, role in TG_PEOPLE.values():
        await telegram.bind(user, name, role)

    async def say(who: str, text: str) -> str:
        replies = await telegram.send(TG_PEOPLE[who][0], text)
        photos.extend(next(iter(c.files.values())) for c in replies.calls if c.method == "sendPhoto" and c.ok)
        captions = [c["caption"] for c in replies.calls if c.method == "sendPhoto" and c.ok and c["caption"]]
        return "\n\n".join([*replies.texts, *captions])

    return say


async def test_rank_changes_on_telegram(telegram: TelegramHarness) -> None:
    await changes_since_sunday(telegram, await _telegram(telegram, []))


async def test_rank_participation_on_telegram_with_its_heat_map(telegram: TelegramHarness) -> None:
    photos: list[bytes] = []
    await participation_scenario(telegram, await _telegram(telegram, photos))
    assert len(photos) == 3  # 赵芳's (her unit's liaisons, twice) and the admin's (every unit); 郝芳 gets none
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 5_000 for p in photos)
    helped = await telegram.send(1001, "/help")
    assert "/rank — 查看当前排名和近四周填报率" in helped.text and "/rank 填报" in helped.text


async def test_rank_participation_waits_for_the_day_to_end_on_telegram(telegram: TelegramHarness) -> None:
    await a_day_under_way(telegram, await _telegram(telegram, []))


async def test_a_units_place_counts_only_the_ranked_units(telegram: TelegramHarness) -> None:
    """Lead units with nothing to score (no plan for the year, nothing due, no problem, no node) are not ranked:
    a unit handler's 第 X/N 名 counts the ranked units only, as the bulletins do (另有 … 不排名), and the handler
    of an unranked unit is told so rather than given a place."""
    say = await _telegram(telegram, [])
    await _entered(telegram)
    async with telegram.session() as session:
        counts = (await session.execute(
            select(Unit.id, Unit.name).join(Project, Project.lead_unit_id == Unit.id)
            .where(Unit.name.not_in(["区住建局", "区卫健局"])).group_by(Unit.id, Unit.name)
            .order_by(func.count(Project.id), Unit.name).limit(3))).all()
        idle = [unit_id for unit_id, _name in counts]
        projects = select(Project.id).where(Project.lead_unit_id.in_(idle))
        await session.execute(delete(AnnualPlan).where(AnnualPlan.project_id.in_(projects)))
        await session.execute(delete(ProjectNode).where(ProjectNode.project_id.in_(projects)))
        await session.execute(update(Project).where(Project.lead_unit_id.in_(idle))
                              .values(stage="竣工", baseline_year=2025))
    telegram.clock.set(at(11, 24))
    async with telegram.session() as session:
        s = await current_standings(session, today=at(11, 24).date())
    ranked = [g for g in s.units if g.rank is not None]
    unscored = {g.name for g in s.units if g.rank is None}
    assert unscored == {name for _id, name in counts} and len(ranked) == len(s.units) - 3
    assert len(s.ranked_units) == len(ranked) and bulletin_cuts(s, top_n=5, red_max=5).unscored_units == 3
    zhao = next(g for g in s.units if g.name == "区住建局")

    text = await say("zhao", "/rank")
    assert f"<b>区住建局</b>：牵头单位第 {zhao.rank}/{len(ranked)} 名" in text, text
    assert f"/{len(s.units)} 名" not in text
    assert f"第 {next(p.rank for p in s.projects if p.code == 'ZD2026-001')}/{len(s.ranked)} 名" in text

    # The handler of a unit with nothing to score: no place, and why.
    idle_name = counts[0][1]
    async with telegram.session() as session:
        await session.execute(update(Person).where(Person.name == "叶志刚")
                              .values(unit_id=select(Unit.id).where(Unit.name == idle_name).scalar_subquery()))
    text = await say("ye", "/rank")
    assert f"<b>{idle_name}</b>：本期无可计分数据，不参与牵头单位排名（共 {len(ranked)} 个单位参与排名）" in text, text
    assert "第 —/" not in text and "不参与排名，完成率 —（无年度计划）" in text  # its projects: no plan, no place
