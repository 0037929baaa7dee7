"""Reading one cell of the ledger: text, names, project codes, amounts, dates, phone numbers, and the
baseline's day when a title or header names it (「截至2026年11月30日」).

Each parser returns (value, None), (None, None) for an empty cell, or (None, a message in Chinese).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from bot.domain.amounts import AmountError, parse_amount
from bot.domain.digits import ASCII_DIGITS
from bot.domain.messages import one_line
from bot.domain.report_line import fold_code
from bot.domain.text_widths import width

# Excel serial numbers for 1950-01-01 .. 2100-12-31; other numbers in a date column are errors.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73415

_CODE_RE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
_PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_CHARS_RE = re.compile(r"[0-9\s\-+()]+")
_DATE_RE = re.compile(
    r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[\sT]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_COMPACT_DATE_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_LIST_SPLIT_RE = re.compile(r"[、，,;；\s]+")
PARENS = str.maketrans({"（": "(", "）": ")"})
_CJK_NAME_RE = re.compile(r"[\u3400-\u9fff·•\s]+")
TOTAL_LABELS = frozenset({"合计", "总计", "小计"})
BANNER_RE = re.compile(r"([一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|备注|注[:：]|说明)")


class CellProblem(NamedTuple):
    """Why a cell could not be read (a reason of ledger_issue.j2), and the cell as written."""

    reason: str
    raw: str


def cell_str(value: object) -> str:
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


def text_value(value: object) -> str | None:
    """A one-line text cell (a name, a unit, a place): its words on one line, without the control characters
    text pasted from Word brings (a line break there is a vertical tab), None when blank."""
    return one_line(cell_str(value)) or None


def paren_text(value: object) -> str | None:
    text = text_value(value)
    return text.translate(PARENS) if text else None


def person_name(value: object) -> str | None:
    name = paren_text(value)
    if name and _CJK_NAME_RE.fullmatch(name):
        name = re.sub(r"\s+", "", name)
    return name


def norm_code(text: str) -> str:
    """A 项目编号 cell as stored: read as a code typed in the chat is (``fold_code``: full-width, dashes folded)."""
    return fold_code(text)


def valid_code(code: str) -> bool:
    return (
        len(code) <= width("project_code") and bool(_CODE_RE.fullmatch(code)) and any(ch in ASCII_DIGITS for ch in code)
    )


def split_list(value: object) -> list[str]:
    text = paren_text(value) or ""
    seen: dict[str, None] = {}
    for part in _LIST_SPLIT_RE.split(text):
        if part:
            seen.setdefault(part, None)
    return list(seen)


def parse_number(value: object) -> tuple[Decimal | None, CellProblem | None]:
    """(amount in 万元, None), (None, None) for an empty cell, or (None, its problem).

    Text cells follow the chat's amount grammar (bot.domain.amounts): 「68,000」「4.2亿」「1200万元」.
    A negative number is returned as such (the caller refuses it, naming the value)."""
    if is_blank(value):
        return None, None
    raw = cell_str(value).strip()
    bad = CellProblem("not_number", raw)
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
    text = re.sub(r"[\s,]+", "", unicodedata.normalize("NFKC", value))
    if text.startswith("-"):
        try:
            negative = Decimal(text.removesuffix("万元"))
        except InvalidOperation:
            return None, bad
        return (negative, None) if negative.is_finite() else (None, bad)
    try:
        return parse_amount(text), None
    except AmountError:
        return None, bad


def parse_date(value: object) -> tuple[date | None, CellProblem | None]:
    """(date, None), (None, None) for an empty cell, or (None, its problem)."""
    if is_blank(value):
        return None, None
    raw = cell_str(value).strip()
    bad = CellProblem("not_date", raw)
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, bool):
        return None, bad
    if isinstance(value, int | float):
        if isinstance(value, int) and _COMPACT_DATE_RE.fullmatch(str(value)):
            return make_date(*_COMPACT_DATE_RE.fullmatch(str(value)).groups(), bad=bad)
        if _SERIAL_MIN <= value <= _SERIAL_MAX:
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date(), None
        return None, bad
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if not match:
        return None, bad
    return make_date(*match.groups()[:3], bad=bad)


def make_date(year: str, month: str, day: str, *, bad: CellProblem) -> tuple[date | None, CellProblem | None]:
    try:
        return date(int(year), int(month), int(day)), None
    except ValueError:
        return None, bad


def parse_phone(value: object) -> tuple[str | None, CellProblem | None]:
    """(11 digits, None), (None, None) for an empty cell, or (None, its problem)."""
    if is_blank(value):
        return None, None
    raw = cell_str(value).strip()
    bad = CellProblem("not_phone", raw)
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


def split_lead(text: str) -> tuple[str, str | None] | None:
    """「刘文华(副区长(城建))」 → ("刘文华", "副区长(城建)"); None when malformed."""
    text = text.translate(PARENS).strip()
    if "(" not in text and ")" not in text:
        parts = re.split(r"\s+", text, maxsplit=1)
        name = person_name(parts[0]) or ""
        title = parts[1].strip() if len(parts) > 1 else ""
        return (name, title or None) if name else None
    start = text.find("(")
    name = person_name(text[:start]) or ""
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


def fmt(amount: Decimal) -> str:
    """An amount as typed: no trailing zeros."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_AS_OF_RE = re.compile(
    r"截[至止]\s*([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*(?:[-/.月]\s*([0-9]{1,2})\s*日?|月\s*(底|末))"
)


_YEAR_RE = re.compile(r"(20[0-9]{2})\s*年")


def year_in(value: object) -> int | None:
    """The year a title names (「2026年全区重点项目包抓责任分解表」), or None."""
    match = _YEAR_RE.search(unicodedata.normalize("NFKC", cell_str(value)))
    return int(match.group(1)) if match else None


def as_of_in(value: object) -> date | None:
    """The day a title or header names as 截至 (「截至2026年11月30日」, 「截止2026-11-30」, 「截至2026年11月底」),
    or None."""
    text = unicodedata.normalize("NFKC", cell_str(value))
    match = _AS_OF_RE.search(text)
    if match is None:
        return None
    year, month, day, month_end = match.groups()
    try:
        if month_end:
            return date(int(year), int(month), calendar.monthrange(int(year), int(month))[1])
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
