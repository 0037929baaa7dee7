"""Read and validate the project ledger (重点项目台账) from .xlsx or .csv files.

This is the pure half of the ledger import: it opens the files, finds the tables, parses every
row and collects every problem it finds. It never touches the database; the import service
(bot.services.ledger_import) writes ``Ledger.projects`` / ``Ledger.people`` when ``Ledger.issues`` is empty.

Input
-----
* An .xlsx workbook with the sheets 「重点项目包抓责任分解表」 (projects) and 「人员名单」 (people), and
  optionally 「项目节点计划」 (nodes) and 「阶段记录」 (each project's 开工, 竣工 and 恢复在建 with its day).
  Every sheet is recognised by its header row (found in the first rows, below any title rows),
  so renamed sheets work too; sheets without a recognisable header are ignored unless they carry
  one of the two names above. Hidden sheets are never read (``Ledger.hidden_sheets`` names them).
* A .csv file per table (UTF-8 with or without BOM, or GB18030 as Chinese Excel saves it),
  recognised as projects or people by its header row.

Headers are matched after Unicode NFKC folding (full-width parentheses and slashes) with all
whitespace removed, and a few common variants are accepted (e.g. 「总投资」 for 「总投资(万元)」, or a
dated 「截至2026年11月30日累计完成(万元)」). Extra columns are ignored; every missing template column is
reported once and the table's rows are then skipped. The projects table may also have 实际开工 and 竣工日期
(optional: an older ledger has neither): the days the import dates a 开工 or 竣工 it records by; neither may
be later than ``today`` (the day of the import), nor the finish before the start.

In xlsx sheets a value merged down several rows (e.g. one 包抓领导 for a block of projects) is
copied into every row of the merge; rows that are only a merged banner across the columns
(「一、工业项目」), 合计/总计/小计 rows and repeated header rows are skipped. A formula whose value the
file does not hold (never saved in Excel or WPS) is an issue of its cell, not a blank.

Output
------
``projects`` and ``people`` hold only the rows that passed every check, in file order; every
problem is an ``ImportIssue`` naming the sheet (the sheet title, or the file name for a CSV), the
spreadsheet's own 1-based row number and the template column header. Issues about a whole file or
sheet have ``row == 0`` and/or ``column == ""``. ``as_of`` is the baseline's day when a title row or the
header of the projects table names it (「截至2026年11月30日」), else None (the import asks for it).

Normalisation: project codes are upper-cased with ASCII hyphens; phone numbers are digits only
(a leading +86 is dropped); unit names, titles and person names use ASCII parentheses; person
names made only of Chinese characters lose padding spaces (「王  刚」 → 「王刚」). Amount cells follow the
chat's amount grammar (bot.domain.amounts: 「4.2亿」 is 42,000 万元).

Modules: `cells` (one cell), `columns` (the template's headers), `tables` (finding a table in a sheet),
`checked_row` (a row being checked: its cells and issues), `row_checks` (each table's row on its own),
`cross_checks` (across rows), `reader` (files), `sheet_parts` (what the .xlsx file says that openpyxl's read-only
mode does not: merged cells, formulas without a value).
"""

from bot.domain.ledger_rows import ROLE_BY_LABEL, STAGES, ImportIssue, Ledger, PersonRow, ProjectRow
from bot.ledger.columns import PEOPLE_COLUMNS, PEOPLE_SHEET, PROJECT_COLUMNS, PROJECT_SHEET
from bot.ledger.reader import read_ledger

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
