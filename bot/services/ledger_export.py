"""The bulletin's Excel ledger (.xlsx): projects, unit and town rankings, the problem list and the milestones
(节点) the bulletin lists; for /export also the node plan (项目节点计划) in the columns the import reads.

One sheet per table, each with a bold frozen header row, an auto filter, column widths fitted to the
content (a CJK character counts two columns) and real numbers with display formats: 万元 amounts as
``#,##0.0``, rates as ``0.0%``, gaps in percentage points as ``+0.0;-0.0``. Excel cannot store
time-zone-aware datetimes, so times are written as naive Asia/Shanghai wall-clock times.

Text is written as text: a name such as ``=HYPERLINK(…)`` never becomes a formula, and control
characters Excel refuses are dropped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.clock import to_local
from bot.domain.escalation import LEVEL_NAMES
from bot.domain.node_lists import BulletinNodes, NodeItem
from bot.domain.standings import GroupStanding, ProblemRow, ProjectStanding, Standings
from bot.domain.text_width import display_width

if TYPE_CHECKING:
    from storage.nodes import LedgerNode

T = TypeVar("T")

WAN = "#,##0.0"
PCT = "0.0%"
POINTS = "+0.0;-0.0"
SCORE = "0.0"
INT = "0"
DATETIME = "yyyy-mm-dd hh:mm"

# As in the problem templates.
STATUS_NAMES = {
    "open": "待受理", "accepted": "办理中", "answered": "已答复", "resolved": "待销号", "closed": "已销号",
}
LIGHT_NAMES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "none": "无计划"}
LIGHT_FILLS = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE"}

MIN_WIDTH = 6
MAX_WIDTH = 60  # longer text wraps
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

SHEET_PROJECTS = "项目台账"
SHEET_UNITS = "单位排名"
SHEET_TOWNS = "乡镇排名"
SHEET_PROBLEMS = "问题清单"
SHEET_NODES = "节点清单"
SHEET_PLAN = "项目节点计划"  # the import's sheet and columns (bot.ledger), so that it can be imported again
DAY = "yyyy-mm-dd"

# kind → (name shown in the file name, extension)
BULLETIN_KINDS: dict[str, tuple[str, str]] = {
    "ledger": ("重点项目台账", "xlsx"),
    "ranking": ("重点项目完成率排名", "png"),
    "units": ("牵头单位排名", "png"),
    "towns": ("乡镇排名", "png"),
    "document": ("重点项目通报", "docx"),
}
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


@dataclass(frozen=True)
class Column(Generic[T]):
    header: str
    value: Callable[[T], Any]
    number_format: str | None = None
    wrap: bool = False


def _local(at: datetime | None) -> datetime | None:
    """An aware (or naive UTC) datetime as naive Shanghai wall-clock time, for Excel."""
    return None if at is None else to_local(at).replace(tzinfo=None)


def _level(level: int) -> str:
    return LEVEL_NAMES[level] if 0 <= level < len(LEVEL_NAMES) else str(level)


PROJECT_COLUMNS: tuple[Column[ProjectStanding], ...] = (
    Column("编号", lambda p: p.code),
    Column("名称", lambda p: p.name),
    Column("类别", lambda p: p.category),
    Column("阶段", lambda p: p.stage),
    Column("乡镇", lambda p: p.town),
    Column("牵头单位", lambda p: p.lead_unit),
    Column("包抓领导", lambda p: p.lead_official),
    Column("联络员", lambda p: p.liaison),
    Column("年度计划(万元)", lambda p: p.annual_plan, WAN),
    Column("累计完成(万元)", lambda p: p.ytd_done, WAN),
    Column("完成率", lambda p: p.rate, PCT),
    Column("序时进度", lambda p: p.schedule, PCT),
    Column("差距(百分点)", lambda p: p.gap, POINTS),
    Column("预警", lambda p: LIGHT_NAMES.get(p.light, p.light)),
    Column("最近填报", lambda p: _local(p.last_report_at), DATETIME),
    Column("节点按期率", lambda p: p.node_punctuality, PCT),
    Column("排名", lambda p: p.rank, INT),
)


def _group_columns(name_header: str) -> tuple[Column[GroupStanding], ...]:
    return (
        Column("排名", lambda g: g.rank, INT),
        Column(name_header, lambda g: g.name),
        Column("项目数", lambda g: g.projects, INT),
        Column("投资完成指数", lambda g: g.investment, PCT),
        Column("填报及时率", lambda g: g.punctuality, PCT),
        Column("问题按期办结率", lambda g: g.problems, PCT),
        Column("节点按期率", lambda g: g.nodes, PCT),
        Column("综合得分", lambda g: g.score, SCORE),
    )


PROBLEM_COLUMNS: tuple[Column[ProblemRow], ...] = (
    Column("编号", lambda r: r.number),
    Column("项目", lambda r: f"{r.project_code} {r.project_name}".strip()),
    Column("类别", lambda r: r.category),
    Column("责任单位", lambda r: r.unit),
    Column("状态", lambda r: STATUS_NAMES.get(r.status, r.status)),
    Column("层级", lambda r: _level(r.level)),
    Column("提出时间", lambda r: _local(r.raised_at), DATETIME),
    Column("受理时限", lambda r: _local(r.response_due_at), DATETIME),
    Column("办结时限", lambda r: _local(r.resolution_due_at), DATETIME),
    Column("销号时间", lambda r: _local(r.closed_at), DATETIME),
    Column("问题", lambda r: r.text, wrap=True),
    Column("办理记录", lambda r: r.history, wrap=True),
)


PLAN_COLUMNS: tuple[Column[LedgerNode], ...] = (
    Column("项目编号", lambda n: n.code),
    Column("节点名称", lambda n: n.name),
    Column("计划完成日期", lambda n: n.planned_on, DAY),
    Column("实际完成日期", lambda n: n.done_on, DAY),
    Column("备注", lambda n: n.note or None, wrap=True),
)


# A node of a bulletin's lists: (which list, the node, days late on the bulletin's day)
NodeRow = tuple[str, NodeItem, int]
NODE_LISTS = {"ahead": "下周到期", "overdue": "逾期未完成", "late": "逾期完成"}
# What the nodes due ahead are called in the ledger of each kind of bulletin (the next period's span)
AHEAD_NAMES = {"weekly": "下周到期", "monthly": "下月到期", "quarterly": "下季度到期", "halfyear": "下期到期",
               "annual": "下年度到期"}
NODE_COLUMNS: tuple[Column[NodeRow], ...] = (
    Column("类别", lambda r: r[0]),
    Column("项目编号", lambda r: r[1].project_code),
    Column("项目名称", lambda r: r[1].project_name),
    Column("牵头单位", lambda r: r[1].lead_unit),
    Column("节点", lambda r: r[1].name),
    Column("计划完成", lambda r: r[1].planned_on, DAY),
    Column("实际完成", lambda r: r[1].done_on if r[0] == NODE_LISTS["late"] else None, DAY),
    Column("逾期天数", lambda r: r[2] or None, INT),
)


def _node_rows(nodes: BulletinNodes, kind: str = "weekly") -> list[NodeRow]:
    names = {**NODE_LISTS, "ahead": AHEAD_NAMES.get(kind, NODE_LISTS["ahead"])}
    return [(names[list_kind], node, node.days_late(nodes.as_of))
            for list_kind, items in (("overdue", nodes.overdue), ("late", nodes.late), ("ahead", nodes.ahead))
            for node in items]


def _shown(value: Any, number_format: str | None) -> str:
    """Roughly the text Excel shows for a cell, to size its column."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        if number_format == WAN:
            return f"{value:,.1f}"
        if number_format == PCT:
            return f"{float(value) * 100:.1f}%"
        if number_format == POINTS:
            return f"{float(value):+.1f}"
        if number_format == SCORE:
            return f"{float(value):.1f}"
        return str(value)
    return str(value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, float) and value != value:  # NaN: leave the cell empty
        return None
    return value


def _write_sheet(ws: Worksheet, columns: Sequence[Column[T]], items: Sequence[T]) -> None:
    widths = [display_width(c.header) for c in columns]
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row_index, item in enumerate(items, start=2):
        for col_index, column in enumerate(columns, start=1):
            value = _clean(column.value(item))
            cell = ws.cell(row=row_index, column=col_index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text, even when it starts with "="
            if column.number_format and value is not None:
                cell.number_format = column.number_format
            if column.wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            lines = _shown(value, column.number_format).splitlines() or [""]
            widths[col_index - 1] = max(widths[col_index - 1], *(display_width(line) for line in lines))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(items) + 1, 1)}"


def _project_order(projects: Sequence[ProjectStanding]) -> list[ProjectStanding]:
    """By rank, those sharing a place in the standings' order (by exact gap, then code: bot.domain.ranking)."""
    ranked = sorted((p for p in projects if p.rank is not None), key=lambda p: p.rank)
    return ranked + sorted((p for p in projects if p.rank is None), key=lambda p: p.code)


def _group_order(groups: Sequence[GroupStanding]) -> list[GroupStanding]:
    ranked = sorted((g for g in groups if g.rank is not None), key=lambda g: g.rank)  # stable: the standings' order
    return ranked + sorted((g for g in groups if g.rank is None), key=lambda g: g.name)


def ledger_workbook(standings: Standings, problems: list[ProblemRow], nodes: BulletinNodes | None = None, *,
                    plan: Sequence[LedgerNode] | None = None, kind: str = "weekly") -> bytes:
    """The .xlsx ledger of a bulletin: 项目台账, 单位排名, 乡镇排名, 问题清单; with ``nodes`` 节点清单 (the nodes
    missed and those due in the next period of the bulletin's ``kind``, in full); with ``plan`` (the ledger
    /export writes) 项目节点计划 in the import's columns: the sheet imported again changes nothing."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_PROJECTS
    projects = _project_order(standings.projects)
    _write_sheet(ws, PROJECT_COLUMNS, projects)
    light_col = next(i for i, c in enumerate(PROJECT_COLUMNS, start=1) if c.header == "预警")
    for row_index, project in enumerate(projects, start=2):
        fill = LIGHT_FILLS.get(project.light)
        if fill:
            ws.cell(row=row_index, column=light_col).fill = PatternFill("solid", fgColor=fill)
    _write_sheet(wb.create_sheet(SHEET_UNITS), _group_columns("牵头单位"), _group_order(standings.units))
    _write_sheet(wb.create_sheet(SHEET_TOWNS), _group_columns("乡镇"), _group_order(standings.towns))
    _write_sheet(wb.create_sheet(SHEET_PROBLEMS), PROBLEM_COLUMNS, problems)
    if nodes is not None:
        _write_sheet(wb.create_sheet(SHEET_NODES), NODE_COLUMNS, _node_rows(nodes, kind))
    if plan is not None:
        _write_sheet(wb.create_sheet(SHEET_PLAN), PLAN_COLUMNS, plan)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def bulletin_filename(kind: str, period: str) -> str:
    """File name of a bulletin attachment: ``bulletin_filename("ledger", "2026-W47")`` →
    "重点项目台账_2026-W47.xlsx". ``kind`` is a key of ``BULLETIN_KINDS``; characters that are not
    safe in file names are replaced in ``period``."""
    try:
        name, extension = BULLETIN_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown bulletin kind {kind!r}; one of {sorted(BULLETIN_KINDS)}") from None
    safe_period = _UNSAFE_IN_NAME.sub("-", period).strip("-.") or "未命名"
    return f"{name}_{safe_period}.{extension}"
