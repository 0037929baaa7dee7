"""The weekly bulletin's milestones (节点): due in the week ahead, overdue, done late, read from the database and
rendered as the bulletin job renders them (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.stage_events import DAY_TYPED, FINISH, REOPEN, StageMove
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from jobs.bulletin_render import Rendered, render_bulletin
from storage import stage_events
from storage.db import Database
from storage.models import Project
from storage.node_queries import node_counts
from storage.project_figures import project_figures

from .conftest import District, local

RENDERER = Renderer()
CALENDAR = WorkCalendar()
W39 = parse_period("weekly", "2026-W39")  # 21-27 September 2026; it goes out on Monday 28, before 国庆


async def render(db: Database, tmp_path: Path, period=W39, settings: DigestSettings | None = None) -> Rendered:
    async with db.session() as session:
        return await render_bulletin(session, RENDERER, period=period, calendar=CALENDAR,
                                     settings=settings or DigestSettings(), out_dir=tmp_path)


async def seed(district: District) -> None:
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")
    await district.project("ZD2026-002", unit="区交通局", lead="王立军")
    await district.project("ZD2026-003", unit="区住建局", lead="刘文华")
    await district.node("ZD2026-001", "主体封顶", date(2026, 10, 10))  # the 调休 Saturday after the holiday
    await district.node("ZD2026-001", "竣工验收", date(2026, 10, 12))  # after the window
    await district.node("ZD2026-001", "围挡施工", date(2026, 9, 28))  # due on the bulletin's day
    await district.node("ZD2026-002", "桩基完成", date(2026, 9, 15))  # overdue 13 days on the 28th
    await district.node("ZD2026-002", "开工", date(2026, 9, 10), date(2026, 9, 22))  # done late this week
    await district.node("ZD2026-002", "土方开挖", date(2026, 9, 1), date(2026, 9, 5))  # late, but weeks ago
    await district.node("ZD2026-003", "规划许可", date(2026, 9, 20), date(2026, 9, 18))  # on time
    await district.node("ZD2026-003", "征迁完成", date(2026, 10, 1), removed=True)  # taken off the plan


async def test_the_weekly_bulletin_lists_nodes_ahead_across_the_holiday_and_missed(
        db: Database, district: District, tmp_path: Path) -> None:
    await seed(district)

    rendered = await render(db, tmp_path)

    text = rendered.text
    nodes = text.split("📅 <b>项目节点</b>", 1)[1]
    assert ("⚠️ 逾期未完成 1 个：\n"
            "· 区交通局：ZD2026-002 项目ZD2026-002「桩基完成」计划 2026-09-15，已逾期 13 天") in nodes
    assert ("本周逾期完成 1 个：\n"
            "· 区交通局：ZD2026-002 项目ZD2026-002「开工」计划 2026-09-10，2026-09-22 完成，逾期 12 天") in nodes
    ahead = nodes.split("下周（2026-09-28 至 2026-10-11）到期 2 个：", 1)[1]
    assert ahead.startswith("\n· 区住建局：ZD2026-001 项目ZD2026-001「围挡施工」2026-09-28；"
                            "ZD2026-001 项目ZD2026-001「主体封顶」2026-10-10")
    for absent in ("竣工验收", "土方开挖", "规划许可", "征迁完成"):
        assert absent not in text, absent
    assert "节点清单" not in text  # nothing was left out


async def test_a_leaders_digest_shows_his_projects_nodes(db: Database, district: District, tmp_path: Path) -> None:
    await seed(district)

    rendered = await render(db, tmp_path)

    mine = "\n".join(rendered.leaders[district.people["刘文华"]])
    theirs = "\n".join(rendered.leaders[district.people["王立军"]])
    assert "◇ 节点「围挡施工」计划 2026-09-28 完成（下周到期）" in mine
    assert "◇ 节点「主体封顶」计划 2026-10-10 完成（下周到期）" in mine
    assert "桩基完成" not in mine and "主体封顶" not in theirs
    assert "◇ 节点「桩基完成」计划 2026-09-15，已逾期 13 天未完成" in theirs
    assert "◆ 节点「开工」计划 2026-09-10，2026-09-22 逾期完成（逾期 12 天）" in theirs


async def test_long_lists_are_cut_and_given_in_full_in_the_workbook(
        db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001", unit="区住建局")
    for n in range(1, 8):
        await district.node("ZD2026-001", f"节点{n}", date(2026, 9, n))  # all overdue
    settings = DigestSettings(bulletin_top_n=3)

    rendered = await render(db, tmp_path, settings=settings)

    assert "⚠️ 逾期未完成 7 个（列逾期最久的 3 个）" in rendered.text
    assert "「节点3」" in rendered.text and "「节点4」" not in rendered.text
    assert "其余节点见附件 Excel 台账“节点清单”。" in rendered.text
    book = load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes()), read_only=True)
    rows = list(book["节点清单"].iter_rows(values_only=True))
    assert rows[0][:5] == ("类别", "项目编号", "项目名称", "牵头单位", "节点")
    assert [(r[0], r[4], r[7]) for r in rows[1:3]] == [("逾期未完成", "节点1", 27), ("逾期未完成", "节点2", 26)]
    assert len(rows) == 8


async def test_a_week_without_nodes_says_nothing_of_them(db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001")

    rendered = await render(db, tmp_path)

    assert "项目节点" not in rendered.text


async def test_a_past_bulletin_read_again_after_its_project_finished_is_as_it_was(
        db: Database, district: District, tmp_path: Path) -> None:
    """ZD2026-002 is confirmed 竣工 on 15 October, after W39's bulletin went out (28 September): read again, W39
    still lists its node missed then (the group's text, its leader's digest, 节点清单, 节点按期率), and its nodes
    not done are closed only in the bulletins from that day on."""
    await seed(district)
    async with db.session() as session:
        project = await session.get(Project, district.projects["ZD2026-002"])
        assert project is not None
        await stage_events.report(session, project=project, kind=FINISH, day=date(2026, 10, 15), person_id=None,
                                  now=local(date(2026, 10, 16)), confirmed=True)
        assert project.stage == "竣工"

    rendered = await render(db, tmp_path)

    assert "ZD2026-002 项目ZD2026-002「桩基完成」计划 2026-09-15，已逾期 13 天" in rendered.text
    theirs = "\n".join(rendered.leaders[district.people["王立军"]])
    assert "◇ 节点「桩基完成」计划 2026-09-15，已逾期 13 天未完成" in theirs
    book = load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes()), read_only=True)
    assert ("逾期未完成", "桩基完成") in {(r[0], r[4]) for r in book["节点清单"].iter_rows(values_only=True)}
    code = district.projects["ZD2026-002"]
    async with db.session() as session:
        assert (await node_counts(session, cutoff=date(2026, 9, 28)))[code] == (0, 3)  # 桩基完成 a miss
        assert (await node_counts(session, cutoff=date(2026, 10, 19)))[code] == (0, 2)  # closed from the 15th

    after = await render(db, tmp_path, period=parse_period("weekly", "2026-W42"))  # goes out 19 October
    assert "桩基完成" not in after.text
    assert "桩基完成" not in "\n".join(after.leaders.get(district.people["王立军"], []))


async def test_a_project_finished_reopened_and_finished_again_is_read_in_its_stage_of_each_day(
        db: Database, district: District, tmp_path: Path) -> None:
    """ZD2026-002 is finished on 20 September, set back to 在建 on 1 October (a mistake found), finished again on
    15 October: W39's bulletin (28 September) has its nodes closed and the project 竣工, W40's and W41's have
    桩基完成 overdue again and the project 在建, W42's closed again; whenever they are made."""
    await seed(district)
    code = district.projects["ZD2026-002"]
    moves = [(FINISH, date(2026, 9, 20)), (REOPEN, date(2026, 10, 1)), (FINISH, date(2026, 10, 15))]
    async with db.session() as session:
        for kind, day in moves:
            await stage_events.record_moves(session, [StageMove(code, kind, day, DAY_TYPED)], person_id=None,
                                            now=local(date(2026, 10, 16)))
        project = await session.get(Project, code)
        assert project is not None
        project.stage = "竣工"

    async with db.session() as session:
        counts = [(await node_counts(session, cutoff=day))[code]
                  for day in (date(2026, 9, 28), date(2026, 10, 12), date(2026, 10, 19))]
        stages = [next(p.stage for p in (await project_figures(
            session, cutoff=day, window_start=day, calendar=CALENDAR)).projects if p.id == code)
            for day in (date(2026, 9, 19), date(2026, 9, 28), date(2026, 10, 12), date(2026, 10, 19))]
    assert counts == [(0, 2), (0, 3), (0, 2)]  # 桩基完成 closed, a miss again, closed again
    assert stages == ["在建", "竣工", "在建", "竣工"]

    assert "桩基完成" not in (await render(db, tmp_path)).text
    reopened = await render(db, tmp_path, period=parse_period("weekly", "2026-W41"))  # goes out 12 October
    assert "ZD2026-002 项目ZD2026-002「桩基完成」计划 2026-09-15，已逾期 27 天" in reopened.text
    assert "桩基完成" not in (await render(db, tmp_path, period=parse_period("weekly", "2026-W42"))).text
