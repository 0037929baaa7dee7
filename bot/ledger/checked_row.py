"""One data row of the ledger being checked: its cells read by template column, each problem told by row and
column, and the readings every table's rows share (项目编号, labels, widths).

The checks of each table's rows are in bot.ledger.row_checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from bot.domain.text_widths import too_wide
from bot.ledger.cells import CellProblem, norm_code, text_value, valid_code
from bot.ledger.columns import C_CODE
from bot.ledger.issue_words import issue_words
from bot.ledger.sheet_parts import Uncalculated
from bot.ledger.tables import Table

__all__ = ["IssueSink", "RowCheck", "project_code", "spaceless"]

T = TypeVar("T")

# Tells one issue: the row's key (table, row), sheet, row number, column and message.
IssueSink = Callable[[tuple[int, int], str, int, str, str], None]


class RowCheck:
    """One data row being checked: its cells by template column, and whether any issue was found in it.

    ``key`` is (the table's place among the tables read, the row's number in its sheet): issues sort by it.
    """

    def __init__(self, issue: IssueSink, key: tuple[int, int], table: Table, cells: list[object],
                 today: date | None = None) -> None:
        self._issue, self.key, self._table, self._cells = issue, key, table, cells
        self.today = today  # the day of the import: a day the row says happened may not be later
        self.sheet, self.number = table.sheet, key[1]
        self.ok = True
        self._uncalculated: set[str] = set()  # columns holding a formula without its value: said once, no more

    def get(self, column: str) -> object:
        """The cell of ``column`` (None: blank, or a column the table does not have). A formula whose value the
        file does not hold is said (the row left out) and read as blank."""
        index = self._table.columns.get(column)
        if index is None:  # an optional column the table does not have
            return None
        value = self._cells[index] if index < len(self._cells) else None
        if isinstance(value, Uncalculated):
            if column not in self._uncalculated:
                self.err(column, "formula_uncalculated", formula=value.formula)
                self._uncalculated.add(column)
            return None
        return value

    def err(self, column: str, reason: str, **context: object) -> None:
        """Report a problem in ``column`` of this row (which is then left out), by its reason in ledger_issue.j2."""
        self.ok = False
        if column in self._uncalculated:  # its formula was said: no other words about the blank it reads as
            return
        self._issue(self.key, self.sheet, self.number, column, issue_words(reason, **context))

    def fits(self, column: str, field: str, *texts: str | None) -> None:
        """Report a text of ``column`` longer than ``field``'s column holds (bot.domain.text_widths)."""
        for text in texts:
            wide = too_wide(field, text)
            if wide is not None:
                self.err(column, "too_wide", wide=wide)
                return

    def bad_cell(self, column: str, problem: CellProblem) -> None:
        """Report why ``column``'s cell could not be read."""
        self.err(column, problem.reason, raw=problem.raw)

    def parsed(self, column: str, parse: Callable[[object], tuple[T | None, CellProblem | None]]) -> T | None:
        """``column``'s cell read by one of bot.ledger.cells' parsers; its problem, if any, reported."""
        value, problem = parse(self.get(column))
        if problem:
            self.bad_cell(column, problem)
        return value


def project_code(check: RowCheck) -> str | None:
    """The row's 项目编号, normalised; None (and the row's issue told) when it is missing or not valid."""
    raw_code = text_value(check.get(C_CODE))
    if raw_code is None:
        check.err(C_CODE, "empty", what=C_CODE)
        return None
    code = norm_code(raw_code)
    wide = too_wide("project_code", code)
    if wide is not None:
        check.err(C_CODE, "too_wide", wide=wide)
        return None
    if not valid_code(code):
        check.err(C_CODE, "code_invalid", raw=raw_code)
        return None
    return code


def spaceless(value: object) -> str | None:
    """A label cell (建设阶段, 角色) without any of its spaces; None when blank."""
    text = text_value(value)
    return re.sub(r"\s+", "", text) if text is not None else None
