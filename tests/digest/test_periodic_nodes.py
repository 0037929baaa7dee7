"""The monthly and longer bulletins list milestones (节点) as the weekly one does (one definition,
bot.domain.node_lists): overdue on the day the bulletin goes out, done late since the period started, and due
in the next period; in the group text, the leaders' digests, the Excel ledger's 节点清单 and the Word bulletin."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from bot.domain.digest_settings import DigestSettings
from bot.domain.node_lists import period_ahead
from bot.domain.periods import due_day, parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from jobs.bulletin_render import Rendered, render_bulletin
from storage.db import Database

from .conftest import District

RENDERER = Renderer()
CALENDAR = WorkCalendar()
NOVEMBER = parse_period("monthly", "2026-11")  # goes out on Tuesday 1 December
Q3 = parse_period("quarterly", "2026-Q3")  # goes out on Thursday 8 October, after 国庆


async def render(db: Database, tmp_path: Path, period=NOVEMBER) -> Rendered:
    async with db.session() as session:
        return await render_bulletin(session, RENDERER, period=period, calendar=CALENDAR,
                                     settings=DigestSettings(), out_dir=tmp_path)


async def seed(district: District) -> None:
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")
    await district.project("ZD2026-002", unit="区交通局", lead="王立军")
    await district.node("ZD2026-001", "主体封顶", date(2026, 12, 20))  # due in December
    await district.node("ZD2026-001", "竣工验收", date(2027, 1, 3))  # the New Year rest days after December
    await district.node("ZD2026-001", "设备安装", date(2027, 1, 5))  # January's bulletin will list it
    await district.node("ZD2026-002", "桩基完成", date(2026, 11, 10))  # overdue 21 days on 1 December
    await district.node("ZD2026-002", "开工", date(2026, 11, 2), date(2026, 11, 20))  # done late in November
    await district.node("ZD2026-002", "土方开挖", date(2026, 10, 1), date(2026, 10, 30))  # late, in October
    await district.node("ZD2026-002", "规划许可", date(2026, 11, 20), date(2026, 11, 18))  # on time


def test_a_month_looks_ahead_to_the_next_month_and_the_rest_days_after_it() -> None:
    as_of = due_day(CALENDAR, NOVEMBER)
    assert as_of == date(2026, 12, 1)
    assert period_ahead(CALENDAR, NOVEMBER, as_of) == (date(2026, 12, 1), date(2027, 1, 3))
    # Two monthly bulletins in a row leave no day out: December's overdue list starts where November's ends.
    december = parse_period("monthly", "2026-12")
    assert due_day(CALENDAR, december) == date(2027, 1, 4)
    # The weekly one keeps its week.
    week = parse_period("weekly", "2026-W48")
    assert period_ahead(CALENDAR, week, date(2026, 11, 30)) == (date(2026, 11, 30), date(2026, 12, 6))
    # A quarter looks ahead to the end of the next quarter (and over New Year's Day).
    assert period_ahead(CALENDAR, Q3, due_day(CALENDAR, Q3)) == (date(2026, 10, 8), date(2027, 1, 3))


async def test_the_monthly_text_lists_nodes_missed_done_late_and_due_next_month(
        db: Database, district: District, tmp_path: Path) -> None:
    await seed(district)

    rendered = await render(db, tmp_path)

    nodes = rendered.text.split("📅 <b>项目节点</b>", 1)[1]
    assert ("⚠️ 逾期未完成 1 个：\n"
            "· 区交通局：ZD2026-002 项目ZD2026-002「桩基完成」计划 2026-11-10，已逾期 21 天") in nodes
    assert ("本月逾期完成 1 个：\n"
            "· 区交通局：ZD2026-002 项目ZD2026-002「开工」计划 2026-11-02，2026-11-20 完成，逾期 18 天") in nodes
    assert ("2026年12月（2026-12-01 至 2027-01-03）到期 2 个：\n"
            "· 区住建局：ZD2026-001 项目ZD2026-001「主体封顶」2026-12-20；"
            "ZD2026-001 项目ZD2026-001「竣工验收」2027-01-03") in nodes
    for absent in ("设备安装", "土方开挖", "规划许可", "下周"):
        assert absent not in rendered.text, absent
    mine = "\n".join(rendered.leaders[district.people["刘文华"]])
    assert "◇ 节点「主体封顶」计划 2026-12-20 完成（2026年12月到期）" in mine and "下周" not in mine


async def test_the_monthly_workbook_and_word_document_list_the_same_nodes(
        db: Database, district: District, tmp_path: Path) -> None:
    await seed(district)

    rendered = await render(db, tmp_path)

    sheet = load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes()))["节点清单"]
    rows = [(r[0], r[1], r[4]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows == [("逾期未完成", "ZD2026-002", "桩基完成"), ("逾期完成", "ZD2026-002", "开工"),
                    ("下月到期", "ZD2026-001", "主体封顶"), ("下月到期", "ZD2026-001", "竣工验收")]
    document = Document(str(rendered.files["document"]))
    paragraphs = [p.text for p in document.paragraphs if p.text.strip()]
    assert "五、项目节点" in paragraphs
    assert "（一）逾期未完成1个" in paragraphs and "（二）本月逾期完成1个" in paragraphs
    assert "（三）2026年12月到期（12月1日至2027年1月3日）2个" in paragraphs  # the year named where it turns
    node_tables = [t for t in document.tables if t.rows[0].cells[3].text == "节点"]
    cells = [[c.text for c in row.cells] for t in node_tables for row in t.rows[1:]]
    assert cells == [
        ["ZD2026-002", "项目ZD2026-002", "区交通局", "桩基完成", "2026-11-10", "21天"],
        ["ZD2026-002", "项目ZD2026-002", "区交通局", "开工", "2026-11-02", "2026-11-20", "18天"],
        ["ZD2026-001", "项目ZD2026-001", "区住建局", "主体封顶", "2026-12-20", "19天"],
        ["ZD2026-001", "项目ZD2026-001", "区住建局", "竣工验收", "2027-01-03", "33天"],
    ]


async def test_a_quarter_without_nodes_to_list_says_nothing_of_them(
        db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")

    rendered = await render(db, tmp_path, Q3)

    assert "项目节点" not in rendered.text
    paragraphs = [p.text for p in Document(str(rendered.files["document"])).paragraphs]
    assert not any("项目节点" in p for p in paragraphs)
    assert "区重点项目办〔2026〕第3期" in paragraphs  # the 文号 numbers the bulletin in its series


async def test_the_units_chart_says_which_period_it_is_of(
        db: Database, district: District, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import bot.chart

    titles: list[str] = []
    draw = bot.chart.group_chart
    monkeypatch.setattr(bot.chart, "group_chart", lambda groups, title: titles.append(title) or draw(groups, title))
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")

    rendered = await render(db, tmp_path)

    assert titles == ["牵头单位综合得分（2026-11，截至2026-11-30）"] and "units" in rendered.files


async def test_a_half_year_names_its_half(db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")
    await district.node("ZD2026-001", "开工", date(2026, 3, 2), date(2026, 3, 9))  # done late in the first half
    await district.node("ZD2026-001", "主体封顶", date(2026, 9, 30))

    rendered = await render(db, tmp_path, parse_period("halfyear", "2026-H1"))

    assert "上半年逾期完成 1 个" in rendered.text
    assert "2026年下半年（2026-07-01 至 2027-01-03）到期 1 个" in rendered.text


def test_the_annual_bulletin_looks_ahead_to_the_end_of_the_year_it_names() -> None:
    """2026's annual bulletin goes out on 2027-01-04 and heads its list 2027年度: it stops on 2027-12-31, not
    over 2028's New Year holiday (those days are 2028's)."""
    year = parse_period("annual", "2026")
    as_of = due_day(CALENDAR, year)
    assert as_of == date(2027, 1, 4)
    assert period_ahead(CALENDAR, year, as_of) == (date(2027, 1, 4), date(2027, 12, 31))


async def test_the_annual_text_lists_only_the_next_years_nodes_as_due(
        db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001", unit="区住建局", lead="刘文华")
    await district.node("ZD2026-001", "主体封顶", date(2027, 12, 30))
    await district.node("ZD2026-001", "竣工验收", date(2028, 1, 2))  # 2028's New Year holiday

    rendered = await render(db, tmp_path, parse_period("annual", "2026"))

    nodes = rendered.text.split("📅 <b>项目节点</b>", 1)[1]
    assert ("2027年度（2027-01-04 至 2027-12-31）到期 1 个：\n"
            "· 区住建局：ZD2026-001 项目ZD2026-001「主体封顶」2027-12-30") in nodes, nodes
    assert "竣工验收" not in rendered.text
    mine = "\n".join(rendered.leaders[district.people["刘文华"]])
    assert "主体封顶" in mine and "竣工验收" not in mine
