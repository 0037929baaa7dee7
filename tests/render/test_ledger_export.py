"""The Excel ledger: sheets, headers, number formats, local naive datetimes, verbatim text, widths."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from bot.clock import SHANGHAI
from bot.services.ledger_export import bulletin_filename, ledger_workbook
from tests.render.factories import make_event, make_group, make_problem, make_standing, make_standings

PROJECT_HEADERS = ["编号", "名称", "类别", "阶段", "实际开工", "竣工日期", "乡镇", "牵头单位", "包抓领导",
                   "联络员", "年度计划(万元)", "累计完成(万元)",
                   "完成率", "序时进度", "差距(百分点)", "预警", "最近填报", "节点按期率", "排名"]
PROBLEM_HEADERS = ["编号", "项目", "类别", "责任单位", "状态", "层级", "提出时间", "受理时限", "办结时限",
                   "销号时间", "问题", "办理记录"]


def shanghai_wall_clock(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI).replace(tzinfo=None)


def open_book(standings=None, problems=None) -> Workbook:
    data = ledger_workbook(make_standings() if standings is None else standings,
                           [make_problem()] if problems is None else problems)
    assert data[:2] == b"PK"  # a zip container
    return load_workbook(io.BytesIO(data))


def column(ws, header: str) -> int:
    return [c.value for c in ws[1]].index(header) + 1


def cell(ws, row: int, header: str):
    return ws.cell(row=row, column=column(ws, header))


def test_one_sheet_per_table_with_its_header() -> None:
    wb = open_book()
    assert wb.sheetnames == ["项目台账", "单位排名", "乡镇排名", "问题清单"]
    assert [c.value for c in wb["项目台账"][1]] == PROJECT_HEADERS
    assert [c.value for c in wb["问题清单"][1]] == PROBLEM_HEADERS
    assert [c.value for c in wb["单位排名"][1]][:3] == ["排名", "牵头单位", "项目数"]
    assert [c.value for c in wb["乡镇排名"][1]][:3] == ["排名", "乡镇", "项目数"]


def test_every_sheet_has_a_frozen_bold_header_and_an_auto_filter() -> None:
    wb = open_book()
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1]), ws.title
        assert ws.auto_filter.ref == f"A1:{ws.cell(row=1, column=ws.max_column).column_letter}{ws.max_row}"
    assert wb["项目台账"].auto_filter.ref == "A1:S2"


def test_number_formats_follow_the_column() -> None:
    ws = open_book()["项目台账"]
    assert cell(ws, 2, "年度计划(万元)").number_format == "#,##0.0"
    assert cell(ws, 2, "累计完成(万元)").number_format == "#,##0.0"
    assert cell(ws, 2, "完成率").number_format == "0.0%"
    assert cell(ws, 2, "序时进度").number_format == "0.0%"
    assert cell(ws, 2, "差距(百分点)").number_format == "+0.0;-0.0"
    assert cell(ws, 2, "最近填报").number_format == "yyyy-mm-dd hh:mm"
    units = open_book()["单位排名"]
    assert cell(units, 2, "综合得分").number_format == "0.0"
    assert cell(units, 2, "填报及时率").number_format == "0.0%"


def test_the_days_a_project_started_and_finished_are_dates_the_finish_only_while_finished() -> None:
    finished = make_standing(code="A", stage="竣工", started_on=date(2025, 3, 1), finished_on=date(2026, 11, 20))
    reopened = make_standing(code="B", stage="在建", started_on=date(2025, 3, 1), finished_on=date(2026, 11, 20))
    ws = open_book(make_standings([finished, reopened]))["项目台账"]
    read = [(cell(ws, row, "实际开工").value, cell(ws, row, "竣工日期").value) for row in (2, 3)]
    assert [tuple(day and day.date() for day in days) for days in read] == [
        (date(2025, 3, 1), date(2026, 11, 20)), (date(2025, 3, 1), None)]
    assert cell(ws, 2, "竣工日期").number_format == "yyyy-mm-dd"


def test_amounts_and_rates_are_numbers_not_text() -> None:
    project = make_standing(annual_plan=Decimal("12345.6789"), ytd_done=Decimal("0.0500"), rate=0.625,
                            gap=-12.25)
    ws = open_book(make_standings([project]))["项目台账"]
    headers = ("年度计划(万元)", "累计完成(万元)", "完成率", "差距(百分点)")
    plan, done, rate, gap = (cell(ws, 2, h) for h in headers)
    for c in (plan, done, rate, gap):
        assert c.data_type == "n" and isinstance(c.value, int | float), c.coordinate
    assert plan.value == pytest.approx(12345.6789)
    assert done.value == pytest.approx(0.05)
    assert rate.value == pytest.approx(0.625)
    assert gap.value == pytest.approx(-12.25)
    assert cell(ws, 2, "排名").value == 1


def test_node_punctuality_is_in_the_project_and_unit_sheets() -> None:
    """The same figure as the score's node part: the project's nodes done on time among those counted."""
    standings = make_standings([make_standing(nodes_on_time=3, nodes_due=4),
                                make_standing(code="ZD2026-002", rank=2)])
    standings = replace(standings, units=[make_group(nodes=0.75), make_group(name="区住建局", rank=2)])
    book = open_book(standings)
    assert cell(book["项目台账"], 2, "节点按期率").value == pytest.approx(0.75)
    assert cell(book["项目台账"], 3, "节点按期率").value is None  # no counted node
    assert cell(book["单位排名"], 2, "节点按期率").value == pytest.approx(0.75)
    assert cell(book["单位排名"], 3, "节点按期率").value is None


def test_text_survives_verbatim_and_never_becomes_a_formula() -> None:
    projects = [make_standing(name="城北<连接线>&二期"),
                make_standing(code="ZD2026-002", name="=HYPERLINK(\"http://x\",\"点我\")", rank=2),
                make_standing(code="ZD2026-003", name="控制\x07字符", rank=3)]
    ws = open_book(make_standings(projects))["项目台账"]
    assert cell(ws, 2, "名称").value == "城北<连接线>&二期"
    formula = cell(ws, 3, "名称")
    assert formula.value == "=HYPERLINK(\"http://x\",\"点我\")" and formula.data_type == "s"
    assert cell(ws, 4, "名称").value == "控制字符"


def test_datetimes_are_naive_shanghai_local_time() -> None:
    naive_utc = datetime(2026, 11, 12, 8, 15, tzinfo=UTC).replace(tzinfo=None)  # as SQLite returns it
    problem = make_problem(raised_at=datetime(2026, 11, 10, 1, 0, tzinfo=UTC), closed_at=naive_utc)
    wb = open_book(problems=[problem])
    reported = cell(wb["项目台账"], 2, "最近填报").value
    assert reported == shanghai_wall_clock(2026, 11, 14, 10, 30) and reported.tzinfo is None
    ws = wb["问题清单"]
    assert cell(ws, 2, "提出时间").value == shanghai_wall_clock(2026, 11, 10, 9, 0)
    assert cell(ws, 2, "销号时间").value == shanghai_wall_clock(2026, 11, 12, 16, 15)
    assert cell(ws, 2, "提出时间").number_format == "yyyy-mm-dd hh:mm"


def test_problem_status_and_level_are_in_chinese() -> None:
    problems = [make_problem(status="accepted", level=1),
                make_problem(number="WT2026-0002", status="closed", level=0),
                make_problem(number="WT2026-0003", status="open", level=3, response_due_at=None)]
    ws = open_book(problems=problems)["问题清单"]
    rows = [[cell(ws, r, h).value for h in ("编号", "状态", "层级", "项目")] for r in (2, 3, 4)]
    assert rows == [
        ["WT2026-0001", "办理中", "包抓领导", "ZD2026-001 城北高速连接线"],
        ["WT2026-0002", "已销号", "责任单位", "ZD2026-001 城北高速连接线"],
        ["WT2026-0003", "待受理", "区委书记/领导小组", "ZD2026-001 城北高速连接线"],
    ]
    assert cell(ws, 4, "受理时限").value is None


def test_projects_are_listed_by_rank_with_unranked_last_and_lights_in_words() -> None:
    projects = [make_standing(code="ZD2026-009", rank=None, rate=None, gap=None, light="none"),
                make_standing(code="ZD2026-002", rank=2, light="red"),
                make_standing(code="ZD2026-001", rank=1, light="green")]
    ws = open_book(make_standings(projects))["项目台账"]
    assert [cell(ws, r, "编号").value for r in (2, 3, 4)] == ["ZD2026-001", "ZD2026-002", "ZD2026-009"]
    assert [cell(ws, r, "预警").value for r in (2, 3, 4)] == ["绿灯", "红灯", "无计划"]
    assert cell(ws, 3, "预警").fill.fgColor.rgb.endswith("FFC7CE")
    assert cell(ws, 4, "完成率").value is None and cell(ws, 4, "排名").value is None


def test_group_sheets_hold_scores_by_rank() -> None:
    standings = make_standings(towns=[make_group(name="北塬镇", score=None, rank=None),
                                      make_group(name="城关镇", score=90.25, rank=1, punctuality=0.875)])
    ws = open_book(standings)["乡镇排名"]
    assert [cell(ws, r, "乡镇").value for r in (2, 3)] == ["城关镇", "北塬镇"]
    assert cell(ws, 2, "综合得分").value == pytest.approx(90.25)
    assert cell(ws, 2, "填报及时率").value == pytest.approx(0.875)
    assert cell(ws, 3, "综合得分").value is None


def test_column_widths_fit_chinese_content() -> None:
    long_name = "城北片区综合开发暨老旧小区改造工程"  # 17 CJK characters: 34 columns
    events = tuple(make_event(kind="comment", text="反复协调" * 10) for _ in range(4))
    wb = open_book(make_standings([make_standing(name=long_name)]), [make_problem(events=events)])
    ws = wb["项目台账"]
    widths = {h: ws.column_dimensions[ws.cell(row=1, column=column(ws, h)).column_letter].width
              for h in ("编号", "名称", "年度计划(万元)", "包抓领导")}
    assert widths["名称"] >= 34
    assert widths["名称"] > widths["编号"] > 10
    assert widths["年度计划(万元)"] >= 14  # the header is wider than the figure
    assert widths["包抓领导"] >= 10  # 4 CJK characters count 8
    problems = wb["问题清单"]
    record = problems.cell(row=2, column=column(problems, "办理记录"))
    assert problems.column_dimensions[record.column_letter].width == 60  # capped, and wrapped
    assert record.alignment.wrap_text


def test_empty_lists_leave_header_only_sheets() -> None:
    wb = open_book(make_standings([], units=[], towns=[]), problems=[])
    for ws in wb.worksheets:
        assert ws.max_row == 1 and ws.auto_filter.ref.endswith("1")


def test_bulletin_filename() -> None:
    assert bulletin_filename("ledger", "2026-W47") == "重点项目台账_2026-W47.xlsx"
    assert bulletin_filename("ranking", "2026-W47") == "重点项目完成率排名_2026-W47.png"
    assert bulletin_filename("ledger", "2026/11 第2期") == "重点项目台账_2026-11-第2期.xlsx"
    with pytest.raises(ValueError):
        bulletin_filename("weekly", "2026-W47")
