"""Open problems' deadlines counted again when the working-day calendar changes (日历调整后重算时限).

When an admin enters the official holidays and 调休 days of a year (or removes an entry, or declares the year
entered in full, or undoes that), every running deadline of an open problem that was counted in working days
is counted again from its start on the new calendar, by the one rule (`bot.domain.workdays.deadline_after`).
A deadline someone chose instead (a meeting's day, an approved extension, a unit's promised date) keeps its
day, unless that day has become a rest day: then it moves to the next working day, as a day typed on a rest
day does (`bot.domain.promises.on_working_day`). The 按预估日历 mark follows the deadlines as they now are
(`bot.domain.escalation.on_estimate`).

A promised date must fall within the resolution deadline (a later one is asked as an extension,
`bot.domain.promises.check_promise`). When the deadline moves earlier than the promise, the promise is kept, as
the unit gave it, and the result says it now runs past the deadline (`Recount.promise_late`): the unit is to finish
by the deadline or ask for an extension, and the cards show it as 超出办结时限 until then.

A deadline is taken as counted from a start only when counting from that start on the calendar before the
change gives exactly the deadline the problem has: what cannot be shown to have been counted is not counted
again. Pure: the caller passes the calendars before and after the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from bot.domain.escalation import Clock, ProblemClock, on_estimate, running_clocks
from bot.domain.promises import end_of
from bot.domain.workdays import SHANGHAI, Deadline, WorkCalendar, deadline_after


@dataclass(frozen=True)
class Count:
    """One way a deadline may have been counted: `days` working days after `start`."""

    start: datetime
    days: int


@dataclass(frozen=True)
class Moved:
    """A deadline that the new calendar moves, from `before` to `after`."""

    clock: Clock
    before: datetime
    after: datetime


@dataclass(frozen=True)
class Recount:
    """A problem's deadlines on the new calendar, its 按预估日历 mark, and the deadlines that moved."""

    response_due_at: datetime | None
    resolution_due_at: datetime | None
    promised_date: date | None
    estimated: bool
    moved: tuple[Moved, ...]
    promise_late: bool = False  # the promised date now ends after the resolution deadline


def recount_deadline(
    due: datetime, counts: Sequence[Count], *, before: WorkCalendar, after: WorkCalendar, end_of_day: time
) -> Deadline:
    """`due` on the calendar `after`: counted again from the first of `counts` that gives `due` on `before`;
    when none does, a chosen day, kept unless it was a working day and no longer is (then the next working
    day, at the same time of day)."""
    for count in counts:
        if deadline_after(before, count.start, count.days, end_of_day=end_of_day).at == due:
            return deadline_after(after, count.start, count.days, end_of_day=end_of_day)
    local = due.astimezone(SHANGHAI)
    day = chosen_day(local.date(), before=before, after=after)
    at = due if day == local.date() else datetime.combine(day, local.time(), tzinfo=SHANGHAI).astimezone(UTC)
    return Deadline(at=at, local_day=day, estimated=after.is_estimated(day))


def chosen_day(day: date, *, before: WorkCalendar, after: WorkCalendar) -> date:
    """A day somebody chose on the calendar `before`, on the calendar `after`: the same day, or the next
    working day when the change made a rest day of it."""
    if before.is_working_day(day) and not after.is_working_day(day):
        return after.next_working_day(day)
    return day


def recount_problem(
    state: ProblemClock,
    *,
    response: Sequence[Count],
    resolution: Sequence[Count],
    promised_date: date | None,
    end_of_day: time,
    before: WorkCalendar,
    after: WorkCalendar,
) -> Recount:
    """The running deadlines of a problem counted again (`recount_deadline`; `response` and `resolution`:
    the ways each may have been counted, likeliest first), its promised date kept or moved off a new rest
    day (and whether it now ends after the resolution deadline), and its mark. Deadlines that no longer run (a
    response deadline once the unit took the problem up, every deadline of a problem resolved or closed) are left
    as they are."""
    running = dict(running_clocks(state))
    due: dict[Clock, datetime | None] = {"response": state.response_due_at, "resolution": state.resolution_due_at}
    estimated: dict[Clock, bool] = {"response": False, "resolution": False}
    moved: list[Moved] = []
    ways: tuple[tuple[Clock, Sequence[Count]], ...] = (("response", response), ("resolution", resolution))
    for clock, counts in ways:
        old = running.get(clock)
        if old is None:
            continue
        new = recount_deadline(old, counts, before=before, after=after, end_of_day=end_of_day)
        due[clock], estimated[clock] = new.at, new.estimated
        if new.at != old:
            moved.append(Moved(clock, old, new.at))
    promised = promised_date
    if promised is not None and running:
        promised = chosen_day(promised, before=before, after=after)
        if promised != promised_date:
            moved.append(Moved("promise", _end(promised_date, end_of_day), _end(promised, end_of_day)))
    now_state = replace(state, response_due_at=due["response"], resolution_due_at=due["resolution"])
    late = (promised is not None and "resolution" in running and due["resolution"] is not None
            and _end(promised, end_of_day) > due["resolution"])
    return Recount(
        response_due_at=due["response"],
        resolution_due_at=due["resolution"],
        promised_date=promised,
        estimated=on_estimate(now_state, response=estimated["response"], resolution=estimated["resolution"]),
        moved=tuple(moved),
        promise_late=late,
    )


def _end(day: date, end_of_day: time) -> datetime:
    return end_of(day, end_of_day).astimezone(UTC)


__all__ = ["Count", "Moved", "Recount", "chosen_day", "recount_deadline", "recount_problem"]
