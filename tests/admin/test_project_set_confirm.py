"""/project_set: a plan change that moves the completion rate a lot waits for 确认 and shows its consequence;
the name and the category can be changed. Through the Router with console accounts on the sample ledger
(ZD2026-001: annual plan 40,800 万元, 26,051 万元 done this year, so 完成率 63.9 %)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from bot.domain.plan_change import plan_change
from storage.models import Project
from tests.admin.admin_support import ADMIN_NAME, Desk

CODE = "ZD2026-001"


async def stored(desk: Desk) -> Project:
    async with desk.session() as session:
        found = await session.scalar(select(Project).where(Project.code == CODE))
        assert found is not None
        return found


async def test_a_big_plan_cut_shows_the_new_rate_and_waits_for_confirmation(desk: Desk) -> None:
    asked = await desk.send(ADMIN_NAME, f"/project_set {CODE} 年度计划 12000")

    assert "请确认" in asked and "尚未修改" in asked
    assert "40,800.0 万元 改为 12,000.0 万元（变动 -70.6%）".replace("(", "（").replace(")", "）") in asked
    assert "完成率将由 63.9% 变为 217.1%" in asked and "超过 120.0%" in asked
    assert desk.labels(ADMIN_NAME) == ["确认修改", "取消"]
    assert (await stored(desk)).annual_plan == Decimal(40800)
    assert await desk.audits("project.update") == []

    done = await desk.press(ADMIN_NAME, "确认修改")

    assert "40,800.0 万元 → 12,000.0 万元" in done
    assert (await stored(desk)).annual_plan == Decimal(12000)
    [entry] = await desk.audits("project.update")
    assert entry.detail == {"field": "plan", "before": "40,800.0 万元", "after": "12,000.0 万元"}
    assert "年度计划投资 40,800.0 万元 → 12,000.0 万元" in await desk.send(ADMIN_NAME, f"/audit {CODE}")


async def test_a_cancelled_plan_change_changes_nothing(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, f"/project_set {CODE} plan 60000")

    cancelled = await desk.press(ADMIN_NAME, "取消")

    assert "未修改" in cancelled
    assert (await stored(desk)).annual_plan == Decimal(40800)
    assert await desk.audits("project.update") == []
    assert "按钮已失效" in await desk.tap(ADMIN_NAME, "ps:ok")


async def test_a_small_plan_change_applies_at_once(desk: Desk) -> None:
    reply = await desk.send(ADMIN_NAME, f"/project_set {CODE} 年度计划 30000")  # -26.5 %, 完成率 86.8 %

    assert "请确认" not in reply and "40,800.0 万元 → 30,000.0 万元" in reply
    assert (await stored(desk)).annual_plan == Decimal(30000)


async def test_a_non_admin_cannot_press_confirm(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, f"/project_set {CODE} 年度计划 12000")

    assert "没有权限" in await desk.tap("郝芳", "ps:ok")
    assert (await stored(desk)).annual_plan == Decimal(40800)


async def test_name_and_category_can_be_changed_and_are_audited(desk: Desk) -> None:
    renamed = await desk.send(ADMIN_NAME, f"/project_set {CODE} 项目名称 城北高速连接线（一期）")
    assert "项目名称：城北高速连接线 → 城北高速连接线（一期）" in renamed
    category = await desk.send(ADMIN_NAME, f"/project_set {CODE} 类别 交通基础设施")
    assert "项目类别" in category and "交通基础设施" in category

    project = await stored(desk)
    assert (project.name, project.category) == ("城北高速连接线（一期）", "交通基础设施")
    trail = await desk.send(ADMIN_NAME, f"/audit {CODE}")
    assert "修改项目信息：项目名称 城北高速连接线 → 城北高速连接线（一期）" in trail
    assert "项目类别" in trail and "交通基础设施" in trail
    too_long = await desk.send(ADMIN_NAME, f"/project_set {CODE} 名称 " + "长" * 201)
    assert "项目名称最多 200 个字，这里有 201 个字" in too_long


def test_plan_change_rule() -> None:
    cut = plan_change(Decimal(45000), Decimal(12000), Decimal(26900))
    assert cut.big_change and cut.over_rate and cut.needs_confirmation
    assert round(cut.rate_after or 0, 3) == 2.242
    small = plan_change(Decimal(40800), Decimal(45000), Decimal(26051))
    assert not small.needs_confirmation
    over = plan_change(Decimal(25000), Decimal(22000), Decimal(27000))  # -12 % but 完成率 122.7 %
    assert over.over_rate and not over.big_change and over.needs_confirmation
    from_zero = plan_change(Decimal(0), Decimal(1000), Decimal(0))
    assert from_zero.change is None and from_zero.needs_confirmation
    assert not plan_change(Decimal(1000), Decimal(1300), Decimal(0)).needs_confirmation  # exactly 30 %
