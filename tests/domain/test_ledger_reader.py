"""The read+validate half of the ledger import (bot.ledger.read_ledger)."""

from __future__ import annotations

import csv
import dataclasses
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ledger import (
    PEOPLE_COLUMNS,
    PEOPLE_SHEET,
    PROJECT_COLUMNS,
    PROJECT_SHEET,
    ImportIssue,
    PersonRow,
    ProjectRow,
    read_ledger,
)

DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo"
SAMPLE_XLSX = DEMO / "projects_sample.xlsx"
SAMPLE_PROJECTS_CSV = DEMO / "projects_sample.csv"
SAMPLE_PEOPLE_CSV = DEMO / "people_sample.csv"

GOOD_PROJECT = {
    "项目编号": "ZD2026-001",
    "项目名称": "城北高速连接线",
    "项目类别": "基础设施",
    "项目级别": "市级",
    "建设地点": "龙首新区",
    "项目业主": "区交通投资公司",
    "总投资(万元)": "68000",
    "年度计划投资(万元)": "40800",
    "截至上月累计完成(万元)": "26051",
    "建设阶段": "在建",
    "计划开工": "2026-07-01",
    "计划竣工": "2027-12-30",
    "包抓领导": "刘文华(副区长(城建))",
    "牵头单位": "区住建局",
    "配合单位": "区工信局、区发改局、城北街道",
    "首办秘书(联络员)": "郝芳",
    "联络员手机": "13900007919",
}

ZD2026_001 = ProjectRow(
    row=3,
    code="ZD2026-001",
    name="城北高速连接线",
    category="基础设施",
    level="市级",
    location="龙首新区",
    owner="区交通投资公司",
    total_investment=Decimal(68000),
    annual_plan=Decimal(40800),
    done_before=Decimal(26051),
    stage="在建",
    planned_start=date(2026, 7, 1),
    planned_finish=date(2027, 12, 30),
    lead_official="刘文华",
    lead_official_title="副区长(城建)",
    lead_unit="区住建局",
    supporting_units=("区工信局", "区发改局", "城北街道"),
    liaison="郝芳",
    liaison_phone="13900007919",
)

# Rows 2..7 of a small people CSV: every unit GOOD_PROJECT names, and its lead official.
BASE_PEOPLE = [
    ["郝芳", "联络员", "区住建局", "13900007919", "ZD2026-001"],
    ["胡杰", "单位经办人", "区工信局", "13800209458", ""],
    ["王刚", "单位经办人", "区发改局", "13800000000", ""],
    ["段桂英", "单位经办人", "城北街道", "13801152019", ""],
    ["刘文华", "包抓领导", "副区长(城建)", "", ""],
    ["李明德", "区主要领导", "区委书记", "", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def project_csv(tmp_path: Path, *rows: dict[str, object], name: str = "projects.csv") -> Path:
    cells = [[r.get(c, "") for c in PROJECT_COLUMNS] for r in rows]
    return write_csv(tmp_path / name, list(PROJECT_COLUMNS), cells)


def people_csv(tmp_path: Path, *extra: list[object], name: str = "people.csv") -> Path:
    return write_csv(tmp_path / name, list(PEOPLE_COLUMNS), [*BASE_PEOPLE, *extra])


def second_project(**overrides: object) -> dict[str, object]:
    return {**GOOD_PROJECT, "项目编号": "ZD2026-002", **overrides}


def without_row(rows: list) -> list:
    return [dataclasses.replace(r, row=0) for r in rows]


# --------------------------------------------------------------------------------------------
# The sample ledger shipped in bot/demo


def test_sample_xlsx_reads_clean_and_reports_progress_per_row():
    calls: list[int] = []
    ledger = read_ledger([SAMPLE_XLSX], progress=calls.append)
    assert ledger.issues == []
    assert len(ledger.projects) == 42
    assert len(ledger.people) == 67
    assert ledger.nodes_read and len(ledger.nodes) == 197
    assert calls == [1] * (42 + 67 + 197)
    assert [p.code for p in ledger.projects] == [f"ZD2026-{n:03d}" for n in range(1, 43)]
    assert ledger.projects[0].row == 3  # row 1 is the title, row 2 the header
    assert ledger.people[0].row == 2


def test_sample_first_project_parsed_exactly():
    ledger = read_ledger([SAMPLE_XLSX])
    assert ledger.projects[0] == ZD2026_001


def test_sample_csv_twins_equal_the_xlsx():
    from_xlsx = read_ledger([SAMPLE_XLSX])
    from_csv = read_ledger([SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV])
    assert from_csv.issues == []
    assert without_row(from_csv.projects) == without_row(from_xlsx.projects)
    assert without_row(from_csv.people) == without_row(from_xlsx.people)
    assert from_csv.projects[0].row == 2  # the CSV has no title row


def test_sample_people_roles_units_and_titles():
    people = {p.name: p for p in read_ledger([SAMPLE_XLSX]).people}
    roles = [p.role for p in people.values()]
    counts = {r: roles.count(r) for r in set(roles)}
    assert counts == {"liaison": 42, "lead": 5, "top": 2, "unit": 17, "admin": 1}
    assert people["郝芳"] == PersonRow(2, "郝芳", "liaison", "区住建局", None, "13900007919", ("ZD2026-001",))
    assert people["马志强"] == PersonRow(48, "马志强", "lead", None, "区委常委、开发区党工委书记", None, ())
    assert people["李明德"].role == "top" and people["李明德"].title == "区委书记"
    assert people["管理员(区重大项目办)"].unit == "区重大项目办"


def test_sample_projects_alone_need_known_units_but_not_leads():
    units = {p.unit for p in read_ledger([SAMPLE_PEOPLE_CSV]).people if p.unit}
    ledger = read_ledger([SAMPLE_PROJECTS_CSV], known_units=units)
    assert ledger.issues == []  # no people table: 包抓领导 is left to the caller
    assert len(ledger.projects) == 42

    unknown = read_ledger([SAMPLE_PROJECTS_CSV], known_units=["区外事办"])
    assert unknown.projects == []
    assert str(unknown.issues[0]) == (
        "「projects_sample.csv」第2行【牵头单位】：未知单位「区住建局」："
        "不在系统单位中，也不是人员名单中联络员/单位经办人的单位"
    )
    assert {i.column for i in unknown.issues} == {"牵头单位", "配合单位"}


def test_projects_without_a_roster_into_an_empty_database_give_one_line():
    ledger = read_ledger([SAMPLE_PROJECTS_CSV])
    assert ledger.projects == []
    assert [str(i) for i in ledger.issues] == [
        "「人员名单」：未提供。系统中还没有任何单位和人员，首次导入须同时提供人员名单"
        "（同一工作簿中的「人员名单」表，或另一个人员名单 CSV 文件），项目表才能核对单位"
    ]


def test_the_baseline_day_is_read_from_a_title_or_a_dated_header(tmp_path):
    assert read_ledger([SAMPLE_XLSX]).as_of is None  # 「截至上月」 names no day
    workbook = openpyxl.load_workbook(SAMPLE_XLSX)
    sheet = workbook["重点项目包抓责任分解表"]
    sheet["A1"] = "2026年全区重点项目包抓责任分解表（截至2026年11月30日）"
    titled = tmp_path / "titled.xlsx"
    workbook.save(titled)
    assert read_ledger([titled]).as_of == date(2026, 11, 30)
    sheet["A1"] = "2026年全区重点项目包抓责任分解表"
    sheet["I2"] = "截止2026年10月底累计完成（万元）"
    headed = tmp_path / "headed.xlsx"
    workbook.save(headed)
    ledger = read_ledger([headed])
    assert ledger.issues == [] and ledger.as_of == date(2026, 10, 31)
    assert ledger.projects[0].done_before == ZD2026_001.done_before


def _two_project_sheets(tmp_path: Path, first: str, second: str) -> Path:
    """The sample workbook with its projects in two sheets (城区项目, 镇街项目), titled `first` and `second`."""
    workbook = openpyxl.load_workbook(SAMPLE_XLSX)
    town = workbook["重点项目包抓责任分解表"]
    town.title = "城区项目"
    towns = workbook.copy_worksheet(town)
    towns.title = "镇街项目"
    for (cell,) in towns.iter_rows(min_row=3, max_col=1):
        if cell.value:
            cell.value = str(cell.value).replace("ZD2026-", "ZD2026-9")
    town["A1"], towns["A1"] = first, second
    path = tmp_path / "two_sheets.xlsx"
    workbook.save(path)
    return path


def test_project_tables_dated_differently_are_refused_naming_both(tmp_path):
    """Every figure of one import is read as of one day: a second projects table dated another day is refused,
    naming both tables and days, not read as of the first one's day."""
    path = _two_project_sheets(tmp_path, "2026年重点项目（截至2026年11月30日）", "2026年重点项目（截至2026年10月31日）")
    ledger = read_ledger([path])
    assert [str(issue) for issue in ledger.issues] == [
        "「镇街项目」第2行：本表注明累计完成截至 2026-10-31，而「城区项目」注明截至 2026-11-30："
        "一次导入的项目表须截至同一天，请统一截至日期后重新导入"]


def test_project_tables_of_one_day_or_undated_read_as_of_that_day(tmp_path):
    """The same day in both tables, or a table naming none beside one naming it: one baseline day, no issue."""
    same = _two_project_sheets(tmp_path, "重点项目（截至2026年11月30日）", "重点项目（截至2026年11月底）")
    ledger = read_ledger([same])
    assert ledger.issues == [] and ledger.as_of == date(2026, 11, 30) and len(ledger.projects) > 2
    undated = _two_project_sheets(tmp_path, "2026年重点项目", "重点项目（截至2026年11月30日）")
    ledger = read_ledger([undated])
    assert ledger.issues == [] and ledger.as_of == date(2026, 11, 30)


# --------------------------------------------------------------------------------------------
# Accepted variants of project cells


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"总投资(万元)": "68,000"}, "total_investment", Decimal(68000)),
        ({"总投资(万元)": " 68000.50 "}, "total_investment", Decimal("68000.50")),
        ({"总投资(万元)": "68000万元"}, "total_investment", Decimal(68000)),
        ({"总投资(万元)": "6.8亿"}, "total_investment", Decimal(68000)),
        ({"年度计划投资(万元)": "4.08 亿元"}, "annual_plan", Decimal(40800)),
        ({"截至上月累计完成(万元)": ""}, "done_before", Decimal(0)),
        ({"年度计划投资(万元)": "0"}, "annual_plan", Decimal(0)),
        ({"计划开工": "2026/7/1"}, "planned_start", date(2026, 7, 1)),
        ({"计划开工": "2026.07.01"}, "planned_start", date(2026, 7, 1)),
        ({"计划开工": "2026年7月1日"}, "planned_start", date(2026, 7, 1)),
        ({"计划开工": "2026-07-01 00:00:00"}, "planned_start", date(2026, 7, 1)),
        ({"计划开工": "20260701"}, "planned_start", date(2026, 7, 1)),
        ({"计划开工": ""}, "planned_start", None),
        ({"包抓领导": "刘文华（副区长（城建））"}, "lead_official_title", "副区长(城建)"),
        ({"包抓领导": "刘文华（副区长（城建））"}, "lead_official", "刘文华"),
        ({"包抓领导": "刘文华"}, "lead_official_title", None),
        ({"包抓领导": ""}, "lead_official", None),
        ({"配合单位": "区工信局，区发改局;城北街道 区工信局"}, "supporting_units",
         ("区工信局", "区发改局", "城北街道")),
        ({"配合单位": ""}, "supporting_units", ()),
        ({"项目编号": " zd2026-001 "}, "code", "ZD2026-001"),
        ({"项目编号": "ZD2026－001"}, "code", "ZD2026-001"),
        ({"联络员手机": "139 0000 7919"}, "liaison_phone", "13900007919"),
        ({"联络员手机": "+86 13900007919"}, "liaison_phone", "13900007919"),
        ({"联络员手机": ""}, "liaison_phone", None),
        ({"项目级别": ""}, "level", None),
        ({"建设阶段": "谋划"}, "stage", "谋划"),
    ],
)
def test_project_cell_variants_are_accepted(tmp_path, overrides, field, expected):
    ledger = read_ledger([project_csv(tmp_path, {**GOOD_PROJECT, **overrides}), people_csv(tmp_path)])
    assert ledger.issues == []
    assert getattr(ledger.projects[0], field) == expected


def test_headers_with_full_width_parentheses_and_stray_whitespace(tmp_path):
    header = [f" {c.replace('(', '（').replace(')', '）')}\u3000" for c in PROJECT_COLUMNS] + ["备注"]
    path = write_csv(tmp_path / "p.csv", header, [[GOOD_PROJECT[c] for c in PROJECT_COLUMNS] + ["extra"]])
    ledger = read_ledger([path, people_csv(tmp_path)])
    assert ledger.issues == []
    assert without_row(ledger.projects) == without_row([ZD2026_001])


def test_gb18030_csv_as_saved_by_chinese_excel(tmp_path):
    rows = [list(GOOD_PROJECT.values())]
    path = write_csv(tmp_path / "p.csv", list(PROJECT_COLUMNS), rows, encoding="gb18030")
    ledger = read_ledger([path, people_csv(tmp_path)])
    assert ledger.issues == []
    assert ledger.projects[0].name == "城北高速连接线"


# --------------------------------------------------------------------------------------------
# Bad project rows: row 2 is good, row 3 carries the fault


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"项目编号": ""}, "项目编号", "项目编号不能为空"),
        ({"项目编号": "ZD 2026-002"}, "项目编号", "「ZD 2026-002」不是有效的项目编号"),
        ({"项目编号": "ZD2026-"}, "项目编号", "不是有效的项目编号"),
        ({"项目编号": "ZD2026-001"}, "项目编号", "项目编号「ZD2026-001」重复（第2行已有）"),
        ({"项目名称": " "}, "项目名称", "项目名称不能为空"),
        ({"项目类别": ""}, "项目类别", "项目类别不能为空"),
        ({"总投资(万元)": "abc"}, "总投资(万元)", "「abc」不是数字"),
        ({"总投资(万元)": ""}, "总投资(万元)", "不能为空"),
        ({"总投资(万元)": "-5"}, "总投资(万元)", "「-5」不能为负数"),
        ({"总投资(万元)": "NaN"}, "总投资(万元)", "「NaN」不是数字"),
        ({"年度计划投资(万元)": "约四万"}, "年度计划投资(万元)", "「约四万」不是数字"),
        ({"年度计划投资(万元)": "-1"}, "年度计划投资(万元)", "不能为负数"),
        ({"年度计划投资(万元)": ""}, "年度计划投资(万元)", "不能为空"),
        ({"年度计划投资(万元)": "68000.5"}, "年度计划投资(万元)", "年度计划投资（68000.5）大于总投资（68000）"),
        ({"截至上月累计完成(万元)": "1,2,x"}, "截至上月累计完成(万元)", "不是数字"),
        ({"截至上月累计完成(万元)": "-3"}, "截至上月累计完成(万元)", "不能为负数"),
        ({"截至上月累计完成(万元)": "70000"}, "截至上月累计完成(万元)", "截至上月累计完成（70000）大于总投资（68000）"),
        ({"建设阶段": "施工"}, "建设阶段", "未知的建设阶段「施工」"),
        ({"建设阶段": ""}, "建设阶段", "建设阶段不能为空"),
        ({"计划开工": "2026-13-01"}, "计划开工", "「2026-13-01」不是有效日期"),
        ({"计划开工": "2026-02-30"}, "计划开工", "不是有效日期"),
        ({"计划竣工": "明年"}, "计划竣工", "「明年」不是有效日期"),
        ({"计划竣工": "2026-06-30"}, "计划竣工", "计划竣工（2026-06-30）早于计划开工（2026-07-01）"),
        ({"包抓领导": "刘文华(副区长(城建)"}, "包抓领导",
         "「刘文华(副区长(城建)」格式不对，应为「姓名(职务)」，如「刘文华(副区长(城建))」"),
        ({"项目编号": "ZD 2026-002"}, "项目编号",
         "「ZD 2026-002」不是有效的项目编号（应类似 ZD2026-001，中间不能有空格）"),
        ({"包抓领导": "(副区长)"}, "包抓领导", "格式不对"),
        ({"包抓领导": "张三(副区长)"}, "包抓领导", "包抓领导「张三」不在人员名单中"),
        ({"包抓领导": "郝芳(联络员)"}, "包抓领导", "包抓领导「郝芳」不在人员名单中"),
        ({"牵头单位": ""}, "牵头单位", "牵头单位不能为空"),
        ({"牵头单位": "区外事办"}, "牵头单位", "未知单位「区外事办」"),
        ({"配合单位": "区工信局、区外事办"}, "配合单位", "未知单位「区外事办」"),
        ({"联络员手机": "1390000791"}, "联络员手机", "「1390000791」不是有效的手机号"),
        ({"联络员手机": "1390000791x"}, "联络员手机", "不是有效的手机号"),
    ],
)
def test_bad_project_row_is_reported_and_left_out(tmp_path, overrides, column, message):
    path = project_csv(tmp_path, GOOD_PROJECT, second_project(**overrides))
    ledger = read_ledger([path, people_csv(tmp_path)])
    assert [(i.sheet, i.row, i.column) for i in ledger.issues] == [("projects.csv", 3, column)]
    assert message in ledger.issues[0].message
    assert [p.row for p in ledger.projects] == [2]


def test_every_error_of_a_row_is_collected(tmp_path):
    bad = second_project(**{"项目名称": "", "总投资(万元)": "x", "建设阶段": "?", "计划竣工": "bad"})
    ledger = read_ledger([project_csv(tmp_path, GOOD_PROJECT, bad, bad), people_csv(tmp_path)])
    assert [(i.row, i.column) for i in ledger.issues] == [
        (3, "项目名称"),
        (3, "总投资(万元)"),
        (3, "建设阶段"),
        (3, "计划竣工"),
        (4, "项目名称"),
        (4, "总投资(万元)"),
        (4, "建设阶段"),
        (4, "计划竣工"),
        (4, "项目编号"),  # the duplicate is found once the whole file is read
    ]


def test_duplicate_code_across_files_names_the_other_file(tmp_path):
    first = project_csv(tmp_path, GOOD_PROJECT, name="a.csv")
    second = project_csv(tmp_path, GOOD_PROJECT, name="b.csv")
    ledger = read_ledger([first, second, people_csv(tmp_path)])
    assert [str(i) for i in ledger.issues] == [
        "「b.csv」第2行【项目编号】：项目编号「ZD2026-001」重复（「a.csv」第2行已有）"
    ]
    assert len(ledger.projects) == 1


def test_csv_section_and_note_rows_are_skipped(tmp_path):
    rows = [["2026年全区重点项目包抓责任分解表"], list(PROJECT_COLUMNS), ["一、基础设施项目"],
            list(GOOD_PROJECT.values()), ["（二）工业项目"], list(second_project().values()),
            ["合计", "", "", "", "", "", "136000"], ["备注：金额单位为万元"]]
    path = write_csv(tmp_path / "p.csv", rows[0], rows[1:])
    ledger = read_ledger([path, people_csv(tmp_path)])
    assert ledger.issues == []
    assert [(p.row, p.code) for p in ledger.projects] == [(4, "ZD2026-001"), (6, "ZD2026-002")]


def test_known_units_and_top_leaders_count(tmp_path):
    project = second_project(**{"牵头单位": "区外事办", "包抓领导": "李明德(区委书记)"})
    ledger = read_ledger([project_csv(tmp_path, project), people_csv(tmp_path)], known_units=["区外事办"])
    assert ledger.issues == []
    assert ledger.projects[0].lead_official == "李明德"


def test_missing_columns_are_reported_once_and_rows_skipped(tmp_path):
    columns = [c for c in PROJECT_COLUMNS if c not in ("建设阶段", "牵头单位")]
    rows = [[GOOD_PROJECT[c] for c in columns]] * 3
    path = write_csv(tmp_path / "p.csv", columns, rows)
    ledger = read_ledger([path])
    assert [(i.row, i.column, i.message) for i in ledger.issues] == [
        (1, "建设阶段", "缺少这一列"),
        (1, "牵头单位", "缺少这一列"),
    ]
    assert ledger.projects == []


# --------------------------------------------------------------------------------------------
# People


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["", "联络员", "区住建局", "13900000001", ""], "姓名", "姓名不能为空"),
        (["张三", "组长", "区住建局", "13900000001", ""], "角色", "未知的角色「组长」"),
        (["张三", "", "区住建局", "13900000001", ""], "角色", "角色不能为空"),
        (["张三", "联络员", "区住建局", "12345", ""], "手机", "「12345」不是有效的手机号"),
        (["张三", "联络员", "区住建局", "2390000000a", ""], "手机", "不是有效的手机号"),
        (["张三", "联络员", "", "13900000001", ""], "单位/职务", "联络员需要填写所在单位"),
        (["张三", "联络员", "区住建局", "13900000001", "ZD2026-001、XM_9"], "负责项目", "「XM_9」不是有效的项目编号"),
        (["郝芳", "联络员", "区住建局", "13900007919", ""], "姓名", "「郝芳」重复（第2行已有同名同手机号的人员）"),
        (["刘文华", "包抓领导", "副区长(城建)", "", ""], "姓名", "「刘文华」重复"),
        (["郝芳", "单位经办人", "区工信局", "13900007919", ""], "单位/职务",
         "「郝芳」在第2行为「区住建局」，同一人员（同名同手机号）的各行应填写相同的单位/职务"),
        (["刘文华", "区主要领导", "区长", "", ""], "手机", "「刘文华」与第6行同名，均未填手机号"),
        (["张三", "联络员", "区住建局", "13900007919", ""], "手机", "手机号「13900007919」已用于第2行的「郝芳」"),
    ],
)
def test_bad_person_row_is_reported_and_left_out(tmp_path, row, column, message):
    ledger = read_ledger([people_csv(tmp_path, row)])
    assert [(i.row, i.column) for i in ledger.issues] == [(8, column)]
    assert message in ledger.issues[0].message
    assert [p.row for p in ledger.people] == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (["张  三", "首办秘书", "区住建局", "139-0000-0001", "zd2026-001，ZD2026-002"],
         PersonRow(8, "张三", "liaison", "区住建局", None, "13900000001", ("ZD2026-001", "ZD2026-002"))),
        (["王立军", "区主要领导", "区长", "", ""], PersonRow(8, "王立军", "top", None, "区长", None, ())),
        (["周海燕", "包抓领导", "副区长（工业）", 13900000002, ""],
         PersonRow(8, "周海燕", "lead", None, "副区长(工业)", "13900000002", ())),
        (["管理员", "管理员", "区重大项目办", "", ""], PersonRow(8, "管理员", "admin", "区重大项目办", None, None, ())),
    ],
)
def test_person_row_variants(tmp_path, row, expected):
    ledger = read_ledger([people_csv(tmp_path, row)])
    assert ledger.issues == []
    assert ledger.people[-1] == expected


def test_a_person_with_several_roles_has_a_row_for_each(tmp_path):
    """The same name and phone in another role is the same person, not a repeat: 郝芳 (联络员 of 区住建局) also
    its 单位经办人, 刘文华 (包抓领导) also 区主要领导 with the same title."""
    ledger = read_ledger([people_csv(tmp_path, ["郝芳", "单位经办人", "区住建局", "13900007919", ""],
                                     ["刘文华", "区主要领导", "副区长(城建)", "", ""])])
    assert ledger.issues == []
    assert [(p.name, p.role) for p in ledger.people if p.name in ("郝芳", "刘文华")] == [
        ("郝芳", "liaison"), ("刘文华", "lead"), ("郝芳", "unit"), ("刘文华", "top")]


def test_a_roster_status_says_who_is_deactivated_or_brought_back(tmp_path):
    """状态 (optional): 停用, 在用 (or 启用/在岗/正常), blank says nothing; anything else is refused where it is,
    and one person's rows say the same."""
    header = [*PEOPLE_COLUMNS, "状态"]
    rows = [[*row, ""] for row in BASE_PEOPLE]
    rows[0][5], rows[1][5] = "停用", "在 用"
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, rows)])
    assert ledger.issues == []
    assert [p.active for p in ledger.people][:3] == [False, True, None]
    rows[2][5] = "离职"
    rows.append(["郝芳", "单位经办人", "区住建局", "13900007919", "", "在用"])
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, rows)])
    assert [str(i) for i in ledger.issues] == [
        "「people.csv」第4行【状态】：状态「离职」无法识别：填写「停用」（已停用的人员）或「在用」（恢复启用），不改状态请留空",
        "「people.csv」第8行【状态】：「郝芳」在第2行的状态为「停用」，同一人员（同名同手机号）的各行应填写相同的状态"]


def test_an_over_long_roster_number_is_refused_where_it_is(tmp_path):
    """人员编号 holds up to 50 characters: a longer one is a row error (it would not fit where it is kept)."""
    header = [*PEOPLE_COLUMNS, "人员编号"]
    rows = [[*row, ""] for row in BASE_PEOPLE]
    rows[0][5], rows[1][5] = "编" * 50, " B" * 51  # spaces do not count
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, rows)])
    assert [str(i) for i in ledger.issues] == ["「people.csv」第3行【人员编号】：人员编号最多 50 个字，这里有 51 个字"]
    assert [p.key for p in ledger.people][:1] == ["编" * 50] and 3 not in [p.row for p in ledger.people]


def test_units_of_people_rows_make_units_known(tmp_path):
    project = second_project(**{"配合单位": "区外事办"})
    people = people_csv(tmp_path, ["钱七", "单位经办人", "区外事办", "", ""])
    assert read_ledger([project_csv(tmp_path, project), people]).issues == []
    # ...but the 职务 of a leader is not a unit
    people = people_csv(tmp_path, ["钱七", "包抓领导", "区外事办", "", ""])
    issues = read_ledger([project_csv(tmp_path, project), people]).issues
    assert [(i.row, i.column) for i in issues] == [(2, "配合单位")]


# --------------------------------------------------------------------------------------------
# Real-world workbooks


def _workbook_with_layout(tmp_path: Path) -> Path:
    """A projects sheet as offices really keep it: merged title, odd headers, typed cells, merges."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = PROJECT_SHEET
    ws.append(["2026年全区重点项目包抓责任分解表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(PROJECT_COLUMNS))
    ws.append([c.replace("(", "（").replace(")", "）").replace("万元", "\n万元") for c in PROJECT_COLUMNS] + ["备注"])
    ws.append(["基础设施类（2个）"])  # row 3: a banner merged across the table
    ws.merge_cells(start_row=3, start_column=1, end_row=3, end_column=len(PROJECT_COLUMNS))
    base = dict(GOOD_PROJECT)
    base.update({"总投资(万元)": 68000, "年度计划投资(万元)": 40800.0, "截至上月累计完成(万元)": "26,051",
                 "计划开工": datetime(2026, 7, 1), "计划竣工": datetime(2027, 12, 30), "联络员手机": 13900007919})
    ws.append([base[c] for c in PROJECT_COLUMNS] + ["note"])  # row 4
    second = {**base, "项目编号": "ZD2026-002", "总投资(万元)": 1234.5, "年度计划投资(万元)": "1,000",
              "截至上月累计完成(万元)": None, "计划开工": 46204, "计划竣工": 20270105,
              "包抓领导": None, "牵头单位": None}
    ws.append([second[c] for c in PROJECT_COLUMNS])  # row 5: lead and lead unit merged down from row 4
    lead, unit = PROJECT_COLUMNS.index("包抓领导") + 1, PROJECT_COLUMNS.index("牵头单位") + 1
    ws.merge_cells(start_row=4, start_column=lead, end_row=5, end_column=lead)
    ws.merge_cells(start_row=4, start_column=unit, end_row=5, end_column=unit)
    ws.append([])  # row 6: blank
    ws.append(["合计", None, None, None, None, None, 69234.5])  # row 7: a total row
    people = wb.create_sheet(PEOPLE_SHEET)
    people.append(list(PEOPLE_COLUMNS))
    for row in BASE_PEOPLE:
        people.append(row)
    wb.create_sheet("说明").append(["填表说明：金额单位为万元"])
    path = tmp_path / "ledger.xlsx"
    wb.save(path)
    return path


def test_workbook_with_title_merges_typed_cells_banners_and_totals(tmp_path):
    calls: list[int] = []
    ledger = read_ledger([_workbook_with_layout(tmp_path)], progress=calls.append)
    assert ledger.issues == []
    assert ledger.projects[0] == dataclasses.replace(ZD2026_001, row=4)
    second = ledger.projects[1]
    assert (second.row, second.code) == (5, "ZD2026-002")
    assert (second.total_investment, second.annual_plan, second.done_before) == (
        Decimal("1234.5"),
        Decimal(1000),
        Decimal(0),
    )
    assert (second.planned_start, second.planned_finish) == (date(2026, 7, 1), date(2027, 1, 5))
    assert (second.lead_official, second.lead_official_title, second.lead_unit) == (
        "刘文华", "副区长(城建)", "区住建局")
    assert len(ledger.people) == len(BASE_PEOPLE)
    assert calls == [1] * (2 + len(BASE_PEOPLE))


def test_bad_xlsx_cell_message_names_sheet_row_and_column(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = PROJECT_SHEET
    ws.append(["2026年全区重点项目包抓责任分解表"])
    ws.append(list(PROJECT_COLUMNS))
    ws.append(list(GOOD_PROJECT.values()))
    ws.append(list(second_project(**{"项目编号": "ZD2026-003"}).values()))
    ws.append(list(second_project(**{"总投资(万元)": "abc", "计划开工": True}).values()))
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    ledger = read_ledger([path], known_units=["区住建局", "区工信局", "区发改局", "城北街道"])
    assert [str(i) for i in ledger.issues] == [
        "「重点项目包抓责任分解表」第5行【总投资(万元)】：「abc」不是数字",
        "「重点项目包抓责任分解表」第5行【计划开工】：「是」不是有效日期（应类似 2026-07-01）",
    ]
    assert [p.row for p in ledger.projects] == [3, 4]


# --------------------------------------------------------------------------------------------
# Files and sheets that cannot be read


def _xlsx(tmp_path: Path, sheets: dict[str, list[list[object]]], name: str = "book.xlsx") -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ledger.pdf", b"%PDF-1.4", "无法识别的文件：需要 .xlsx 或 .csv"),
        ("ledger", b"hello", "无法识别的文件：需要 .xlsx 或 .csv"),
        ("ledger.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "无法识别的文件：需要 .xlsx 或 .csv"),
        ("ledger.xls", b"\xd0\xcf\x11\xe0", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再上传"),
        ("ledger.xlsx", b"not a zip", "无法打开 Excel 文件，请确认是有效的 .xlsx 文件"),
        ("ledger.csv", "标题\n甲,乙,丙\n1,2,3\n".encode(),
         "无法识别的表格：前10行中找不到表头（项目表需要「项目编号」列，人员名单需要「姓名」「角色」列，"
         "项目节点计划需要「项目编号」「节点名称」列）"),
        ("ledger.csv", b"", "文件为空"),
        ("ledger.csv", b"\xef\xbb\xbf\r\n,,\r\n", "文件为空"),
    ],
)
def test_unreadable_file_is_one_issue(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    ledger = read_ledger([path])
    assert len(ledger.issues) == 1
    issue = ledger.issues[0]
    assert (issue.sheet, issue.row, issue.column) == (name, 0, "")
    assert issue.message.startswith(message)
    assert str(issue) == f"「{name}」：{issue.message}"
    assert ledger.projects == [] and ledger.people == []


def test_missing_file_is_an_issue_not_an_exception(tmp_path):
    ledger = read_ledger([tmp_path / "gone.csv", tmp_path / "gone.xlsx"])
    assert [(i.sheet, i.message) for i in ledger.issues] == [("gone.csv", "找不到文件"), ("gone.xlsx", "找不到文件")]


def test_empty_named_sheet_is_reported_and_the_other_sheet_still_read(tmp_path):
    path = _xlsx(tmp_path, {PROJECT_SHEET: [], PEOPLE_SHEET: [list(PEOPLE_COLUMNS), *BASE_PEOPLE]})
    ledger = read_ledger([path])
    assert [str(i) for i in ledger.issues] == [f"「{PROJECT_SHEET}」：工作表为空"]
    assert len(ledger.people) == len(BASE_PEOPLE)


def test_header_only_sheet_and_workbook_without_tables(tmp_path):
    header_only = _xlsx(tmp_path, {PROJECT_SHEET: [list(PROJECT_COLUMNS)]}, name="h.xlsx")
    issues = read_ledger([header_only]).issues
    assert [(i.sheet, i.message) for i in issues] == [(PROJECT_SHEET, "只有表头，没有数据行")]

    blank = _xlsx(tmp_path, {"Sheet1": [], "Sheet2": [["随便写点什么"]]}, name="blank.xlsx")
    issues = read_ledger([blank]).issues
    assert [(i.sheet, i.row) for i in issues] == [("blank.xlsx", 0)]
    assert issues[0].message == f"工作簿中没有找到「{PROJECT_SHEET}」或「{PEOPLE_SHEET}」表（按表头识别）"

    no_header = _xlsx(tmp_path, {PEOPLE_SHEET: [["名单"], ["张三", "联络员"]]}, name="n.xlsx")
    issues = read_ledger([no_header]).issues
    assert [(i.sheet, i.row) for i in issues] == [(PEOPLE_SHEET, 0)]
    assert issues[0].message == "找不到表头：前10行中没有「姓名」「角色」等列"


def test_broken_people_table_does_not_flood_projects_with_unit_errors(tmp_path):
    people = write_csv(tmp_path / "people.csv", ["姓名", "角色"], [["郝芳", "联络员"]])
    ledger = read_ledger([project_csv(tmp_path, GOOD_PROJECT), people])
    assert [(i.sheet, i.column) for i in ledger.issues] == [
        ("people.csv", "单位/职务"),
        ("people.csv", "手机"),
        ("people.csv", "负责项目"),
    ]
    assert ledger.projects == []  # its units and lead cannot be checked against a broken roster


@pytest.mark.parametrize(
    ("issue", "text"),
    [
        (ImportIssue("重点项目包抓责任分解表", 5, "总投资(万元)", "「abc」不是数字"),
         "「重点项目包抓责任分解表」第5行【总投资(万元)】：「abc」不是数字"),
        (ImportIssue("人员名单", 0, "", "工作表为空"), "「人员名单」：工作表为空"),
        (ImportIssue("p.csv", 1, "建设阶段", "缺少这一列"), "「p.csv」第1行【建设阶段】：缺少这一列"),
    ],
)
def test_issue_text(issue, text):
    assert str(issue) == text


def test_the_days_a_project_really_started_and_finished_are_read_when_the_ledger_has_them(tmp_path):
    """实际开工 and 竣工日期 (or 实际竣工日期) are optional columns; a day to come or a finish before the start is
    refused, naming the row and the column."""
    header = [*PROJECT_COLUMNS, "实际开工", "实际竣工日期"]
    rows = [{**GOOD_PROJECT, "实际开工": "2025-03-01", "实际竣工日期": "2026年11月20日"},
            second_project(实际开工="2026-12-08"),
            {**second_project(实际开工="2026-10-01", 实际竣工日期="2026-09-30"), "项目编号": "ZD2026-003"}]
    path = write_csv(tmp_path / "projects.csv", header, [[r.get(c, "") for c in header] for r in rows])
    ledger = read_ledger([path, people_csv(tmp_path)], today=date(2026, 12, 7))
    assert [(p.started_on, p.finished_on) for p in ledger.projects] == [(date(2025, 3, 1), date(2026, 11, 20))]
    assert [(i.row, i.column) for i in ledger.issues] == [(3, "实际开工"), (4, "竣工日期")]
    assert "2026-12-08晚于今天（2026-12-07）" in ledger.issues[0].message
    assert "竣工日期（2026-09-30）早于实际开工（2026-10-01）" in ledger.issues[1].message
    old = read_ledger([project_csv(tmp_path, GOOD_PROJECT), people_csv(tmp_path)], today=date(2026, 12, 7))
    assert not old.issues and (old.projects[0].started_on, old.projects[0].finished_on) == (None, None)


# --------------------------------------------------------------------------------------------
# Stage history (阶段记录)


def _stages_csv(tmp_path: Path, *rows: list[object]) -> Path:
    return write_csv(tmp_path / "stages.csv", ["项目编号", "阶段变化", "日期"], [list(row) for row in rows])


def test_stage_rows_are_read_with_their_kind_and_day(tmp_path):
    files = [project_csv(tmp_path, GOOD_PROJECT), people_csv(tmp_path),
             _stages_csv(tmp_path, ["zd2026-001", "开工", "2026-03-02"], ["ZD2026-001", "竣 工", "2026/6/30"],
                         ["ZD2026-001", "恢复在建", "2026年9月15日"])]
    ledger = read_ledger(files, today=date(2026, 11, 23))
    assert ledger.issues == []
    assert [(s.row, s.code, s.kind, s.day) for s in ledger.stages] == [
        (2, "ZD2026-001", "start", date(2026, 3, 2)), (3, "ZD2026-001", "finish", date(2026, 6, 30)),
        (4, "ZD2026-001", "reopen", date(2026, 9, 15))]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["ZD2026-001", "投产", "2026-03-02"], "阶段变化",
         "阶段变化「投产」无法识别，应为「开工」「竣工」「恢复在建」之一"),
        (["ZD2026-001", "", "2026-03-02"], "阶段变化", "阶段变化不能为空"),
        (["ZD2026-001", "开工", ""], "日期", "日期不能为空"),
        (["ZD2026-001", "开工", "2026-11-24"], "日期", "2026-11-24晚于今天（2026-11-23）"),
        (["ZD2026-001", "开工", "下周"], "日期", "下周"),
        (["ZD2026-002", "开工", "2026-03-02"], "项目编号",
         "项目编号「ZD2026-002」不在一同导入的「重点项目包抓责任分解表」中（阶段记录随项目表导入）"),
    ],
)
def test_a_bad_stage_row_is_refused_naming_its_row_and_column(tmp_path, row, column, message):
    files = [project_csv(tmp_path, GOOD_PROJECT), people_csv(tmp_path), _stages_csv(tmp_path, row)]
    ledger = read_ledger(files, today=date(2026, 11, 23), known_projects={"ZD2026-002"})
    assert [(i.sheet, i.row, i.column) for i in ledger.issues] == [("stages.csv", 2, column)]
    assert message in ledger.issues[0].message
    assert ledger.stages == []


@settings(max_examples=40, deadline=None)
@given(days=st.lists(st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 11, 23)), min_size=1, max_size=5))
def test_any_past_days_of_a_history_in_turn_are_read_as_written(days):
    days = sorted(days)
    labels = [["开工", "竣工", "恢复在建", "竣工", "恢复在建"][i] for i in range(len(days))]
    stage = "竣工" if labels[-1] == "竣工" else "在建"
    rows = [["ZD2026-001", label, day.isoformat()] for label, day in zip(labels, days, strict=True)]
    with tempfile.TemporaryDirectory() as folder:
        tmp_path = Path(folder)
        files = [project_csv(tmp_path, {**GOOD_PROJECT, "建设阶段": stage}), people_csv(tmp_path),
                 _stages_csv(tmp_path, *rows)]
        ledger = read_ledger(files, today=date(2026, 11, 23))
    assert ledger.issues == []
    kinds = {"开工": "start", "竣工": "finish", "恢复在建": "reopen"}
    assert [(s.kind, s.day) for s in ledger.stages] == [
        (kinds[label], day) for label, day in zip(labels, days, strict=True)]


@pytest.mark.parametrize(
    ("stage", "rows", "at", "message"),
    [
        ("在建", [["开工", "2026-03-02"], ["开工", "2026-05-01"]], (3, "阶段变化"),
         "项目 ZD2026-001 的阶段变化应依次为开工、竣工、恢复在建、竣工……：第2行「开工」之后应为「竣工」，"
         "此行却是「开工」"),
        ("在建", [["竣工", "2026-03-02"], ["开工", "2026-05-01"]], (3, "阶段变化"),
         "第2行「竣工」之后应为「恢复在建」，此行却是「开工」"),
        ("在建", [["恢复在建", "2026-03-02"]], (2, "阶段变化"),
         "第一条应为「开工」（开工日期不详的可从「竣工」起），此行却是「恢复在建」"),
        ("竣工", [["开工", "2026-06-30"], ["竣工", "2026-03-02"]], (3, "日期"),
         "项目 ZD2026-001 此行「竣工」的日期（2026-03-02）早于第2行「开工」的日期（2026-06-30），"
         "阶段变化应按日期先后填写"),
        ("在建", [["开工", "2026-03-02"], ["竣工", "2026-06-30"]], (3, "阶段变化"),
         "项目 ZD2026-001 的建设阶段为「在建」（「重点项目包抓责任分解表」第2行），"
         "最后一条阶段变化应为「开工」或「恢复在建」，此行却是「竣工」"),
        ("竣工", [["开工", "2026-03-02"]], (2, "阶段变化"), "最后一条阶段变化应为「竣工」，此行却是「开工」"),
        ("前期", [["开工", "2026-03-02"]], (2, "阶段变化"),
         "建设阶段为「前期」（「重点项目包抓责任分解表」第2行），尚未开工，不应有阶段变化"),
    ],
)
def test_a_history_out_of_turn_out_of_order_or_against_the_stage_is_refused_naming_its_row(
        tmp_path, stage, rows, at, message):
    files = [project_csv(tmp_path, {**GOOD_PROJECT, "建设阶段": stage}), people_csv(tmp_path),
             _stages_csv(tmp_path, *(["ZD2026-001", *row] for row in rows))]
    ledger = read_ledger(files, today=date(2026, 11, 23))
    assert [(i.sheet, i.row, i.column) for i in ledger.issues] == [("stages.csv", *at)]
    assert message in ledger.issues[0].message
    assert ledger.stages == []
def test_namesakes_without_a_phone_are_refused_unless_the_database_holds_one_such_person(tmp_path):
    """王伟 包抓领导 (a 职务) and 王伟 联络员 (a 单位), no phone: not one person holding both roles. Refused where
    the second row is, asking for the 手机; read as one person when the database has exactly one 王伟 without a
    phone who holds both roles (the export of him, a row per role)."""
    rows = (["王伟", "包抓领导", "副区长", "", ""], ["王伟", "联络员", "区住建局", "", ""])
    ledger = read_ledger([people_csv(tmp_path, *rows)])
    assert [str(i) for i in ledger.issues] == [
        "「people.csv」第9行【手机】：「王伟」与第8行同名，均未填手机号：无法确定是同一人还是两位同名人员，"
        "请在这两行填写手机（同一人填相同手机号）"]
    assert "王伟" in [p.name for p in ledger.people]  # the first row is not the one at fault
    stored = {"王伟": [frozenset({"lead", "liaison"})]}
    assert read_ledger([people_csv(tmp_path, *rows)], known_people=stored).issues == []
    for others in ({"王伟": [frozenset({"lead"})]}, {"王伟": [frozenset({"lead", "liaison"})] * 2}):
        assert [i.column for i in read_ledger([people_csv(tmp_path, *rows)], known_people=others).issues] == ["手机"]


def test_a_repeat_without_a_phone_does_not_speak_of_a_phone(tmp_path):
    ledger = read_ledger([people_csv(tmp_path, ["刘文华", "包抓领导", "副区长(城建)", "", ""])])
    [issue] = ledger.issues
    assert "同名同手机号" not in issue.message and "未填手机号" in issue.message


def test_rows_without_a_phone_join_by_their_number_and_namesakes_numbered_apart_stay_apart(tmp_path):
    """The export gives a person without a phone a 人员编号 on each of his rows: one number joins a 包抓领导 row
    and a 管理员 row into one person; two numbers are two namesakes, both read."""
    header = [*PEOPLE_COLUMNS, "状态", "人员编号"]
    rows = [[*row, "", ""] for row in BASE_PEOPLE]
    one = [*rows, ["王伟", "包抓领导", "副区长", "", "", "", "12"], ["王伟", "管理员", "区住建局", "", "", "", "12"]]
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, one)])
    assert ledger.issues == []
    assert {p.identity for p in ledger.people if p.name == "王伟"} == {("王伟", "key", "12")}
    two = [*rows, ["王伟", "包抓领导", "副区长", "", "", "", "12"], ["王伟", "联络员", "区住建局", "", "", "", "13"]]
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, two)])
    assert ledger.issues == []
    assert [p.identity for p in ledger.people if p.name == "王伟"] == [("王伟", "key", "12"), ("王伟", "key", "13")]


def test_one_unit_does_not_join_namesakes_without_a_phone(tmp_path):
    """王伟 联络员 and 王伟 管理员 of 区住建局, no phone: perhaps two people, and the admin's powers must not go to
    the liaison's account: refused, asking for the 手机."""
    rows = (["王伟", "联络员", "区住建局", "", ""], ["王伟", "管理员", "区住建局", "", ""])
    assert [(i.row, i.column) for i in read_ledger([people_csv(tmp_path, *rows)]).issues] == [(9, "手机")]


def test_namesakes_of_one_role_numbered_apart_are_two_people_and_one_number_twice_is_refused(tmp_path):
    """Two 联络员 王伟 without a phone, of two units, with 人员编号 12 and 13: two people, both read (not 重复, not
    one person with two 单位). The same 人员编号 twice in one role is one person twice: refused, naming both rows."""
    header = [*PEOPLE_COLUMNS, "状态", "人员编号"]
    rows = [[*row, "", ""] for row in BASE_PEOPLE]
    two = [*rows, ["王伟", "联络员", "区住建局", "", "", "", "12"],
           ["王伟", "联络员", "区工信局", "", "", "停用", "13"]]
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, two)])
    assert ledger.issues == []
    assert [(p.identity, p.unit, p.active) for p in ledger.people if p.name == "王伟"] == [
        (("王伟", "key", "12"), "区住建局", None), (("王伟", "key", "13"), "区工信局", False)]
    once = [*rows, ["王伟", "联络员", "区住建局", "", "", "", "12"], ["王伟", "联络员", "区住建局", "", "", "", "12"]]
    ledger = read_ledger([write_csv(tmp_path / "people.csv", header, once)])
    assert [(i.row, i.column) for i in ledger.issues] == [(len(once) + 1, "姓名")]
    assert f"第{len(once)}行" in ledger.issues[0].message and "人员编号" in ledger.issues[0].message


def test_a_formula_whose_value_the_file_does_not_hold_is_named_not_read_as_blank(tmp_path):
    """A workbook written by a program rather than saved by Excel or WPS may hold formulas without their values.
    A formula in 截至上月累计完成 is not read as a blank (which would be 0, the baseline wiped), nor one in
    年度计划投资 as 不能为空: each is named, row and column, with what to do; a formula with its value is read."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = PROJECT_SHEET
    ws.append(list(PROJECT_COLUMNS))
    ws.append([GOOD_PROJECT[c] for c in PROJECT_COLUMNS])
    ws.append([second_project()[c] for c in PROJECT_COLUMNS])
    ws["H2"], ws["I2"] = "=G2*0.6", "=20000+6051"
    people = wb.create_sheet(PEOPLE_SHEET)
    for row in [list(PEOPLE_COLUMNS), *BASE_PEOPLE]:
        people.append(row)
    path = tmp_path / "formulas.xlsx"
    wb.save(path)
    ledger = read_ledger([path])
    assert [(i.row, i.column) for i in ledger.issues] == [(2, "年度计划投资(万元)"), (2, "截至上月累计完成(万元)")]
    assert "公式「=20000+6051」" in ledger.issues[1].message and "没有保存计算结果" in ledger.issues[1].message
    assert [p.code for p in ledger.projects] == ["ZD2026-002"]
    saved = tmp_path / "saved.xlsx"  # as Excel saves it: each formula followed by its value
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(saved, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if b"<f>" in data:
                data = data.replace(b"<f>G2*0.6</f><v></v>", b"<f>G2*0.6</f><v>40800</v>")
                data = data.replace(b"<f>20000+6051</f><v></v>", b"<f>20000+6051</f><v>26051</v>")
            target.writestr(item, data)
    ledger = read_ledger([saved])
    assert ledger.issues == [] and [(p.annual_plan, p.done_before) for p in ledger.projects][0] == (40800, 26051)


def test_a_hidden_sheet_is_not_read_and_is_named(tmp_path):
    """An office hides an old copy of its roster (a phone since changed) and of its projects rather than delete
    them: they are not read (neither refused as 重复 nor taken for the ledger), and are named as hidden. A
    workbook whose ledger tables are all hidden says none was found."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = PROJECT_SHEET
    for row in ([*PROJECT_COLUMNS], [GOOD_PROJECT[c] for c in PROJECT_COLUMNS]):
        ws.append(row)
    for title, rows in (("人员名单", [list(PEOPLE_COLUMNS), *BASE_PEOPLE]),
                        ("人员名单(旧)", [list(PEOPLE_COLUMNS), ["郝芳", "联络员", "区住建局", "13911111111", ""]]),
                        ("旧项目", [list(PROJECT_COLUMNS), [second_project()[c] for c in PROJECT_COLUMNS]])):
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append(row)
    wb["人员名单(旧)"].sheet_state = "hidden"
    wb["旧项目"].sheet_state = "veryHidden"
    path = tmp_path / "hidden.xlsx"
    wb.save(path)
    ledger = read_ledger([path])
    assert ledger.issues == [] and [p.code for p in ledger.projects] == ["ZD2026-001"]
    assert [p.phone for p in ledger.people if p.name == "郝芳"] == ["13900007919"]
    assert (ledger.hidden_sheets, ledger.skipped_sheets) == (["人员名单(旧)", "旧项目"], [])
    for title in (PROJECT_SHEET, "人员名单"):
        wb[title].sheet_state = "hidden"
    wb.create_sheet("说明").append(["本表仅供参考"])
    wb.save(path)
    ledger = read_ledger([path])
    [issue] = ledger.issues
    assert issue.message == "工作簿中没有找到「重点项目包抓责任分解表」或「人员名单」表（按表头识别）"
    assert ledger.hidden_sheets == [PROJECT_SHEET, "人员名单", "人员名单(旧)", "旧项目"]


def test_a_project_naming_one_of_two_namesake_liaisons_without_a_phone_must_say_which(tmp_path):
    """Two 联络员 王伟 without a phone (人员编号 1 and 2): a project row naming 王伟 with no 联络员手机 could mean
    either (it was read as a third 王伟). Refused at 首办秘书(联络员), naming both roster rows, unless one of them
    lists the project under 负责项目; the same when the database holds the two of them and the file no roster
    rows of his name."""
    header = [*PEOPLE_COLUMNS, "状态", "人员编号"]
    rows = [[*row, "", ""] for row in BASE_PEOPLE]
    wangs = [["王伟", "联络员", "区住建局", "", "", "", "1"], ["王伟", "联络员", "区工信局", "", "", "", "2"]]
    project = project_csv(tmp_path, {**GOOD_PROJECT, "首办秘书(联络员)": "王伟", "联络员手机": ""})
    ledger = read_ledger([project, write_csv(tmp_path / "people.csv", header, [*rows, *wangs])])
    assert [(i.sheet, i.row, i.column) for i in ledger.issues] == [("projects.csv", 2, "首办秘书(联络员)")]
    assert "第8行、第9行" in ledger.issues[0].message and "负责项目" in ledger.issues[0].message
    assert ledger.projects == []
    wangs[1][4] = "ZD2026-001"  # the second lists the project: he is the one
    assert read_ledger([project, write_csv(tmp_path / "people.csv", header, [*rows, *wangs])]).issues == []
    stored = {"王伟": [frozenset({"liaison"}), frozenset({"liaison"})]}
    ledger = read_ledger([project, people_csv(tmp_path)], known_people=stored)
    assert [(i.row, i.column) for i in ledger.issues] == [(2, "首办秘书(联络员)")]
    assert read_ledger([project, people_csv(tmp_path)], known_people={"王伟": [frozenset({"liaison"})]}).issues == []
