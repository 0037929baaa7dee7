"""Leave (请假) and substitutes (代理人): reading `/leave`, and who answers for a liaison or a 包抓领导 on a day.

A leave covers local days ``start``..``end`` (both included). While a liaison's runs, his projects owe no
report (``bot.domain.duties``); the reminders go to the substitute when one is named, and the substitute
may report for those projects. While a 包抓领导's runs with a substitute (another leader), the substitute holds
his level on his projects' problems (the substitute of his leave covering the day, ``on_leave``): escalations,
extension requests, 批示 and his digest go to the substitute, who sees those projects (``standing_for``). Pure:
no I/O and no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.dates import split_leading_day

LEAVE_MAX_DAYS = 90  # the longest leave one /leave records (calendar days)

# "12-10至12-15", "2026-12-10到2026-12-15", "12-10~12-15": the word between two days is a space.
_BETWEEN = re.compile(r"(?<=[0-9日号天])\s*(?:至|到|~|～|—)\s*(?=[0-9今明后本这下周星礼])")


@dataclass(frozen=True)
class LeaveSpan:
    """One recorded leave of `person_id`, as the rules need it."""

    person_id: int
    start: date
    end: date
    substitute_id: int | None = None

    def covers(self, day: date) -> bool:
        """Whether `day` is one of the leave's days."""
        return self.start <= day <= self.end


@dataclass(frozen=True)
class LeaveRequest:
    """What `/leave` asked for: whose (None: the caller's), the days, and the substitute's name."""

    who: str | None
    start: date
    end: date
    substitute: str | None


@dataclass(frozen=True)
class LeaveError:
    """Why a `/leave` cannot be recorded: a reason the template words."""

    reason: str  # usage | order | past | too_long


def parse_leave(text: str, *, today: date) -> LeaveRequest | LeaveError:
    """`[姓名] 开始 [结束] [代理人]`: days in any form of ``bot.domain.dates`` (one day: no end).

    A first word that is not a day is whose leave it is (an admin's /leave for someone)."""
    rest = _BETWEEN.sub(" ", text.strip())
    who: str | None = None
    start, after = split_leading_day(rest, today=today)
    if start is None:
        who, _, rest = rest.partition(" ")
        start, after = split_leading_day(rest, today=today)
        if start is None or not who:
            return LeaveError("usage")
    end, tail = split_leading_day(after, today=today)
    if end is None:
        end, tail = start, after
    substitute = tail.strip() or None
    if substitute is not None and len(substitute.split()) > 1:
        return LeaveError("usage")
    if end < start:
        return LeaveError("order")
    if start < today:
        return LeaveError("past")
    if (end - start).days + 1 > LEAVE_MAX_DAYS:
        return LeaveError("too_long")
    return LeaveRequest(who=who, start=start, end=end, substitute=substitute)


def overlapping(spans: Iterable[LeaveSpan], start: date, end: date) -> LeaveSpan | None:
    """The first of `spans` sharing a day with start..end, if any."""
    return next((s for s in spans if s.start <= end and start <= s.end), None)


def on_leave(spans: Iterable[LeaveSpan], person_id: int, day: date) -> LeaveSpan | None:
    """The leave of `person_id` covering `day`, if any."""
    return next((s for s in spans if s.person_id == person_id and s.covers(day)), None)


def reporter_on(spans: Iterable[LeaveSpan], liaison_id: int, day: date) -> int | None:
    """Who answers for the liaison's projects on `day`: the liaison; the substitute while the liaison is on
    a leave that names one; None while on a leave without a substitute."""
    leave = on_leave(spans, liaison_id, day)
    if leave is None:
        return liaison_id
    return leave.substitute_id


def standing_for(spans: Iterable[LeaveSpan], person_id: int, day: date) -> frozenset[int]:
    """Whom `person_id` stands in for on `day`: the people whose leave covering the day names him."""
    return frozenset(s.person_id for s in spans if s.substitute_id == person_id and s.covers(day))


def days_covered(spans: Iterable[LeaveSpan], days: Iterable[date]) -> set[date]:
    """Which of `days` some leave of `spans` covers."""
    spans = list(spans)
    return {d for d in days if any(s.covers(d) for s in spans)}


def cut_short(span: LeaveSpan, today: date) -> LeaveSpan | None:
    """The leave after 销假 today: gone if it had not begun (None); otherwise it ends yesterday (the caller
    is back today). A leave already over stays as it was."""
    if span.start >= today:
        return None
    if span.end < today:
        return span
    return LeaveSpan(span.person_id, span.start, today - timedelta(days=1), span.substitute_id)
