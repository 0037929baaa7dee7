"""The import's own sheets in the exported ledger: 重点项目包抓责任分解表, 人员名单 and 阶段记录, laid out as the
项目办's ledger is (a title row naming the year above the projects' header; the roster's header on row 1).

The projects sheet holds what the import stored (storage.ledger_export): each project's baseline, not its
year-to-date, under a header naming the baseline's day when the projects share one (「截至2026年11月30日累计
完成(万元)」), the plan of the baseline's year, and the days each project started and finished (实际开工,
竣工日期, last); the roster a row for each role of every person, a deactivated one marked 停用 in its last
column 状态; 阶段记录 every project's 开工, 竣工 and 恢复在建. So the workbook imported again, on the same
database or a fresh one, gives the same projects, people (their roles, and who is deactivated), units, plans,
figures, and stage histories.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.domain.labels import LIST_SEPARATOR
from bot.domain.ledger_rows import ROLE_BY_LABEL, PersonRow, ProjectRow, StageRow
from bot.domain.text_width import display_width
from bot.ledger.columns import (
    C_DONE,
    MOVE_BY_LABEL,
    PEOPLE_COLUMNS,
    PEOPLE_OPTIONAL,
    PEOPLE_SHEET,
    PROJECT_COLUMNS,
    PROJECT_OPTIONAL,
    PROJECT_SHEET,
    STAGE_COLUMNS,
    STAGE_SHEET,
    STATUS_STOPPED,
)
from bot.render import shared_renderer
from storage.ledger_export import LedgerTemplate

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TITLE_FONT = Font(bold=True, size=14)
WAN = "#,##0.0###"
DAY = "yyyy-mm-dd"
MAX_WIDTH = 40
LABEL_BY_ROLE = {role: label for label, role in reversed(ROLE_BY_LABEL.items())}  # the first label of a role
LABEL_BY_MOVE = {kind: label for label, kind in MOVE_BY_LABEL.items()}


def _amount(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _lead(row: ProjectRow) -> str | None:
    if not row.lead_official:
        return None
    return f"{row.lead_official}({row.lead_official_title})" if row.lead_official_title else row.lead_official


def _project_cells(row: ProjectRow) -> list[object]:
    return [row.code, row.name, row.category, row.level, row.location, row.owner, _amount(row.total_investment),
            _amount(row.annual_plan), _amount(row.done_before), row.stage, row.planned_start, row.planned_finish,
            _lead(row), row.lead_unit, LIST_SEPARATOR.join(row.supporting_units) or None, row.liaison,
            row.liaison_phone, row.started_on, row.finished_on]


def _person_cells(row: PersonRow) -> list[object]:
    return [row.name, LABEL_BY_ROLE[row.role], row.unit or row.title, row.phone,
            LIST_SEPARATOR.join(row.projects) or None, STATUS_STOPPED if row.active is False else None, row.key]


def _stage_cells(row: StageRow) -> list[object]:
    return [row.code, LABEL_BY_MOVE[row.kind], row.day]


def _table(ws: Worksheet, header: Sequence[str], rows: Sequence[list[object]]) -> None:
    """The header (bold, on the next row) and the rows under it: text as text, days and amounts formatted."""
    top = ws.max_row + 1 if ws.max_row > 1 or ws["A1"].value is not None else 1
    widths = [display_width(h) for h in header]
    for offset, cells in enumerate([list(header), *rows]):
        for index, value in enumerate(cells, start=1):
            cell = ws.cell(row=top + offset, column=index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # a code or a phone number stays text
            elif isinstance(value, date):
                cell.number_format = DAY
            elif isinstance(value, int | float):
                cell.number_format = WAN
            if offset == 0:
                cell.font, cell.fill = HEADER_FONT, HEADER_FILL
                cell.alignment = Alignment(horizontal="center", vertical="center")
            shown = value.isoformat() if isinstance(value, date) else "" if value is None else str(value)
            widths[index - 1] = max(widths[index - 1], display_width(shown))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    ws.freeze_panes = f"A{top + 1}"


def write_template(wb: Workbook, template: LedgerTemplate) -> None:
    """Add the sheets 重点项目包抓责任分解表 and 人员名单 to ``wb``."""
    words = shared_renderer()
    projects = wb.create_sheet(PROJECT_SHEET)
    header = [*PROJECT_COLUMNS, *PROJECT_OPTIONAL]  # 实际开工 and 竣工日期 last, as the import reads them
    if template.as_of is not None:
        header[header.index(C_DONE)] = words.phrase("ledger_export", "dated_done", template.as_of)
    if template.year is not None:
        projects.append([words.phrase("ledger_export", "template_title", template.year)])
        projects["A1"].font = TITLE_FONT
    _table(projects, header, [_project_cells(row) for row in template.projects])
    _table(wb.create_sheet(PEOPLE_SHEET), [*PEOPLE_COLUMNS, *PEOPLE_OPTIONAL],  # 状态: 停用, or blank
           [_person_cells(row) for row in template.people])


def write_stages(wb: Workbook, template: LedgerTemplate) -> None:
    """Add the sheet 阶段记录: each project's 开工, 竣工 and 恢复在建 with its day, in the order they happened."""
    _table(wb.create_sheet(STAGE_SHEET), STAGE_COLUMNS, [_stage_cells(row) for row in template.stages])
