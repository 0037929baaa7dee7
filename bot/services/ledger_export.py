"""The bulletin's Excel ledger (.xlsx): projects, unit and town rankings, the problem list and the milestones
(节点) the bulletin lists; for /export also the import's sheets (重点项目包抓责任分解表, 人员名单, the node
plan 项目节点计划 and the stage history 阶段记录) in the columns the import reads.

One sheet per table, each with a bold frozen header row, an auto filter, column widths fitted to the
content (a CJK character counts two columns) and real numbers with display formats: 万元 amounts as
``#,##0.0``, rates as ``0.0%``, gaps in percentage points as ``+0.0;-0.0``. Excel cannot store
time-zone-aware datetimes, so times are written as naive Asia/Shanghai wall-clock times.

Text is written as text: a name such as ``=HYPERLINK(…)`` never becomes a formula, and control
characters Excel refuses are dropped.

The sheets' names, the headers and the words written for codes are in bot/templates/ledger_export.j2; the
项目节点计划 sheet is the import's (bot.ledger.columns), so that it can be imported again.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
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
from bot.domain.standings import GroupStanding, ProblemEventRow, ProblemRow, ProjectStanding, Standings
from bot.domain.text_width import display_width
from bot.ledger.columns import C_CODE, N_DONE, N_NAME, N_NOTE, N_PLANNED, NODE_SHEET
from bot.render import shared_renderer

if TYPE_CHECKING:
    from storage.ledger_export import LedgerTemplate
    from storage.nodes import LedgerNode

T = TypeVar("T")

WAN = "#,##0.0"
PCT = "0.0%"
POINTS = "+0.0;-0.0"
SCORE = "0.0"
INT = "0"
DATETIME = "yyyy-mm-dd hh:mm"

LIGHT_FILLS = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE"}

MIN_WIDTH = 6
MAX_WIDTH = 60  # longer text wraps
NOTE_WIDTH = 100  # the 说明 sheet's one column
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

SHEET_PLAN = NODE_SHEET  # the import's sheet and columns (bot.ledger), so that it can be imported again
DAY = "yyyy-mm-dd"

# kind → the extension of its file (its name is in the template's ``files``)
BULLETIN_KINDS: dict[str, str] = {"ledger": "xlsx", "ranking": "png", "units": "png", "towns": "png",
                                  "document": "docx"}
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def _words(name: str) -> Any:
    return shared_renderer().words("ledger_export", name)


@dataclass(frozen=True)
class Column(Generic[T]):
    """A column by its key (its header is the template's ``headers[key]``, or the import's for the node plan);
    ``named``: the template's table of words its value, a code, is written as."""

    key: str
    value: Callable[[T], Any]
    number_format: str | None = None
    wrap: bool = False
    named: str | None = None


def _local(at: datetime | None) -> datetime | None:
    """An aware (or naive UTC) datetime as naive Shanghai wall-clock time, for Excel."""
    return None if at is None else to_local(at).replace(tzinfo=None)


HISTORY_TEXT_CHARS = 30  # of each event's text in the 办理记录 cell (the problem card shows it in full)


def history_cell(events: Sequence[ProblemEventRow]) -> str:
    """A problem's history in one cell, worded as the problem card words it (_problem_event.j2)."""
    if not events:
        return ""
    return shared_renderer().phrase("_problem_event", "history_cell", events, HISTORY_TEXT_CHARS)


def _level(level: int) -> str:
    return LEVEL_NAMES[level] if 0 <= level < len(LEVEL_NAMES) else str(level)


def _last_report(p: ProjectStanding) -> datetime | str | None:
    """最近填报: the liaison's latest report; without one, words saying so when the 项目办 entered a 补报 (an empty
    cell next to counted money reads as "nothing was ever reported")."""
    if p.last_report_at is not None or not p.backfilled:
        return _local(p.last_report_at)
    return str(shared_renderer().words("_no_own_report", "only_backfilled"))


PROJECT_COLUMNS: tuple[Column[ProjectStanding], ...] = (
    Column("code", lambda p: p.code),
    Column("name", lambda p: p.name),
    Column("category", lambda p: p.category),
    Column("stage", lambda p: p.stage),
    Column("started", lambda p: p.started_on, DAY),
    Column("finished", lambda p: p.finished_on if p.finished else None, DAY),
    Column("town", lambda p: p.town),
    Column("lead_unit", lambda p: p.lead_unit),
    Column("lead_official", lambda p: p.lead_official),
    Column("liaison", lambda p: p.liaison),
    Column("annual_plan", lambda p: p.annual_plan, WAN),
    Column("ytd_done", lambda p: p.ytd_done, WAN),
    Column("rate", lambda p: p.rate, PCT),
    Column("schedule", lambda p: p.schedule, PCT),
    Column("gap", lambda p: p.gap, POINTS),
    Column("light", lambda p: p.light, named="lights"),
    Column("last_report", lambda p: _last_report(p), DATETIME),
    Column("node_punctuality", lambda p: p.node_punctuality, PCT),
    Column("rank", lambda p: p.rank, INT),
)


def _group_columns(name_key: str) -> tuple[Column[GroupStanding], ...]:
    return (
        Column("rank", lambda g: g.rank, INT),
        Column(name_key, lambda g: g.name),
        Column("projects", lambda g: g.projects, INT),
        Column("investment", lambda g: g.investment, PCT),
        Column("punctuality", lambda g: g.punctuality, PCT),
        Column("problems", lambda g: g.problems, PCT),
        Column("nodes", lambda g: g.nodes, PCT),
        Column("score", lambda g: g.score, SCORE),
    )


PROBLEM_COLUMNS: tuple[Column[ProblemRow], ...] = (
    Column("number", lambda r: r.number),
    Column("project", lambda r: f"{r.project_code} {r.project_name}".strip()),
    Column("category", lambda r: r.category),
    Column("responsible_unit", lambda r: r.unit),
    Column("status", lambda r: r.status, named="statuses"),
    Column("level", lambda r: _level(r.level)),
    Column("raised", lambda r: _local(r.raised_at), DATETIME),
    Column("response_due", lambda r: _local(r.response_due_at), DATETIME),
    Column("resolution_due", lambda r: _local(r.resolution_due_at), DATETIME),
    Column("closed", lambda r: _local(r.closed_at), DATETIME),
    Column("text", lambda r: r.text, wrap=True),
    Column("history", lambda r: history_cell(r.events), wrap=True),
)


# The import's columns of the node plan: their headers are the import's own (bot.ledger.columns).
PLAN_COLUMNS: tuple[Column[LedgerNode], ...] = (
    Column(C_CODE, lambda n: n.code),
    Column(N_NAME, lambda n: n.name),
    Column(N_PLANNED, lambda n: n.planned_on, DAY),
    Column(N_DONE, lambda n: n.done_on, DAY),
    Column(N_NOTE, lambda n: n.note or None, wrap=True),
)
PLAN_HEADERS = {column.key: column.key for column in PLAN_COLUMNS}


# A node of a bulletin's lists: (which list: overdue, late, ahead; the node; days late on the bulletin's day)
NodeRow = tuple[str, NodeItem, int]
NODE_COLUMNS: tuple[Column[NodeRow], ...] = (
    Column("list", lambda r: r[0], named="node_lists"),
    Column("project_code", lambda r: r[1].project_code),
    Column("project_name", lambda r: r[1].project_name),
    Column("lead_unit", lambda r: r[1].lead_unit),
    Column("node", lambda r: r[1].name),
    Column("planned", lambda r: r[1].planned_on, DAY),
    Column("done", lambda r: r[1].done_on if r[0] == "late" else None, DAY),
    Column("days_late", lambda r: r[2] or None, INT),
)


def _node_rows(nodes: BulletinNodes) -> list[NodeRow]:
    return [(list_kind, node, node.days_late(nodes.as_of))
            for list_kind, items in (("overdue", nodes.overdue), ("late", nodes.late), ("ahead", nodes.ahead))
            for node in items]


def _node_list_names(kind: str) -> dict[str, str]:
    """Which list a node is on, in words; those due ahead by the next period of a bulletin of ``kind``."""
    names = dict(_words("node_lists"))
    names["ahead"] = _words("ahead").get(kind, names["ahead"])
    return names


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


def _write_sheet(ws: Worksheet, columns: Sequence[Column[T]], items: Sequence[T], headers: Mapping[str, str],
                 named: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """``items`` under the ``headers`` of the columns' keys; a ``named`` column's codes written as their words."""
    named = named or {}
    header_row = [headers[c.key] for c in columns]
    widths = [display_width(header) for header in header_row]
    ws.append(header_row)
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row_index, item in enumerate(items, start=2):
        for col_index, column in enumerate(columns, start=1):
            value = column.value(item)
            if column.named:
                value = named[column.named].get(value, value)
            value = _clean(value)
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


def _write_notes(wb: Workbook, title: str, header: str, notes: Sequence[str]) -> None:
    """The sheet 说明, first and active: one note a row under a bold header, wrapped in one wide column."""
    ws = wb.create_sheet(title, 0)
    ws.append([header])
    ws["A1"].font = HEADER_FONT
    ws["A1"].fill = HEADER_FILL
    for note in notes:
        ws.append([_clean(note)])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = NOTE_WIDTH
    for sheet in wb.worksheets:  # one tab selected, else Excel opens them grouped
        sheet.sheet_view.tabSelected = sheet is ws
    wb.active = 0


def ledger_workbook(standings: Standings, problems: list[ProblemRow], nodes: BulletinNodes | None = None, *,
                    plan: Sequence[LedgerNode] | None = None, template: LedgerTemplate | None = None,
                    kind: str = "weekly", notes: Sequence[str] = ()) -> bytes:
    """The .xlsx ledger of a bulletin: 项目台账, 单位排名, 乡镇排名, 问题清单; with ``nodes`` 节点清单 (the nodes
    missed and those due in the next period of the bulletin's ``kind``, in full); with ``plan`` (the ledger
    /export writes) 项目节点计划 in the import's columns, and with ``template`` the import's 重点项目包抓责任分解表
    and 人员名单 before it and 阶段记录 last (bot.services.ledger_sheets): the workbook imported again changes
    nothing. With ``notes``
    (what a bulletin says of its figures: bot/templates/_base_note.j2) a first sheet 说明 holds them, and the
    workbook opens on it."""
    sheets, headers = _words("sheets"), _words("headers")
    named = {"lights": _words("lights"), "statuses": _words("statuses")}
    wb = Workbook()
    ws = wb.active
    ws.title = sheets["projects"]
    projects = _project_order(standings.projects)
    _write_sheet(ws, PROJECT_COLUMNS, projects, headers, named)
    light_col = next(i for i, c in enumerate(PROJECT_COLUMNS, start=1) if c.key == "light")
    for row_index, project in enumerate(projects, start=2):
        fill = LIGHT_FILLS.get(project.light)
        if fill:
            ws.cell(row=row_index, column=light_col).fill = PatternFill("solid", fgColor=fill)
    _write_sheet(wb.create_sheet(sheets["units"]), _group_columns("unit"), _group_order(standings.units), headers)
    _write_sheet(wb.create_sheet(sheets["towns"]), _group_columns("town"), _group_order(standings.towns), headers)
    _write_sheet(wb.create_sheet(sheets["problems"]), PROBLEM_COLUMNS, problems, headers, named)
    if nodes is not None:
        _write_sheet(wb.create_sheet(sheets["nodes"]), NODE_COLUMNS, _node_rows(nodes), headers,
                     {"node_lists": _node_list_names(kind)})
    if template is not None:
        from bot.services.ledger_sheets import write_template

        write_template(wb, template)
    if plan is not None:
        _write_sheet(wb.create_sheet(SHEET_PLAN), PLAN_COLUMNS, plan, PLAN_HEADERS)
    if template is not None:
        from bot.services.ledger_sheets import write_stages

        write_stages(wb, template)
    if notes:
        _write_notes(wb, sheets["notes"], headers["notes"], notes)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def bulletin_filename(kind: str, period: str) -> str:
    """File name of a bulletin attachment: ``bulletin_filename("ledger", "2026-W47")`` →
    "重点项目台账_2026-W47.xlsx". ``kind`` is a key of ``BULLETIN_KINDS``; characters that are not
    safe in file names are replaced in ``period``."""
    try:
        extension = BULLETIN_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown bulletin kind {kind!r}; one of {sorted(BULLETIN_KINDS)}") from None
    safe_period = _UNSAFE_IN_NAME.sub("-", period).strip("-.") or _words("unnamed")
    return f"{_words('files')[kind]}_{safe_period}.{extension}"
