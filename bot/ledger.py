"""Read and validate the project ledger (重点项目台账) from .xlsx or .csv files.

This is the pure half of the ledger import: it opens the files, finds the tables, parses every
row and collects every problem it finds. It never touches the database; the caller upserts
``Ledger.projects`` / ``Ledger.people`` (typically only when ``Ledger.issues`` is empty).

Input
-----
* An .xlsx workbook with the sheets 「重点项目包抓责任分解表」 (projects) and 「人员名单」 (people).
  Every sheet is recognised by its header row (found in the first rows, below any title rows),
  so renamed sheets work too; sheets without a recognisable header are ignored unless they carry
  one of the two names above.
* A .csv file per table (UTF-8 with or without BOM, or GB18030 as Chinese Excel saves it),
  recognised as projects or people by its header row.

Headers are matched after Unicode NFKC folding (full-width parentheses and slashes) with all
whitespace removed, and a few common variants are accepted (e.g. 「总投资」 for 「总投资(万元)」).
Extra columns are ignored; every missing template column is reported once and the table's rows
are then skipped.

In xlsx sheets a value merged down several rows (e.g. one 包抓领导 for a block of projects) is
copied into every row of the merge; rows that are only a merged banner across the columns
(「一、工业项目」), 合计/总计/小计 rows and repeated header rows are skipped.

Output
------
``projects`` and ``people`` hold only the rows that passed every check, in file order; every
problem is an ``ImportIssue`` naming the sheet (the sheet title, or the file name for a CSV), the
spreadsheet's own 1-based row number and the template column header. Issues about a whole file or
sheet have ``row == 0`` and/or ``column == ""``.

Normalisation: project codes are upper-cased with ASCII hyphens; phone numbers are digits only
(a leading +86 is dropped); unit names, titles and person names use ASCII parentheses; person
names made only of Chinese characters lose padding spaces (「王  刚」 → 「王刚」).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from bot.domain.digits import ASCII_DIGITS

__all__ = [
    "PEOPLE_COLUMNS",
    "PEOPLE_SHEET",
    "PROJECT_COLUMNS",
    "PROJECT_SHEET",
    "ROLE_BY_LABEL",
    "STAGES",
    "ImportIssue",
    "Ledger",
    "PersonRow",
    "ProjectRow",
    "read_ledger",
]

PROJECT_SHEET = "重点项目包抓责任分解表"
PEOPLE_SHEET = "人员名单"

ROLE_BY_LABEL = {
    "联络员": "liaison",
    "首办秘书": "liaison",
    "单位经办人": "unit",
    "包抓领导": "lead",
    "区主要领导": "top",
    "管理员": "admin",
}
STAGES = ("谋划", "前期", "在建", "竣工", "投产")

C_CODE = "项目编号"
C_NAME = "项目名称"
C_CATEGORY = "项目类别"
C_LEVEL = "项目级别"
C_LOCATION = "建设地点"
C_OWNER = "项目业主"
C_TOTAL = "总投资(万元)"
C_PLAN = "年度计划投资(万元)"
C_DONE = "截至上月累计完成(万元)"
C_STAGE = "建设阶段"
C_START = "计划开工"
C_FINISH = "计划竣工"
C_LEAD = "包抓领导"
C_LEAD_UNIT = "牵头单位"
C_SUPPORTING = "配合单位"
C_LIAISON = "首办秘书(联络员)"
C_LIAISON_PHONE = "联络员手机"

P_NAME = "姓名"
P_ROLE = "角色"
P_UNIT = "单位/职务"
P_PHONE = "手机"
P_PROJECTS = "负责项目"

PROJECT_COLUMNS = (
    C_CODE, C_NAME, C_CATEGORY, C_LEVEL, C_LOCATION, C_OWNER, C_TOTAL, C_PLAN, C_DONE, C_STAGE,
    C_START, C_FINISH, C_LEAD, C_LEAD_UNIT, C_SUPPORTING, C_LIAISON, C_LIAISON_PHONE,
)
PEOPLE_COLUMNS = (P_NAME, P_ROLE, P_UNIT, P_PHONE, P_PROJECTS)

# Header variants seen in the wild, besides the template text itself.
_HEADER_ALIASES = {
    "总投资": C_TOTAL,
    "年度计划投资": C_PLAN,
    "截至上月累计完成": C_DONE,
    "截止上月累计完成": C_DONE,
    "截止上月累计完成(万元)": C_DONE,
    "首办秘书": C_LIAISON,
    "联络员": C_LIAISON,
    "联络员电话": C_LIAISON_PHONE,
    "联络员手机号": C_LIAISON_PHONE,
    "单位": P_UNIT,
    "单位职务": P_UNIT,
    "单位或职务": P_UNIT,
    "手机号": P_PHONE,
    "手机号码": P_PHONE,
}

_UNIT_ROLES = frozenset({"liaison", "unit", "admin"})  # 单位/职务 is a unit name
_LEADER_ROLES = frozenset({"lead", "top"})  # 单位/职务 is a title
_HEADER_SCAN_ROWS = 10
_CODE_MAX = 40

_CODE_RE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
_PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_CHARS_RE = re.compile(r"[0-9\s\-+()]+")
_DATE_RE = re.compile(
    r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[\sT]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_COMPACT_DATE_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_LIST_SPLIT_RE = re.compile(r"[、，,;；\s]+")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―－﹣−"})
_PARENS = str.maketrans({"（": "(", "）": ")"})
_CJK_NAME_RE = re.compile(r"[\u3400-\u9fff·•\s]+")
_TOTAL_LABELS = frozenset({"合计", "总计", "小计"})
_BANNER_RE = re.compile(r"([一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|备注|注[:：]|说明)")
# Excel serial numbers for 1950-01-01 .. 2100-12-31; other numbers in a date column are errors.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73415


@dataclass(frozen=True)
class PersonRow:
    """One row of 人员名单."""

    row: int
    name: str
    role: str  # a value of ROLE_BY_LABEL
    unit: str | None  # liaison / unit / admin: the unit (单位)
    title: str | None  # lead / top: the title (职务)
    phone: str | None  # 11 digits
    projects: tuple[str, ...]  # 负责项目, normalised project codes


@dataclass(frozen=True)
class ProjectRow:
    """One row of 重点项目包抓责任分解表. Amounts are in 万元."""

    row: int
    code: str
    name: str
    category: str
    level: str | None
    location: str | None
    owner: str | None
    total_investment: Decimal
    annual_plan: Decimal
    done_before: Decimal
    stage: str  # one of STAGES
    planned_start: date | None
    planned_finish: date | None
    lead_official: str | None  # 包抓领导 name
    lead_official_title: str | None  # the title in parentheses after the name
    lead_unit: str
    supporting_units: tuple[str, ...]
    liaison: str | None
    liaison_phone: str | None


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in the input, worded in Chinese for the person who uploaded it."""

    sheet: str  # sheet title, or the file name for a CSV / an unreadable file
    row: int  # the spreadsheet's 1-based row number; 0 = the whole sheet or file
    column: str  # the template header; "" = not about one column
    message: str

    def __str__(self) -> str:
        where = f"「{self.sheet}」"
        if self.row:
            where += f"第{self.row}行"
        if self.column:
            where += f"【{self.column}】"
        return f"{where}：{self.message}"


@dataclass
class Ledger:
    """What ``read_ledger`` found: clean rows plus every issue."""

    projects: list[ProjectRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)


def read_ledger(
    paths: Sequence[Path],
    *,
    known_units: Collection[str] = (),
    progress: Callable[[int], object] | None = None,
) -> Ledger:
    """Read every file in ``paths`` (.xlsx or .csv) into one ``Ledger``.

    ``known_units`` are the unit names already in the database; together with the units named by
    联络员/单位经办人/管理员 rows of the people tables being imported they make up the units a
    project may name as 牵头单位/配合单位. 包抓领导 is checked against the imported people table
    only when one is given.

    ``progress(1)`` is called once for every data row read (so ``tqdm.update`` fits).
    """
    reader = _Reader(progress)
    for path in paths:
        reader.read_path(Path(path))
    return reader.finish(known_units)


# --------------------------------------------------------------------------------------------
# Cell conversion


def _cell_str(value: object) -> str:
    """The text of a cell as a person would read it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _text(value: object) -> str | None:
    text = _cell_str(value).strip()
    return text or None


def _paren_text(value: object) -> str | None:
    text = _text(value)
    return text.translate(_PARENS) if text else None


def _person_name(value: object) -> str | None:
    name = _paren_text(value)
    if name and _CJK_NAME_RE.fullmatch(name):
        name = re.sub(r"\s+", "", name)
    return name


def _norm_code(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DASHES).strip().upper()


def _valid_code(code: str) -> bool:
    return (
        len(code) <= _CODE_MAX and bool(_CODE_RE.fullmatch(code)) and any(ch in ASCII_DIGITS for ch in code)
    )


def _split_list(value: object) -> list[str]:
    text = _paren_text(value) or ""
    seen: dict[str, None] = {}
    for part in _LIST_SPLIT_RE.split(text):
        if part:
            seen.setdefault(part, None)
    return list(seen)


def _parse_number(value: object) -> tuple[Decimal | None, str | None]:
    """(amount, None), (None, None) for an empty cell, or (None, error message)."""
    if _is_blank(value):
        return None, None
    raw = _cell_str(value).strip()
    bad = f"「{raw}」不是数字"
    if isinstance(value, bool):
        return None, bad
    if isinstance(value, int):
        return Decimal(value), None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, bad
        return (Decimal(int(value)) if value.is_integer() else Decimal(repr(value))), None
    if isinstance(value, Decimal):
        return (value, None) if value.is_finite() else (None, bad)
    if not isinstance(value, str):
        return None, bad
    text = unicodedata.normalize("NFKC", value)
    text = re.sub(r"[\s,]+", "", text)
    text = text.removesuffix("万元")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, bad
    if not amount.is_finite():
        return None, bad
    return amount, None


def _parse_date(value: object) -> tuple[date | None, str | None]:
    """(date, None), (None, None) for an empty cell, or (None, error message)."""
    if _is_blank(value):
        return None, None
    raw = _cell_str(value).strip()
    bad = f"「{raw}」不是有效日期（应类似 2026-07-01）"
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, bool):
        return None, bad
    if isinstance(value, int | float):
        if isinstance(value, int) and _COMPACT_DATE_RE.fullmatch(str(value)):
            return _make_date(*_COMPACT_DATE_RE.fullmatch(str(value)).groups(), bad=bad)
        if _SERIAL_MIN <= value <= _SERIAL_MAX:
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date(), None
        return None, bad
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if not match:
        return None, bad
    return _make_date(*match.groups()[:3], bad=bad)


def _make_date(year: str, month: str, day: str, *, bad: str) -> tuple[date | None, str | None]:
    try:
        return date(int(year), int(month), int(day)), None
    except ValueError:
        return None, bad


def _parse_phone(value: object) -> tuple[str | None, str | None]:
    """(11 digits, None), (None, None) for an empty cell, or (None, error message)."""
    if _is_blank(value):
        return None, None
    raw = _cell_str(value).strip()
    bad = f"「{raw}」不是有效的手机号（应为11位手机号码）"
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None, bad
    text = unicodedata.normalize("NFKC", raw)
    if not _PHONE_CHARS_RE.fullmatch(text):
        return None, bad
    digits = re.sub(r"\D", "", text)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not _PHONE_RE.fullmatch(digits):
        return None, bad
    return digits, None


def _split_lead(text: str) -> tuple[str, str | None] | None:
    """「刘文华(副区长(城建))」 → ("刘文华", "副区长(城建)"); None when malformed."""
    text = text.translate(_PARENS).strip()
    if "(" not in text and ")" not in text:
        parts = re.split(r"\s+", text, maxsplit=1)
        name = _person_name(parts[0]) or ""
        title = parts[1].strip() if len(parts) > 1 else ""
        return (name, title or None) if name else None
    start = text.find("(")
    name = _person_name(text[:start]) or ""
    inner = text[start + 1 :]
    if not name or not inner.endswith(")"):
        return None
    inner = inner[:-1]
    depth = 0
    for ch in inner:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return None
    if depth:
        return None
    return name, inner.strip() or None


def _fmt(amount: Decimal) -> str:
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------------------------
# Tables


@dataclass
class _Table:
    kind: Literal["projects", "people"]
    sheet: str
    header_row: int
    columns: dict[str, int]  # template header -> 0-based index
    rows: list[tuple[int, list[object]]]  # (spreadsheet row, cells), data rows only


@dataclass
class _ProjectDraft:
    key: tuple[int, int]
    sheet: str
    row: ProjectRow | None  # None when a field could not be parsed
    code: str | None
    lead_name: str | None
    lead_unit: str | None
    supporting: tuple[str, ...]
    ok: bool


@dataclass
class _PersonDraft:
    key: tuple[int, int]
    sheet: str
    row: PersonRow | None
    name: str | None
    role: str | None
    unit: str | None
    ok: bool


def _header_key(value: object) -> str:
    text = unicodedata.normalize("NFKC", _cell_str(value))
    return re.sub(r"\s+", "", text)


_CANONICAL = {_header_key(c): c for c in (*PROJECT_COLUMNS, *PEOPLE_COLUMNS)}
_CANONICAL.update({_header_key(k): v for k, v in _HEADER_ALIASES.items()})


def _map_header(cells: Sequence[object]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        canonical = _CANONICAL.get(_header_key(cell))
        if canonical and canonical not in columns:
            columns[canonical] = index
    return columns


def _table_kind(columns: dict[str, int]) -> Literal["projects", "people"] | None:
    if C_CODE in columns and len(columns.keys() & set(PROJECT_COLUMNS)) >= 2:
        return "projects"
    if P_NAME in columns and len(columns.keys() & set(PEOPLE_COLUMNS)) >= 2:
        return "people"
    return None


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _find_table(sheet: str, grid: list[list[object]], banners: set[int]) -> _Table | None:
    """Locate the header in the first rows of ``grid`` and collect the data rows below it."""
    for index, cells in enumerate(grid[:_HEADER_SCAN_ROWS]):
        columns = _map_header(cells)
        kind = _table_kind(columns)
        if kind is None:
            continue
        key_column = C_CODE if kind == "projects" else P_NAME
        key_index = columns[key_column]
        rows: list[tuple[int, list[object]]] = []
        for offset, data in enumerate(grid[index + 1 :], start=index + 2):
            if offset in banners or all(_is_blank(c) for c in data):
                continue
            filled = [c for c in data if not _is_blank(c)]
            if key_index < len(data) and _header_key(data[key_index]) == _header_key(key_column):
                continue  # a repeated header (page header, or the lower half of a merged header)
            if any(re.sub(r"\s+", "", _cell_str(c)) in _TOTAL_LABELS for c in data[:3]):
                continue
            if len(filled) == 1 and _BANNER_RE.match(_cell_str(filled[0]).strip()):
                continue
            rows.append((offset, list(data)))
        return _Table(kind, sheet, index + 1, columns, rows)
    return None


class _RowCheck:
    """One data row being checked: its cells by template column, and whether any issue was found in it."""

    def __init__(self, issue: Callable[[tuple[int, int], str, int, str, str], None], key: tuple[int, int],
                 table: _Table, cells: list[object]) -> None:
        self._issue, self.key, self._table, self._cells = issue, key, table, cells
        self.ok = True

    def get(self, column: str) -> object:
        index = self._table.columns[column]
        return self._cells[index] if index < len(self._cells) else None

    def err(self, column: str, message: str) -> None:
        """Report a problem in ``column`` of this row (which is then left out)."""
        self.ok = False
        self._issue(self.key, self._table.sheet, self.key[1], column, message)


# --------------------------------------------------------------------------------------------
# Reading


class _Reader:
    def __init__(self, progress: Callable[[int], object] | None) -> None:
        self._progress = progress
        self._issues: list[tuple[tuple[int, int, int], ImportIssue]] = []
        self._projects: list[_ProjectDraft] = []
        self._people: list[_PersonDraft] = []
        self._tables = 0
        self._people_read = False  # a people table was read
        self._people_broken = False  # a people table was given but could not be read

    # issues ------------------------------------------------------------------------------

    def _issue(self, key: tuple[int, int], sheet: str, row: int, column: str, message: str) -> None:
        order = (key[0], key[1], len(self._issues))
        self._issues.append((order, ImportIssue(sheet, row, column, message)))

    def _file_issue(self, sheet: str, message: str, row: int = 0, column: str = "") -> None:
        self._tables += 1
        self._issue((self._tables, row), sheet, row, column, message)

    # files -------------------------------------------------------------------------------

    def read_path(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            self._read_xlsx(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            self._read_csv(path)
        elif suffix == ".xls":
            self._file_issue(path.name, "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再上传")
        else:
            self._file_issue(path.name, "无法识别的文件：需要 .xlsx 或 .csv")

    def _read_xlsx(self, path: Path) -> None:
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                workbook = openpyxl.load_workbook(path, data_only=True)
        except FileNotFoundError:
            self._file_issue(path.name, "找不到文件")
            return
        except Exception:  # any unreadable workbook is the user's file, not our bug
            self._file_issue(path.name, "无法打开 Excel 文件，请确认是有效的 .xlsx 文件")
            return
        found = False
        try:
            for sheet in workbook.worksheets:
                if not hasattr(sheet, "merged_cells"):
                    continue  # a chart sheet
                grid, banners = _sheet_grid(sheet)
                named = sheet.title.strip() in (PROJECT_SHEET, PEOPLE_SHEET)
                if not any(not _is_blank(c) for r in grid for c in r):
                    if named:
                        self._file_issue(sheet.title, "工作表为空")
                        self._people_broken |= sheet.title.strip() == PEOPLE_SHEET
                        found = True
                    continue
                table = _find_table(sheet.title, grid, banners)
                if table is None:
                    if named:
                        self._no_header(sheet.title, people=sheet.title.strip() == PEOPLE_SHEET)
                        found = True
                    continue
                found = True
                self._read_table(table)
        finally:
            workbook.close()
        if not found:
            self._file_issue(
                path.name, f"工作簿中没有找到「{PROJECT_SHEET}」或「{PEOPLE_SHEET}」表（按表头识别）"
            )

    def _read_csv(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self._file_issue(path.name, "找不到文件")
            return
        except OSError:
            self._file_issue(path.name, "无法读取文件")
            return
        if b"\x00" in data[:4096]:
            self._file_issue(path.name, "无法识别的文件：需要 .xlsx 或 .csv")
            return
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            self._file_issue(path.name, "无法识别的文件编码：请保存为 UTF-8 的 CSV")
            return
        first_line = text.split("\n", 1)[0]
        delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
        grid: list[list[object]] = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
        if not any(not _is_blank(c) for r in grid for c in r):
            self._file_issue(path.name, "文件为空")
            return
        table = _find_table(path.name, grid, set())
        if table is None:
            self._no_header(path.name, people=None)
            return
        self._read_table(table)

    def _no_header(self, sheet: str, *, people: bool | None) -> None:
        if people is None:
            message = (
                f"无法识别的表格：前{_HEADER_SCAN_ROWS}行中找不到表头"
                f"（项目表需要「{C_CODE}」列，人员名单需要「{P_NAME}」「{P_ROLE}」列）"
            )
        elif people:
            message = f"找不到表头：前{_HEADER_SCAN_ROWS}行中没有「{P_NAME}」「{P_ROLE}」等列"
            self._people_broken = True
        else:
            message = f"找不到表头：前{_HEADER_SCAN_ROWS}行中没有「{C_CODE}」「{C_NAME}」等列"
        self._file_issue(sheet, message)

    def _read_table(self, table: _Table) -> None:
        self._tables += 1
        seq = self._tables
        expected = PROJECT_COLUMNS if table.kind == "projects" else PEOPLE_COLUMNS
        missing = [c for c in expected if c not in table.columns]
        for column in missing:
            self._issue((seq, table.header_row), table.sheet, table.header_row, column, "缺少这一列")
        if missing:
            if table.kind == "people":
                self._people_broken = True
            return
        if not table.rows:
            self._issue((seq, 0), table.sheet, 0, "", "只有表头，没有数据行")
            if table.kind == "people":
                self._people_broken = True
            return
        if table.kind == "people":
            self._people_read = True
        for number, cells in table.rows:
            if table.kind == "projects":
                self._projects.append(self._project_row(seq, table, number, cells))
            else:
                self._people.append(self._person_row(seq, table, number, cells))
            if self._progress is not None:
                self._progress(1)

    # rows --------------------------------------------------------------------------------

    def _project_row(self, seq: int, table: _Table, number: int, cells: list[object]) -> _ProjectDraft:
        check = _RowCheck(self._issue, (seq, number), table, cells)
        get, err = check.get, check.err

        code: str | None = None
        raw_code = _text(get(C_CODE))
        if raw_code is None:
            err(C_CODE, "项目编号不能为空")
        else:
            code = _norm_code(raw_code)
            if not _valid_code(code):
                err(C_CODE, f"「{raw_code}」不是有效的项目编号（应类似 ZD2026-001，中间不能有空格）")
                code = None

        name = _text(get(C_NAME))
        if name is None:
            err(C_NAME, "项目名称不能为空")
        category = _text(get(C_CATEGORY))
        if category is None:
            err(C_CATEGORY, "项目类别不能为空")

        amounts: dict[str, Decimal | None] = {}
        for column in (C_TOTAL, C_PLAN, C_DONE):
            amount, problem = _parse_number(get(column))
            if problem:
                err(column, problem)
            elif amount is None and column == C_DONE:
                amount = Decimal(0)
            elif amount is None:
                err(column, "不能为空")
            elif amount < 0:
                err(column, f"「{_fmt(amount)}」不能为负数")
                amount = None
            amounts[column] = amount
        total, plan, done = amounts[C_TOTAL], amounts[C_PLAN], amounts[C_DONE]
        if total is not None and plan is not None and plan > total:
            err(C_PLAN, f"年度计划投资（{_fmt(plan)}）大于总投资（{_fmt(total)}）")
        if total is not None and done is not None and done > total:
            err(C_DONE, f"截至上月累计完成（{_fmt(done)}）大于总投资（{_fmt(total)}）")

        stage = _text(get(C_STAGE))
        if stage is not None:
            stage = re.sub(r"\s+", "", stage)
        if stage is None:
            err(C_STAGE, "建设阶段不能为空")
        elif stage not in STAGES:
            err(C_STAGE, f"未知的建设阶段「{stage}」（可选：{'、'.join(STAGES)}）")

        dates: dict[str, date | None] = {}
        for column in (C_START, C_FINISH):
            day, problem = _parse_date(get(column))
            if problem:
                err(column, problem)
            dates[column] = day
        start, finish = dates[C_START], dates[C_FINISH]
        if start and finish and finish < start:
            err(C_FINISH, f"计划竣工（{finish.isoformat()}）早于计划开工（{start.isoformat()}）")

        lead_name: str | None = None
        lead_title: str | None = None
        raw_lead = _text(get(C_LEAD))
        if raw_lead is not None:
            parsed = _split_lead(raw_lead)
            if parsed is None:
                err(C_LEAD, f"「{raw_lead}」格式不对，应为「姓名(职务)」，如「刘文华(副区长(城建))」")
            else:
                lead_name, lead_title = parsed

        lead_unit = _paren_text(get(C_LEAD_UNIT))
        if lead_unit is None:
            err(C_LEAD_UNIT, "牵头单位不能为空")
        supporting = tuple(_split_list(get(C_SUPPORTING)))

        liaison = _person_name(get(C_LIAISON))
        liaison_phone, problem = _parse_phone(get(C_LIAISON_PHONE))
        if problem:
            err(C_LIAISON_PHONE, problem)

        row: ProjectRow | None = None
        if check.ok:
            assert code and name and category and stage and lead_unit
            assert total is not None and plan is not None and done is not None
            row = ProjectRow(
                row=number,
                code=code,
                name=name,
                category=category,
                level=_text(get(C_LEVEL)),
                location=_text(get(C_LOCATION)),
                owner=_text(get(C_OWNER)),
                total_investment=total,
                annual_plan=plan,
                done_before=done,
                stage=stage,
                planned_start=start,
                planned_finish=finish,
                lead_official=lead_name,
                lead_official_title=lead_title,
                lead_unit=lead_unit,
                supporting_units=supporting,
                liaison=liaison,
                liaison_phone=liaison_phone,
            )
        return _ProjectDraft(check.key, table.sheet, row, code, lead_name, lead_unit, supporting, check.ok)

    def _person_row(self, seq: int, table: _Table, number: int, cells: list[object]) -> _PersonDraft:
        check = _RowCheck(self._issue, (seq, number), table, cells)
        get, err = check.get, check.err

        name = _person_name(get(P_NAME))
        if name is None:
            err(P_NAME, "姓名不能为空")

        role: str | None = None
        label = _text(get(P_ROLE))
        if label is None:
            err(P_ROLE, "角色不能为空")
        else:
            label = re.sub(r"\s+", "", label)
            role = ROLE_BY_LABEL.get(label)
            if role is None:
                err(P_ROLE, f"未知的角色「{label}」（可选：{'、'.join(ROLE_BY_LABEL)}）")

        unit_or_title = _paren_text(get(P_UNIT))
        unit = unit_or_title if role in _UNIT_ROLES else None
        title = unit_or_title if role in _LEADER_ROLES else None
        if role in ("liaison", "unit") and unit is None:
            err(P_UNIT, f"{label}需要填写所在单位")

        phone, problem = _parse_phone(get(P_PHONE))
        if problem:
            err(P_PHONE, problem)

        codes: list[str] = []
        for part in _split_list(get(P_PROJECTS)):
            code = _norm_code(part)
            if _valid_code(code):
                codes.append(code)
            else:
                err(P_PROJECTS, f"「{part}」不是有效的项目编号（应类似 ZD2026-001）")

        row: PersonRow | None = None
        if check.ok:
            assert name and role
            row = PersonRow(number, name, role, unit, title, phone, tuple(dict.fromkeys(codes)))
        return _PersonDraft(check.key, table.sheet, row, name, role, unit, check.ok)

    # cross-row checks --------------------------------------------------------------------

    def finish(self, known_units: Collection[str]) -> Ledger:
        self._check_duplicate_projects()
        self._check_duplicate_people()
        if self._people_broken:
            # The roster given could not be read, so units and leads cannot be checked. Its issue
            # already explains why; leave every project out rather than bury it in unit errors.
            for draft in self._projects:
                draft.ok = False
        else:
            known = {u.strip().translate(_PARENS) for u in known_units if u and u.strip()}
            known |= {p.unit for p in self._people if p.role in _UNIT_ROLES and p.unit}
            self._check_units(known)
            if self._people_read:
                leaders = {p.name for p in self._people if p.role in _LEADER_ROLES and p.name}
                self._check_leads(leaders)
        ledger = Ledger(
            projects=[d.row for d in self._projects if d.ok and d.row is not None],
            people=[d.row for d in self._people if d.ok and d.row is not None],
            issues=[issue for _, issue in sorted(self._issues, key=lambda item: item[0])],
        )
        return ledger

    def _reject(self, draft: _ProjectDraft | _PersonDraft, column: str, message: str) -> None:
        draft.ok = False
        self._issue(draft.key, draft.sheet, draft.key[1], column, message)

    def _check_duplicate_projects(self) -> None:
        first: dict[str, _ProjectDraft] = {}
        for draft in self._projects:
            if draft.code is None:
                continue
            seen = first.setdefault(draft.code, draft)
            if seen is not draft:
                self._reject(draft, C_CODE, f"项目编号「{draft.code}」重复（{_where(seen, draft)}已有）")

    def _check_duplicate_people(self) -> None:
        by_name_phone: dict[tuple[str, str | None], _PersonDraft] = {}
        by_phone: dict[str, _PersonDraft] = {}
        for draft in self._people:
            if draft.row is None:
                continue
            person = draft.row
            seen = by_name_phone.setdefault((person.name, person.phone), draft)
            if seen is not draft:
                self._reject(draft, P_NAME, f"「{person.name}」重复（{_where(seen, draft)}已有同名同手机号的人员）")
                continue
            if person.phone:
                owner = by_phone.setdefault(person.phone, draft)
                if owner is not draft and owner.row is not None:
                    self._reject(
                        draft, P_PHONE, f"手机号「{person.phone}」已用于{_where(owner, draft)}的「{owner.row.name}」"
                    )

    def _check_units(self, known: set[str]) -> None:
        for draft in self._projects:
            if draft.lead_unit and draft.lead_unit not in known:
                self._reject(draft, C_LEAD_UNIT, _unknown_unit(draft.lead_unit))
            for unit in draft.supporting:
                if unit not in known:
                    self._reject(draft, C_SUPPORTING, _unknown_unit(unit))

    def _check_leads(self, leaders: set[str]) -> None:
        for draft in self._projects:
            if draft.lead_name and draft.lead_name not in leaders:
                self._reject(
                    draft,
                    C_LEAD,
                    f"包抓领导「{draft.lead_name}」不在人员名单中（角色应为包抓领导或区主要领导）",
                )


def _unknown_unit(unit: str) -> str:
    return f"未知单位「{unit}」：不在系统单位中，也不是人员名单中联络员/单位经办人的单位"


def _where(seen: _ProjectDraft | _PersonDraft, draft: _ProjectDraft | _PersonDraft) -> str:
    if seen.sheet == draft.sheet:
        return f"第{seen.key[1]}行"
    return f"「{seen.sheet}」第{seen.key[1]}行"


def _sheet_grid(sheet: object) -> tuple[list[list[object]], set[int]]:
    """Cell values of a worksheet, merges resolved; plus the 1-based rows that are only a banner.

    A value merged down several rows is copied into each of them. A merge across several columns
    keeps its value in the first cell only; a row holding nothing but such a merge is a banner.
    """
    grid = [list(r) for r in sheet.iter_rows(min_row=1, values_only=True)]  # type: ignore[attr-defined]
    banners: set[int] = set()
    for merged in sheet.merged_cells.ranges:  # type: ignore[attr-defined]
        top, left = merged.min_row, merged.min_col
        if top > len(grid):
            continue
        value = grid[top - 1][left - 1] if left - 1 < len(grid[top - 1]) else None
        for r in range(top + 1, min(merged.max_row, len(grid)) + 1):
            cells = grid[r - 1]
            if left - 1 < len(cells):
                cells[left - 1] = value
        if merged.max_col > merged.min_col:
            for r in range(top, min(merged.max_row, len(grid)) + 1):
                cells = grid[r - 1]
                outside = [c for i, c in enumerate(cells, start=1) if not left <= i <= merged.max_col]
                if all(_is_blank(c) for c in outside):
                    banners.add(r)
    return grid, banners

