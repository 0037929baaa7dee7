"""Reading the ledger's files (.xlsx workbooks and .csv tables) into checked rows: see `bot.ledger`."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date
from pathlib import Path

from bot.domain.ledger_rows import Ledger
from bot.ledger.cells import is_blank
from bot.ledger.columns import (
    C_CODE,
    C_NAME,
    HEADER_SCAN_ROWS,
    N_NAME,
    N_PLANNED,
    NODE_COLUMNS,
    NODE_SHEET,
    P_NAME,
    P_ROLE,
    PEOPLE_COLUMNS,
    PEOPLE_SHEET,
    PROJECT_COLUMNS,
    PROJECT_SHEET,
    STAGE_COLUMNS,
    STAGE_SHEET,
)
from bot.ledger.cross_checks import Checks
from bot.ledger.issue_words import issue_words
from bot.ledger.sheet_parts import sheet_parts
from bot.ledger.tables import Table, find_table, sheet_grid


def read_ledger(
    paths: Sequence[Path],
    *,
    known_units: Collection[str] = (),
    known_projects: Collection[str] = (),
    known_people: Mapping[str, Collection[Collection[str]]] | None = None,
    progress: Callable[[int], object] | None = None,
    today: date | None = None,
) -> Ledger:
    """Read every file in ``paths`` (.xlsx or .csv) into one ``Ledger``.

    ``known_units`` are the unit names already in the database; together with the units named by
    联络员/单位经办人/管理员 rows of the people tables being imported they make up the units a
    project may name as 牵头单位/配合单位. 包抓领导 is checked against the imported people table
    only when one is given. With no unit known and no people table, one issue says the roster is missing.

    ``known_projects`` are the project codes already in the database: a row of 项目节点计划 must name one of
    them or a project of the files.

    ``known_people`` are the people stored without a phone, by name: the roles of each. Roster rows of one name
    and no phone in different roles are one person only when exactly one of them holds all those roles;
    otherwise they are refused, asking for the 手机.

    ``progress(1)`` is called once for every data row read (so ``tqdm.update`` fits).

    ``today``, the day of the import: a 实际开工 or 竣工日期 later than it is refused.
    """
    reader = _Reader(progress)
    reader.today = today
    for path in paths:
        reader.read_path(Path(path))
    ledger = reader.finish(known_units, reader.as_of, reader.year, known_projects=known_projects,
                           known_people=known_people or {})
    ledger.as_of_at = reader.as_of_at
    ledger.skipped_sheets = reader.skipped_sheets
    ledger.hidden_sheets = reader.hidden_sheets
    return ledger


class _Reader(Checks):
    def __init__(self, progress: Callable[[int], object] | None) -> None:
        super().__init__()
        self._progress = progress
        self._tables = 0
        self.as_of: date | None = None  # the first 截至某日 a projects table names
        self.as_of_at: tuple[str, int] = ("", 0)  # its sheet and header row
        self.year: int | None = None  # the first year a projects table's title names
        self.skipped_sheets: list[str] = []  # sheets of a workbook that has a ledger table, not read themselves
        self.hidden_sheets: list[str] = []  # hidden sheets: never read (an old copy kept out of sight)

    def _file_issue(self, sheet: str, reason: str, **context: object) -> None:
        """A problem with a whole file or sheet, by its reason in ledger_issue.j2."""
        self._tables += 1
        self._issue((self._tables, 0), sheet, 0, "", issue_words(reason, **context))

    # files -------------------------------------------------------------------------------

    def read_path(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            self._read_xlsx(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            self._read_csv(path)
        elif suffix == ".xls":
            self._file_issue(path.name, "old_xls")
        else:
            self._file_issue(path.name, "unknown_file")

    def _read_xlsx(self, path: Path) -> None:
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except FileNotFoundError:
            self._file_issue(path.name, "no_file")
            return
        except Exception:  # any unreadable workbook is the user's file, not our bug
            self._file_issue(path.name, "bad_xlsx")
            return
        found = False
        skipped: list[str] = []
        parts = sheet_parts(path)
        try:
            for sheet in workbook.worksheets:
                if sheet.sheet_state != "visible":  # hidden or very hidden: what the office put out of sight
                    self.hidden_sheets.append(sheet.title)
                    continue
                grid, banners = sheet_grid(sheet, parts.get(sheet.title))
                named = sheet.title.strip() in (PROJECT_SHEET, PEOPLE_SHEET, NODE_SHEET, STAGE_SHEET)
                if not any(not is_blank(c) for r in grid for c in r):
                    if named:
                        self._file_issue(sheet.title, "empty_sheet")
                        self._people_broken |= sheet.title.strip() == PEOPLE_SHEET
                        found = True
                    continue
                table = find_table(sheet.title, grid, banners)
                if table is None:
                    if named and sheet.title.strip() in (NODE_SHEET, STAGE_SHEET):
                        columns = [C_CODE, N_NAME, N_PLANNED] if sheet.title.strip() == NODE_SHEET else STAGE_COLUMNS
                        self._file_issue(sheet.title, "no_header", rows=HEADER_SCAN_ROWS, columns=list(columns))
                        found = True
                    elif named:
                        self._no_header(sheet.title, people=sheet.title.strip() == PEOPLE_SHEET)
                        found = True
                    else:
                        skipped.append(sheet.title)
                    continue
                found = True
                self._read_table(table)
        finally:
            workbook.close()
        if not found:
            self._file_issue(path.name, "no_tables", projects=PROJECT_SHEET, people=PEOPLE_SHEET)
        else:  # said with the summary: a sheet edited there (the export's 项目台账) is not imported
            self.skipped_sheets.extend(skipped)

    def _read_csv(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self._file_issue(path.name, "no_file")
            return
        except OSError:
            self._file_issue(path.name, "unreadable")
            return
        if b"\x00" in data[:4096]:
            self._file_issue(path.name, "unknown_file")
            return
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            self._file_issue(path.name, "encoding")
            return
        first_line = text.split("\n", 1)[0]
        delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
        grid: list[list[object]] = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
        if not any(not is_blank(c) for r in grid for c in r):
            self._file_issue(path.name, "empty_file")
            return
        table = find_table(path.name, grid, set())
        if table is None:
            self._no_header(path.name, people=None)
            return
        self._read_table(table)

    def _no_header(self, sheet: str, *, people: bool | None) -> None:
        if people is None:
            self._file_issue(sheet, "no_table", rows=HEADER_SCAN_ROWS, projects=[C_CODE], people=[P_NAME, P_ROLE],
                             nodes=[C_CODE, N_NAME])
            return
        if people:
            self._people_broken = True
        self._file_issue(sheet, "no_header", rows=HEADER_SCAN_ROWS,
                         columns=[P_NAME, P_ROLE] if people else [C_CODE, C_NAME])

    def _read_table(self, table: Table) -> None:
        self._tables += 1
        seq = self._tables
        expected = {"projects": PROJECT_COLUMNS, "people": PEOPLE_COLUMNS, "nodes": NODE_COLUMNS,
                    "stages": STAGE_COLUMNS}[table.kind]
        missing = [c for c in expected if c not in table.columns]
        for column in missing:
            self._issue((seq, table.header_row), table.sheet, table.header_row, column, issue_words("missing_column"))
        if missing:
            if table.kind == "people":
                self._people_broken = True
            return
        if table.kind in ("nodes", "stages"):
            self.nodes_read |= table.kind == "nodes"  # a sheet without rows names no project: it changes no node
        elif not table.rows:
            self._issue((seq, 0), table.sheet, 0, "", issue_words("header_only"))
            if table.kind == "people":
                self._people_broken = True
            return
        if table.kind == "people":
            self._people_read = True
        elif table.kind == "projects":
            if self.as_of is None and table.as_of is not None:
                self.as_of, self.as_of_at = table.as_of, (table.sheet, table.header_row)
            elif table.as_of is not None and table.as_of != self.as_of:
                # One import, one baseline's day: the figures of a table dated otherwise would be read as of
                # the first table's day (and cover reports of the wrong days).
                self._issue((seq, table.header_row), table.sheet, table.header_row, "",
                            issue_words("as_of_differs", day=table.as_of, first=self.as_of_at[0],
                                        first_day=self.as_of))
            self.year = self.year or table.year
        for number, cells in table.rows:
            self.check_row(seq, table, number, cells)
            if self._progress is not None:
                self._progress(1)

