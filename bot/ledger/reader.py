"""Reading the ledger's files (.xlsx workbooks and .csv tables) into checked rows: see `bot.ledger`."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable, Collection, Sequence
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
)
from bot.ledger.cross_checks import Checks
from bot.ledger.merges import merged_ranges
from bot.ledger.tables import Table, find_table, sheet_grid


def read_ledger(
    paths: Sequence[Path],
    *,
    known_units: Collection[str] = (),
    known_projects: Collection[str] = (),
    progress: Callable[[int], object] | None = None,
) -> Ledger:
    """Read every file in ``paths`` (.xlsx or .csv) into one ``Ledger``.

    ``known_units`` are the unit names already in the database; together with the units named by
    联络员/单位经办人/管理员 rows of the people tables being imported they make up the units a
    project may name as 牵头单位/配合单位. 包抓领导 is checked against the imported people table
    only when one is given. With no unit known and no people table, one issue says the roster is missing.

    ``known_projects`` are the project codes already in the database: a row of 项目节点计划 must name one of
    them or a project of the files.

    ``progress(1)`` is called once for every data row read (so ``tqdm.update`` fits).
    """
    reader = _Reader(progress)
    for path in paths:
        reader.read_path(Path(path))
    return reader.finish(known_units, reader.as_of, reader.year, known_projects=known_projects)


class _Reader(Checks):
    def __init__(self, progress: Callable[[int], object] | None) -> None:
        super().__init__()
        self._progress = progress
        self._tables = 0
        self.as_of: date | None = None  # the first 截至某日 a projects table names
        self.year: int | None = None  # the first year a projects table's title names

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
                workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except FileNotFoundError:
            self._file_issue(path.name, "找不到文件")
            return
        except Exception:  # any unreadable workbook is the user's file, not our bug
            self._file_issue(path.name, "无法打开 Excel 文件，请确认是有效的 .xlsx 文件")
            return
        found = False
        merges = merged_ranges(path)
        try:
            for sheet in workbook.worksheets:
                grid, banners = sheet_grid(sheet, merges.get(sheet.title, ()))
                named = sheet.title.strip() in (PROJECT_SHEET, PEOPLE_SHEET, NODE_SHEET)
                if not any(not is_blank(c) for r in grid for c in r):
                    if named:
                        self._file_issue(sheet.title, "工作表为空")
                        self._people_broken |= sheet.title.strip() == PEOPLE_SHEET
                        found = True
                    continue
                table = find_table(sheet.title, grid, banners)
                if table is None:
                    if named and sheet.title.strip() == NODE_SHEET:
                        self._file_issue(sheet.title, f"找不到表头：前{HEADER_SCAN_ROWS}行中没有「{C_CODE}」"
                                                      f"「{N_NAME}」「{N_PLANNED}」等列")
                        found = True
                    elif named:
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
        if not any(not is_blank(c) for r in grid for c in r):
            self._file_issue(path.name, "文件为空")
            return
        table = find_table(path.name, grid, set())
        if table is None:
            self._no_header(path.name, people=None)
            return
        self._read_table(table)

    def _no_header(self, sheet: str, *, people: bool | None) -> None:
        if people is None:
            message = (
                f"无法识别的表格：前{HEADER_SCAN_ROWS}行中找不到表头"
                f"（项目表需要「{C_CODE}」列，人员名单需要「{P_NAME}」「{P_ROLE}」列，"
                f"项目节点计划需要「{C_CODE}」「{N_NAME}」列）"
            )
        elif people:
            message = f"找不到表头：前{HEADER_SCAN_ROWS}行中没有「{P_NAME}」「{P_ROLE}」等列"
            self._people_broken = True
        else:
            message = f"找不到表头：前{HEADER_SCAN_ROWS}行中没有「{C_CODE}」「{C_NAME}」等列"
        self._file_issue(sheet, message)

    def _read_table(self, table: Table) -> None:
        self._tables += 1
        seq = self._tables
        expected = {"projects": PROJECT_COLUMNS, "people": PEOPLE_COLUMNS, "nodes": NODE_COLUMNS}[table.kind]
        missing = [c for c in expected if c not in table.columns]
        for column in missing:
            self._issue((seq, table.header_row), table.sheet, table.header_row, column, "缺少这一列")
        if missing:
            if table.kind == "people":
                self._people_broken = True
            return
        if table.kind == "nodes":
            self.nodes_read = True  # a sheet without rows takes every node off the plan, as it says
        elif not table.rows:
            self._issue((seq, 0), table.sheet, 0, "", "只有表头，没有数据行")
            if table.kind == "people":
                self._people_broken = True
            return
        if table.kind == "people":
            self._people_read = True
        elif table.kind == "projects":
            self.as_of = self.as_of or table.as_of
            self.year = self.year or table.year
        for number, cells in table.rows:
            self.check_row(seq, table, number, cells)
            if self._progress is not None:
                self._progress(1)

