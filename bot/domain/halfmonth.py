"""The half-monthly written report (半月报): its periods, when liaisons are asked, when it is compiled, and
the texts it is prefilled with.

Pure date arithmetic and text assembly. A half-month is the 1st–15th or the 16th–last day of a month. On
the first working day from the 1st and from the 16th (the 1st/16th itself when it is a working day), each
liaison is asked for the report on the half-month that has just ended; the office compiles it
``compile_after`` working days later. Reports are numbered per year: 1–24 (第N期), the first half of
January being 1. A project owes the report on a half-month when it was being prepared or built on any of its
days: one finished (竣工) within it owes its last one, and none from the next half-month on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.domain.duties import REPORTING_STAGES
from bot.domain.stage_history import Move, stage_on
from bot.domain.workdays import WorkCalendar

BULLETIN_KIND = "halfmonth"  # the kind of the `bulletins` row that marks a half-month compiled
COMPILE_AFTER = 2  # working days after the ask day on which the office's document is compiled (a setting)
PREFILL_MAX = 600  # characters of a prefilled text: a phone screen, not the whole period's diary


@dataclass(frozen=True)
class HalfMonth:
    """One half of a month: its first and last day."""

    start: date
    end: date

    @property
    def first_half(self) -> bool:
        return self.start.day == 1

    @property
    def number(self) -> int:
        """第N期 of its year: the first half of January is 1, the second half of December 24."""
        return (self.start.month - 1) * 2 + (1 if self.first_half else 2)

    @property
    def key(self) -> str:
        """A stable name for keys and the command line: "2026-11-16" (its first day)."""
        return self.start.isoformat()


def containing(day: date) -> HalfMonth:
    """The half-month `day` is in."""
    if day.day <= 15:
        return HalfMonth(day.replace(day=1), day.replace(day=15))
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return HalfMonth(day.replace(day=16), next_month - timedelta(days=1))


def previous(half: HalfMonth) -> HalfMonth:
    return containing(half.start - timedelta(days=1))


def following(half: HalfMonth) -> HalfMonth:
    return containing(half.end + timedelta(days=1))


def ask_day(half: HalfMonth, calendar: WorkCalendar) -> date:
    """The day liaisons are asked for `half`'s report: the first working day from the day after it ends."""
    day = half.end + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def compile_day(half: HalfMonth, calendar: WorkCalendar, after: int = COMPILE_AFTER) -> date:
    """The day the office's document on `half` is compiled: `after` working days after its ask day."""
    day = ask_day(half, calendar)
    for _ in range(after):
        day += timedelta(days=1)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
    return day


def latest_asked(today: date, calendar: WorkCalendar) -> HalfMonth:
    """The half-month whose report is being asked for on `today`: the latest one whose ask day has come
    (before the 1st/16th's ask day, the one before it)."""
    half = previous(containing(today))
    return half if ask_day(half, calendar) <= today else previous(half)


def reported_within(stage: str, moves: Sequence[Move], half: HalfMonth) -> bool:
    """Whether a project now in ``stage``, with these recorded moves, was being prepared or built on some day
    of ``half`` (so owes its report on it): in a reporting stage as the half-month began, or after a move of one
    of its days (a 竣工 on its first day leaves the day before 在建: that half-month is still owed)."""
    days = [half.start - timedelta(days=1)] + [move.day for move in moves if half.start <= move.day <= half.end]
    return any(stage_on(stage, moves, day) in REPORTING_STAGES for day in days)


_PERIOD = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


def parse(text: str) -> HalfMonth:
    """The half-month containing a date written 2026-11-16; ValueError otherwise."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a date")
    return containing(date(int(match.group(1)), int(match.group(2)), int(match.group(3))))


@dataclass(frozen=True)
class DayReport:
    """One day's counted report on a project, as the prefill reads it."""

    day: date
    amount: Decimal
    progress: str


@dataclass(frozen=True)
class OpenIssue:
    """An open problem on a project, as the prefill reads it."""

    number: str
    category: str
    text: str
    unit: str
    answer: str | None
    promised: date | None


@dataclass(frozen=True)
class ProgressFacts:
    """What the period's daily reports say, for the prefilled 进展情况: how often, how much, and the
    progress texts in order (each distinct text once, the latest last)."""

    reports: int
    total: Decimal
    latest_day: date | None
    texts: tuple[str, ...]


def progress_facts(reports: list[DayReport]) -> ProgressFacts:
    ordered = sorted(reports, key=lambda r: r.day)
    texts = tuple(dict.fromkeys(r.progress.strip() for r in ordered if r.progress.strip()))
    return ProgressFacts(reports=len(ordered), total=sum((r.amount for r in ordered), Decimal(0)),
                         latest_day=ordered[-1].day if ordered else None, texts=texts)

