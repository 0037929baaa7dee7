"""Parsing a one-shot report line ("ZD2026-001 1.2亿 主体结构完成60%") and checking the amount."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

CODE_PATTERN = re.compile(r"^[A-Za-z]{1,10}\d{2,4}-\d{1,5}$")


@dataclass(frozen=True)
class ReportLine:
    """The parts of a one-shot report; amount and progress may be missing."""

    code: str
    amount_text: str | None
    progress: str


def looks_like_code(token: str) -> bool:
    return bool(CODE_PATTERN.match(token))


def parse_report_line(text: str) -> ReportLine | None:
    """Split "CODE AMOUNT PROGRESS…"; None when the first word is not a project code."""
    parts = text.strip().split(maxsplit=2)
    if not parts or not looks_like_code(parts[0]):
        return None
    return ReportLine(
        code=parts[0].upper(),
        amount_text=parts[1] if len(parts) > 1 else None,
        progress=parts[2].strip() if len(parts) > 2 else "",
    )


def exceeds_remaining(amount: Decimal, remaining: Decimal) -> bool:
    """A period's amount larger than what is left of the project's total investment is absurd."""
    return amount > max(remaining, Decimal(0))
