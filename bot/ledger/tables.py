"""Finding a table in a sheet: the header row (below any title rows), the data rows under it (merged cells
resolved; banners, totals and repeated headers left out), and the baseline's day a title names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.ledger.cells import BANNER_RE, TOTAL_LABELS, as_of_in, cell_str, is_blank, year_in
from bot.ledger.columns import C_CODE, HEADER_SCAN_ROWS, P_NAME, header_key, map_header, table_kind
from bot.ledger.sheet_parts import SheetParts


@dataclass
class Table:
    """One table found in a sheet or CSV file."""

    kind: Literal["projects", "people", "nodes", "stages"]
    sheet: str
    header_row: int
    columns: dict[str, int]  # template header -> 0-based index
    rows: list[tuple[int, list[object]]]  # (spreadsheet row, cells), data rows only
    as_of: date | None = None  # 截至某日 named by a title row or the header
    year: int | None = None  # the year a title row above the header names (「2026年…分解表」)


def find_table(sheet: str, grid: list[list[object]], banners: set[int]) -> Table | None:
    """Locate the header in the first rows of ``grid`` and collect the data rows below it."""
    for index, cells in enumerate(grid[:HEADER_SCAN_ROWS]):
        columns = map_header(cells)
        kind = table_kind(columns)
        if kind is None:
            continue
        key_column = P_NAME if kind == "people" else C_CODE
        key_index = columns[key_column]
        rows: list[tuple[int, list[object]]] = []
        for offset, data in enumerate(grid[index + 1 :], start=index + 2):
            if offset in banners or all(is_blank(c) for c in data):
                continue
            filled = [c for c in data if not is_blank(c)]
            if key_index < len(data) and header_key(data[key_index]) == header_key(key_column):
                continue  # a repeated header (page header, or the lower half of a merged header)
            if any(re.sub(r"\s+", "", cell_str(c)) in TOTAL_LABELS for c in data[:3]):
                continue
            if len(filled) == 1 and BANNER_RE.match(cell_str(filled[0]).strip()):
                continue
            rows.append((offset, list(data)))
        as_of = next((day for cells_above in grid[: index + 1] for cell in cells_above
                      if (day := as_of_in(cell)) is not None), None)
        year = next((found for cells_above in grid[:index] for cell in cells_above
                     if (found := year_in(cell)) is not None), None)
        return Table(kind, sheet, index + 1, columns, rows, as_of, year)
    return None


def sheet_grid(sheet: object, parts: SheetParts | None = None) -> tuple[list[list[object]], set[int]]:
    """Cell values of a worksheet, what its ``parts`` say resolved; plus the 1-based rows that are only a banner.

    A formula whose value the file does not hold is its ``Uncalculated`` (not an empty cell). A value merged
    down several rows is copied into each of them. A merge across several columns keeps its value in the
    first cell only; a row holding nothing but such a merge is a banner.
    """
    # A read-only sheet whose stored size is missing or wrong would be read twice to size it; rows of
    # different lengths are fine here (every reader of a row checks its length).
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()
    grid = [list(r) for r in sheet.iter_rows(min_row=1, values_only=True)]  # type: ignore[attr-defined]
    parts = parts or SheetParts()
    for (row, column), formula in parts.uncalculated.items():
        if row <= len(grid):
            cells = grid[row - 1]
            cells.extend([None] * (column - len(cells)))
            cells[column - 1] = formula
    banners: set[int] = set()
    for min_col, top, max_col, max_row in parts.merges:
        left = min_col
        if top > len(grid):
            continue
        value = grid[top - 1][left - 1] if left - 1 < len(grid[top - 1]) else None
        for r in range(top + 1, min(max_row, len(grid)) + 1):
            cells = grid[r - 1]
            if left - 1 < len(cells):
                cells[left - 1] = value
        if max_col > min_col:
            for r in range(top, min(max_row, len(grid)) + 1):
                cells = grid[r - 1]
                outside = [c for i, c in enumerate(cells, start=1) if not left <= i <= max_col]
                if all(is_blank(c) for c in outside):
                    banners.add(r)
    return grid, banners
