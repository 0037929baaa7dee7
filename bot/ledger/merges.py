"""The merged cells of each worksheet of an .xlsx file, read from the file itself.

openpyxl's read-only mode, which reads a large ledger several times faster, does not report merged cells,
so they are taken from the workbook's parts as the Office Open XML format (ECMA-376) defines them: the
workbook part lists the sheets with their relationship ids, its relationships name each sheet's part, and
a sheet part ends with ``<mergeCells><mergeCell ref="A1:Q1"/>…``.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Za-z]+\d+:[A-Za-z]+\d+)\"")

Range = tuple[int, int, int, int]  # min_col, min_row, max_col, max_row (1-based)


def merged_ranges(path: Path) -> dict[str, list[Range]]:
    """Sheet title → its merged ranges; an empty dict when the file's parts cannot be followed (the
    sheets are then read without merges)."""
    from openpyxl.utils.cell import range_boundaries  # openpyxl (and numpy) load with the first ledger read

    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in relations.iter(f"{_PACKAGE_REL}Relationship")}
            names = set(archive.namelist())
            found: dict[str, list[Range]] = {}
            for sheet in workbook.iter(f"{_MAIN}sheet"):
                target = targets.get(sheet.get(f"{_REL}id"), "")
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                if part not in names:
                    continue
                data = archive.read(part)
                found[sheet.get("name", "")] = [
                    range_boundaries(ref.decode()) for ref in _MERGE.findall(data)]  # type: ignore[misc]
            return found
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError, ValueError):
        return {}
