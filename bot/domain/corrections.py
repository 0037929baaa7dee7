"""Who may correct which past report, and how a one-shot `/correct` line reads (pure rules).

A liaison corrects their own reports (or those of a project they are the liaison of) of the last N working
days (today counts as 0: a report of Monday is 2 working days old on Wednesday); an admin corrects any
report. Every correction needs a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.dates import split_leading_day
from bot.domain.report_line import ReportLine, parse_report_line, project_code
from bot.domain.workdays import WorkCalendar

# "理由：…" / "原因:…" (or the word followed by a space) starts the reason of a one-shot line.
_REASON = re.compile(r"(?:^|\s)(?:理由|原因)\s*[:：\s]\s*")


@dataclass(frozen=True)
class CorrectionLine:
    """`/correct CODE DAY [AMOUNT [PROGRESS]] [理由：REASON]` split up; missing parts are asked for."""

    code: str
    day: date | None
    line: ReportLine | None  # the amount and progress, read like a report line (None: not given)
    reason: str


def parse_correction_line(text: str, today: date) -> CorrectionLine | None:
    """None when the text does not start with a project code."""
    parts = text.strip().split(maxsplit=1)
    code = project_code(parts[0]) if parts else None
    if code is None:
        return None
    rest = parts[1] if len(parts) > 1 else ""
    reason = ""
    found = _REASON.search(rest)
    if found is not None:
        rest, reason = rest[:found.start()], rest[found.end():].strip()
    day, rest = split_leading_day(rest, today=today, past=True)  # 11-24, 昨天, 前天, 周五…
    line = parse_report_line(f"{code} {rest}") if day is not None and rest.strip() else None
    return CorrectionLine(code=code, day=day, line=line, reason=reason)


def correction_refusal(*, day: date, today: date, admin: bool, own: bool, calendar: WorkCalendar,
                       window: int) -> str | None:
    """Why the caller may not correct the report of `day` ("not_yours", "too_old"), or None if they may."""
    if admin:
        return None
    if not own:
        return "not_yours"
    if calendar.working_days_between(day, today) > window:
        return "too_old"
    return None


def oldest_correctable(today: date, calendar: WorkCalendar, window: int) -> date:
    """The earliest day a liaison may still correct (at most a year back)."""
    day = today
    while (today - day).days < 366 and calendar.working_days_between(day - timedelta(days=1), today) <= window:
        day -= timedelta(days=1)
    return day
