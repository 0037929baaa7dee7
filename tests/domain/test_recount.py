"""Open problems' deadlines counted again when the calendar changes (bot.domain.recount).

The 2027 calendar as the library estimates it: 春节 02-05 … 02-10 off, no working weekend. The notice as the admin
enters it in these tests: 春节 02-05 … 02-13 off, Sunday 01-31 and Saturday 02-20 working.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.escalation import ProblemClock, on_estimate
from bot.domain.recount import Count, Moved, chosen_day, recount_deadline, recount_problem
from bot.domain.workdays import SHANGHAI, DayOverride, WorkCalendar, deadline_after

END = time(17, 30)
NOTICE = [
    *(DayOverride(date(2027, 2, 5) + timedelta(days=n), False, "春节") for n in range(9)),
    DayOverride(date(2027, 1, 31), True),
    DayOverride(date(2027, 2, 20), True),
]
ESTIMATE = WorkCalendar()
ENTERED = WorkCalendar(NOTICE)  # the days entered, the year not yet declared official
OFFICIAL = WorkCalendar(NOTICE, official_years=[2027])


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def due(day: date) -> datetime:
    return at(day, 17, 30).astimezone(UTC)


def clock(
    status: str = "open",
    level: int = 0,
    *,
    response: datetime | None = None,
    resolution: datetime | None = None,
    started: datetime | None = None,
) -> ProblemClock:
    return ProblemClock(
        status=status, level=level, response_due_at=response, resolution_due_at=resolution, level_started_at=started
    )


def test_a_deadline_across_the_spring_festival_is_counted_again_and_loses_its_mark() -> None:
    raised = at(date(2027, 1, 28))
    # estimate: 01-29, 02-01 … 02-04, 02-11, 02-12, 02-15 … 02-17; the notice adds Sunday 01-31 but takes 11 and 12
    estimated = deadline_after(ESTIMATE, raised, 10, end_of_day=END)
    assert estimated.local_day == date(2027, 2, 17) and estimated.estimated
    state = clock(response=due(date(2027, 1, 29)), resolution=estimated.at, started=raised)
    result = recount_problem(
        state,
        response=[Count(raised, 1)],
        resolution=[Count(raised, 10)],
        promised_date=None,
        end_of_day=END,
        before=ESTIMATE,
        after=OFFICIAL,
    )
    assert result.resolution_due_at == due(date(2027, 2, 18))
    assert result.response_due_at == due(date(2027, 1, 29))  # counted again, nothing changed on its days
    assert result.moved == (Moved("resolution", due(date(2027, 2, 17)), due(date(2027, 2, 18))),)
    assert not result.estimated


def test_days_entered_but_the_year_not_declared_keep_the_mark() -> None:
    raised = at(date(2027, 1, 28))
    state = clock(
        response=due(date(2027, 1, 29)),
        resolution=deadline_after(ESTIMATE, raised, 10, end_of_day=END).at,
        started=raised,
    )
    result = recount_problem(
        state,
        response=[Count(raised, 1)],
        resolution=[Count(raised, 10)],
        promised_date=None,
        end_of_day=END,
        before=ESTIMATE,
        after=ENTERED,
    )
    assert result.resolution_due_at == due(date(2027, 2, 18))
    assert result.estimated  # 02-14 (a Sunday, not entered) is still an estimate


def test_the_response_deadline_moves_while_it_runs_and_only_then() -> None:
    raised = at(date(2027, 2, 4))  # 1 working day: 02-11 on the estimate, 02-15 on the notice
    response = deadline_after(ESTIMATE, raised, 1, end_of_day=END).at
    resolution = deadline_after(ESTIMATE, raised, 3, end_of_day=END).at  # 02-15 on the estimate, 02-17 after
    ways = {"response": [Count(raised, 1)], "resolution": [Count(raised, 3)]}
    running = recount_problem(
        clock(response=response, resolution=resolution, started=raised),
        **ways,
        promised_date=None,
        end_of_day=END,
        before=ESTIMATE,
        after=OFFICIAL,
    )
    assert [(m.clock, m.after) for m in running.moved] == [
        ("response", due(date(2027, 2, 15))),
        ("resolution", due(date(2027, 2, 17))),
    ]
    accepted = recount_problem(
        clock("accepted", response=response, resolution=resolution, started=raised),
        **ways,
        promised_date=None,
        end_of_day=END,
        before=ESTIMATE,
        after=OFFICIAL,
    )
    assert accepted.response_due_at == response  # taken up: that deadline no longer runs
    assert [m.clock for m in accepted.moved] == ["resolution"]
    closed = recount_problem(
        clock("closed", response=response, resolution=resolution, started=raised),
        **ways,
        promised_date=date(2027, 2, 12),
        end_of_day=END,
        before=ESTIMATE,
        after=OFFICIAL,
    )
    assert closed.moved == () and closed.resolution_due_at == resolution and closed.promised_date == date(2027, 2, 12)


def test_a_chosen_day_that_became_a_holiday_moves_to_the_next_working_day() -> None:
    raised = at(date(2027, 1, 20))
    extended = due(date(2027, 2, 12))  # an approved extension: a day, not a count
    state = clock("answered", resolution=extended, started=raised)
    result = recount_problem(
        state,
        response=[],
        resolution=[Count(raised, 5)],
        promised_date=date(2027, 2, 12),
        end_of_day=END,
        before=ESTIMATE,
        after=OFFICIAL,
    )
    assert result.resolution_due_at == due(date(2027, 2, 15)) and result.promised_date == date(2027, 2, 15)
    assert [(m.clock, m.before, m.after) for m in result.moved] == [
        ("resolution", extended, due(date(2027, 2, 15))),
        ("promise", due(date(2027, 2, 12)), due(date(2027, 2, 15))),
    ]
    kept = recount_problem(
        clock("answered", resolution=due(date(2027, 2, 4)), started=raised),
        response=[],
        resolution=[Count(raised, 5)],
        promised_date=date(2027, 2, 3),
        end_of_day=END,
        before=ESTIMATE,
        after=OFFICIAL,
    )
    assert kept.moved == () and kept.resolution_due_at == due(date(2027, 2, 4))
    assert not kept.estimated  # an extension's day in a year now official


def test_declaring_the_year_official_moves_nothing_and_undoing_it_brings_the_mark_back() -> None:
    raised = at(date(2027, 3, 1))
    counted = deadline_after(ENTERED, raised, 5, end_of_day=END)
    state = clock("accepted", resolution=counted.at, started=raised)
    declared = recount_problem(
        state,
        response=[],
        resolution=[Count(raised, 5)],
        promised_date=None,
        end_of_day=END,
        before=ENTERED,
        after=OFFICIAL,
    )
    assert declared.moved == () and not declared.estimated
    undone = recount_problem(
        state,
        response=[],
        resolution=[Count(raised, 5)],
        promised_date=None,
        end_of_day=END,
        before=OFFICIAL,
        after=ENTERED,
    )
    assert undone.moved == () and undone.estimated


def test_an_entry_removed_counts_on_the_estimate_again() -> None:
    raised = at(date(2027, 2, 4))
    removed = WorkCalendar([o for o in NOTICE if o.day != date(2027, 2, 12)], official_years=[2027])
    on_notice = deadline_after(OFFICIAL, raised, 1, end_of_day=END)
    assert on_notice.local_day == date(2027, 2, 15)
    result = recount_deadline(on_notice.at, [Count(raised, 1)], before=OFFICIAL, after=removed, end_of_day=END)
    assert result.local_day == date(2027, 2, 12)


def test_a_deadline_not_counted_the_way_offered_is_a_chosen_day() -> None:
    """A meeting's day (or a deadline counted on some older calendar) is not counted again: it only leaves a
    day that became a rest day."""
    meeting_day = due(date(2027, 2, 11))
    result = recount_deadline(
        meeting_day, [Count(at(date(2027, 1, 4)), 5)], before=ESTIMATE, after=OFFICIAL, end_of_day=END
    )
    assert result.local_day == date(2027, 2, 15) and result.at == due(date(2027, 2, 15))
    assert chosen_day(date(2027, 1, 31), before=ESTIMATE, after=OFFICIAL) == date(2027, 1, 31)  # now working


STARTS = st.builds(
    at, st.dates(min_value=date(2026, 12, 1), max_value=date(2027, 3, 31)), st.integers(0, 23), st.integers(0, 59)
)
CALENDARS = st.sampled_from([ESTIMATE, ENTERED, OFFICIAL])


@settings(max_examples=200, deadline=None)
@given(start=STARTS, days=st.integers(1, 20), before=CALENDARS, after=CALENDARS)
def test_a_counted_deadline_is_the_count_on_the_new_calendar(
    start: datetime, days: int, before: WorkCalendar, after: WorkCalendar
) -> None:
    counted = deadline_after(before, start, days, end_of_day=END)
    assert recount_deadline(
        counted.at, [Count(start, days)], before=before, after=after, end_of_day=END
    ) == deadline_after(after, start, days, end_of_day=END)


@settings(max_examples=200, deadline=None)
@given(start=STARTS, days=st.integers(1, 20), calendar=CALENDARS, status=st.sampled_from(["open", "accepted"]))
def test_the_same_calendar_moves_nothing_and_keeps_the_mark(
    start: datetime, days: int, calendar: WorkCalendar, status: str
) -> None:
    response = deadline_after(calendar, start, 1, end_of_day=END)
    resolution = deadline_after(calendar, start, days, end_of_day=END)
    state = clock(status, response=response.at, resolution=resolution.at, started=start)
    result = recount_problem(
        state,
        response=[Count(start, 1)],
        resolution=[Count(start, days)],
        promised_date=None,
        end_of_day=END,
        before=calendar,
        after=calendar,
    )
    assert result.moved == ()
    assert result.estimated == on_estimate(state, response=response.estimated, resolution=resolution.estimated)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 3, 31)), before=CALENDARS, after=CALENDARS)
def test_a_chosen_working_day_stays_a_working_day(day: date, before: WorkCalendar, after: WorkCalendar) -> None:
    moved = chosen_day(day, before=before, after=after)
    assert moved >= day
    if before.is_working_day(day):
        assert after.is_working_day(moved)
        assert all(not after.is_working_day(day + timedelta(days=n)) for n in range((moved - day).days))


def test_a_promise_the_earlier_deadline_leaves_behind_is_kept_and_said_to_be_late() -> None:
    """Resolution in 10 working days from 01-28: 02-17 on the estimate, 02-15 once the weekend of 01-30 is worked.
    The unit promised 02-16: kept (the unit's word), but now after the deadline; 02-15 is not."""
    raised = at(date(2027, 1, 28))
    worked = WorkCalendar([DayOverride(date(2027, 1, 30), True), DayOverride(date(2027, 1, 31), True)])
    state = clock("answered", resolution=due(date(2027, 2, 17)), started=raised)

    def recount(promised: date) -> tuple[datetime | None, date | None, bool]:
        result = recount_problem(state, response=[], resolution=[Count(raised, 10)], promised_date=promised,
                                 end_of_day=END, before=ESTIMATE, after=worked)
        return result.resolution_due_at, result.promised_date, result.promise_late

    assert recount(date(2027, 2, 16)) == (due(date(2027, 2, 15)), date(2027, 2, 16), True)
    assert recount(date(2027, 2, 15)) == (due(date(2027, 2, 15)), date(2027, 2, 15), False)
