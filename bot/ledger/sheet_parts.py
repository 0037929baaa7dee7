"""What a worksheet's cells do not tell through openpyxl's read-only mode, read from the .xlsx file itself: the
merged cells, and the formulas whose value the file does not hold.

openpyxl's read-only mode, which reads a large ledger several times faster, does not report merged cells, and
with ``data_only`` a formula without a saved value reads as an empty cell (a workbook written by a program and
never opened and saved in Excel or WPS holds only the formulas): an empty 截至上月累计完成 is 0, so such a cell
must be told apart. Both are taken from the workbook's parts as the Office Open XML format (ECMA-376) defines
them: the workbook part lists the sheets with their relationship ids, its relationships name each sheet's part,
and a sheet part ends with ``<mergeCells><mergeCell ref="A1:Q1"/>…``; a formula cell is ``<c r="H7"><f>G7*0.6</f>
<v>40800</v></c>``, its value (``<v>``) missing or empty when none was saved (a text result, ``t="str"``, may be
empty).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Za-z]+\d+:[A-Za-z]+\d+)\"")
# A formula cell: its reference, its attributes, the formula's text (none for a shared formula's other cells)
# and its value, if one follows.
_FORMULA = re.compile(rb"<(?:\w+:)?c\s([^>]*?)>\s*<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>([^<]*)</(?:\w+:)?f>)\s*"
                      rb"(?:<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>)?")
_REF = re.compile(rb"(?:^|\s)r=\"([A-Za-z]+)(\d+)\"")
_TEXT_RESULT = re.compile(rb"(?:^|\s)t=\"str\"")

Range = tuple[int, int, int, int]  # min_col, min_row, max_col, max_row (1-based)


@dataclass(frozen=True)
class Uncalculated:
    """A formula cell whose value the file does not hold, in place of its value: the formula as typed (``=…``;
    None for the other cells of a shared formula, which hold none)."""

    formula: str | None

    def __str__(self) -> str:
        return self.formula or ""


@dataclass
class SheetParts:
    """A worksheet's merged ranges, and its formula cells without a value by (row, column), 1-based."""

    merges: list[Range] = field(default_factory=list)
    uncalculated: dict[tuple[int, int], Uncalculated] = field(default_factory=dict)


def sheet_parts(path: Path) -> dict[str, SheetParts]:
    """Sheet title → what its part says; an empty dict when the file's parts cannot be followed (the sheets
    are then read as openpyxl reads them)."""
    from openpyxl.utils.cell import column_index_from_string, range_boundaries  # loads with the first ledger

    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in relations.iter(f"{_PACKAGE_REL}Relationship")}
            names = set(archive.namelist())
            found: dict[str, SheetParts] = {}
            for sheet in workbook.iter(f"{_MAIN}sheet"):
                target = targets.get(sheet.get(f"{_REL}id"), "")
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                if part not in names:
                    continue
                data = archive.read(part)
                parts = SheetParts([range_boundaries(ref.decode()) for ref in _MERGE.findall(data)])  # type: ignore[misc]
                if b"<f" in data or b":f" in data:
                    for match in _FORMULA.finditer(data):
                        attributes, formula, value = match.groups()
                        ref = _REF.search(attributes)
                        if ref is None or value or _TEXT_RESULT.search(attributes):
                            continue
                        text = "=" + unescape(formula.decode()) if formula else None
                        cell = (int(ref.group(2)), column_index_from_string(ref.group(1).decode().upper()))
                        parts.uncalculated[cell] = Uncalculated(text)
                found[sheet.get("name", "")] = parts
            return found
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError, ValueError):
        return {}
