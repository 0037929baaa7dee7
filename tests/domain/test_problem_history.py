"""A problem as it stood at a period's end (bot.domain.problem_history): status, unit, level, resolution and
deadline replayed from its history, and the period's figures counted from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.problem_history import (
    ProblemNow,
    Step,
    UnitProblemFigures,
    deadline_then,
    handled_within_deadline,
    ledger_row_then,
    open_by_project,
    problem_then,
    problems_by_unit,
    unrecorded_deadlines,
)
from bot.domain.standings import ProblemEventRow, ProblemRow

SH = ZoneInfo("Asia/Shanghai")
WEEK1 = datetime(2026, 11, 2, tzinfo=SH)  # Monday of week 1
END1 = WEEK1 + timedelta(days=7)  # the end of week 1 (the start of week 2)
RAISED = WEEK1 + timedelta(hours=10)
DUE = WEEK1 + timedelta(days=2, hours=17, minutes=30)  # Wednesday of week 1, 17:30
SOLVED = WEEK1 + timedelta(days=15, hours=10)  # Tuesday of week 3
LATER_DUE = WEEK1 + timedelta(days=30)


def now(**fields: object) -> ProblemNow:
    values: dict[str, object] = dict(id=1, project_id=7, kind="problem", unit="区水务局", status="closed", level=0,
                                     raised_at=RAISED, resolution_due_at=DUE)
    values.update(fields)
    return ProblemNow(**values)  # type: ignore[arg-type]


def test_a_problem_solved_after_the_period_stands_open_and_overdue_at_its_end() -> None:
    steps = [Step("raised", RAISED), Step("accepted", RAISED + timedelta(hours=1)),
             Step("resolved", SOLVED), Step("closed", SOLVED + timedelta(hours=2))]

    then = problem_then(now(), steps, end=END1)

    assert (then.status, then.resolved_at, then.resolution_due_at) == ("accepted", None, DUE)
    assert then.overdue(END1)
    assert problems_by_unit([then], start=WEEK1, end=END1) == [UnitProblemFigures("区水务局", 1, 0, 1)]
    assert handled_within_deadline([then], start=WEEK1, end=END1) == {"区水务局": (0, 1)}
    assert open_by_project([then]) == {7: 1}
    # read at week 3's end it is solved (late), as it is now
    after = problem_then(now(), steps, end=SOLVED + timedelta(days=5))
    assert (after.status, after.resolved_at) == ("closed", SOLVED)
    assert not after.overdue(SOLVED + timedelta(days=5))


def test_nothing_since_the_end_reads_the_problem_as_it_is() -> None:
    """The current period: no event after its end, the problem's own status stands (even one its history does
    not explain)."""
    then = problem_then(now(status="answered"), [Step("raised", RAISED)], end=END1)

    assert (then.status, then.unit, then.level, then.resolution_due_at, then.due_recorded) == (
        "answered", "区水务局", 0, DUE, True)


def test_a_problem_moved_or_escalated_since_stands_with_its_unit_and_level_then() -> None:
    moved = Step("reassigned", SOLVED, {"from": "区城管局", "to": "区水务局", "from_level": 1},
                 resolution_due_at=LATER_DUE)
    up = Step("escalated", DUE + timedelta(minutes=1), {"from": 0, "to": 1, "clock": "resolution",
                                                        "due_at": DUE.isoformat()}, resolution_due_at=SOLVED)

    then = problem_then(now(status="open", level=0), [Step("raised", RAISED), up, moved], end=END1)
    week0 = problem_then(now(status="open", level=0), [Step("raised", RAISED), up, moved], end=RAISED + timedelta(
        hours=1))

    assert (then.unit, then.level, then.status) == ("区城管局", 1, "open")
    assert then.resolution_due_at == SOLVED  # recorded with the escalation
    assert (week0.unit, week0.level, week0.resolution_due_at) == ("区城管局", 0, DUE)  # the breached deadline


def test_deadlines_read_back_from_events_kept_before_deadlines_were() -> None:
    recount = Step("recounted", END1 + timedelta(days=1), {"moves": [{"clock": "response", "from": "x", "to": "y"},
                                                                     {"clock": "resolution",
                                                                      "from": "2026-11-04 17:30",
                                                                      "to": "2026-11-05 17:30"}]})
    assert deadline_then([Step("raised", RAISED), recount], end=END1, due_now=LATER_DUE) == (DUE, True)
    asked = Step("extension_requested", END1 - timedelta(days=1), {"day": "2026-11-20", "due_at": DUE.isoformat()})
    approved = Step("extension_approved", END1 + timedelta(days=1), {"day": "2026-11-20"})
    assert deadline_then([Step("raised", RAISED), asked, approved], end=END1, due_now=LATER_DUE) == (DUE, True)
    # sent back after the end: the deadline it ran on before was never written down
    reopened = Step("reopened", END1 + timedelta(days=1))
    assert deadline_then([Step("raised", RAISED), reopened], end=END1, due_now=LATER_DUE) == (LATER_DUE, False)
    # recorded on the event that set it, it needs no reading back
    kept = Step("raised", RAISED, resolution_due_at=DUE)
    assert deadline_then([kept, reopened], end=END1, due_now=LATER_DUE) == (DUE, True)


def test_unrecorded_deadlines_count_only_the_problems_the_figures_judge_by_one() -> None:
    reopened_later = [Step("raised", RAISED), Step("resolved", SOLVED), Step("reopened", SOLVED + timedelta(days=1))]
    open_then = problem_then(now(status="accepted", resolution_due_at=LATER_DUE), reopened_later, end=END1)
    solved_before = problem_then(now(status="accepted", resolution_due_at=LATER_DUE),
                                 [Step("raised", RAISED), Step("resolved", RAISED + timedelta(hours=3)),
                                  Step("reopened", SOLVED)], end=END1 + timedelta(days=7))

    assert not open_then.due_recorded and open_then.active
    assert unrecorded_deadlines([open_then], start=WEEK1, end=END1) == 1
    # resolved in week 1: week 2's figures do not judge it
    assert unrecorded_deadlines([solved_before], start=END1, end=END1 + timedelta(days=7)) == 0


def test_an_escalation_before_the_resolution_is_a_missed_deadline() -> None:
    steps = [Step("raised", RAISED), Step("escalated", DUE + timedelta(minutes=1), {"from": 0, "to": 1}),
             Step("resolved", DUE + timedelta(days=1))]

    then = problem_then(now(status="resolved", level=1, resolution_due_at=LATER_DUE), steps, end=END1)

    assert then.escalated_before_resolution
    assert handled_within_deadline([then], start=WEEK1, end=END1) == {"区水务局": (0, 1)}


def test_an_escalated_open_problem_is_overdue_in_the_table_as_in_the_handling_share() -> None:
    # missed its deadline, went up a level whose own deadline runs past the week's end: still open then
    steps = [Step("raised", RAISED), Step("escalated", DUE + timedelta(minutes=1), {"from": 0, "to": 1})]
    then = problem_then(now(status="open", level=1, resolution_due_at=LATER_DUE), steps, end=END1)

    assert not then.overdue(END1) and then.missed_deadline(END1)
    assert handled_within_deadline([then], start=WEEK1, end=END1) == {"区水务局": (0, 1)}
    assert problems_by_unit([then], start=WEEK1, end=END1) == [UnitProblemFigures("区水务局", 1, 0, 1)]
    # solved since: at the end of the week it was solved in, it is no longer 超期
    solved = problem_then(now(status="resolved", level=1, resolution_due_at=LATER_DUE),
                          [*steps, Step("resolved", SOLVED)], end=END1 + timedelta(days=14))
    assert not solved.missed_deadline(END1 + timedelta(days=14))


def _row(status: str, level: int, response_due: datetime | None, events: list[ProblemEventRow]) -> ProblemRow:
    return ProblemRow(number="W0001", project_code="P1", project_name="项目", category="用地", unit="区城管局",
                      status=status, level=level, raised_at=RAISED, response_due_at=response_due,
                      resolution_due_at=LATER_DUE, closed_at=None, text="", events=tuple(events))


def _ledger_row(row: ProblemRow, end: datetime) -> ProblemRow:
    """The row as the Excel 问题清单 lists it at ``end``, from the problem's one replay there."""
    now = ProblemNow(1, 7, "problem", row.unit, row.status, row.level, row.raised_at, row.resolution_due_at,
                     row.response_due_at)
    steps = [Step(e.kind, e.at, e.detail, e.resolution_due_at, e.response_due_at) for e in row.events]
    then = problem_then(now, steps, end=end)
    listed = ledger_row_then(row, then, end=end)
    assert listed.response_due_at == then.response_due_at  # the replay's, not a second reading
    return listed


def _response(row: ProblemRow, end: datetime) -> datetime | None:
    return _ledger_row(row, end).response_due_at


RESPONDED = WEEK1 + timedelta(days=1, hours=17, minutes=30)  # the unit's 受理时限 in week 1


def test_a_past_response_deadline_is_the_one_recorded_before_the_end() -> None:
    moved = _row("open", 0, LATER_DUE, [
        ProblemEventRow(RAISED, "raised", None, "", {}, DUE, RESPONDED),
        ProblemEventRow(SOLVED, "reassigned", "管理员", "", {"from": "区水务局", "from_level": 0}, LATER_DUE,
                        LATER_DUE)])

    then = _ledger_row(moved, END1)

    assert (then.unit, then.response_due_at) == ("区水务局", RESPONDED)
    assert _response(moved, SOLVED + timedelta(days=1)) == LATER_DUE


def test_a_past_response_deadline_not_recorded_is_read_back_from_what_moved_it() -> None:
    at = RESPONDED.strftime("%Y-%m-%d %H:%M")
    recounted = [ProblemEventRow(RAISED, "raised", None, "", {}),
                 ProblemEventRow(SOLVED, "recounted", None, "", {"moves": [
                     {"clock": "resolution", "from": "2026-11-04 17:30", "to": "2026-11-05 17:30"},
                     {"clock": "response", "from": at, "to": "2026-11-04 17:30"}]})]
    escalated = [ProblemEventRow(RAISED, "raised", None, "", {}),
                 ProblemEventRow(SOLVED, "escalated", None, "", {"from": 0, "to": 1, "clock": "response",
                                                                 "due_at": RESPONDED.isoformat()})]
    resolution_only = [ProblemEventRow(RAISED, "raised", None, "", {}),
                       ProblemEventRow(SOLVED, "escalated", None, "", {"from": 0, "to": 1, "clock": "resolution",
                                                                       "due_at": DUE.isoformat()})]

    assert _response(_row("open", 0, LATER_DUE, recounted), END1) == RESPONDED
    assert _response(_row("open", 1, None, escalated), END1) == RESPONDED
    # nothing says what it was: blank rather than today's
    assert _response(_row("accepted", 1, None, resolution_only), END1) is None


def test_no_response_deadline_above_the_unit() -> None:
    went_up = [ProblemEventRow(RAISED, "raised", None, "", {}, DUE, RESPONDED),
               ProblemEventRow(DUE, "escalated", None, "", {"from": 0, "to": 1, "clock": "resolution"}, LATER_DUE),
               ProblemEventRow(SOLVED, "reassigned", "管理员", "", {"from": "区水务局", "from_level": 1}, LATER_DUE,
                               LATER_DUE)]

    assert _response(_row("open", 0, LATER_DUE, went_up), END1) is None


def test_a_ledger_row_then_lists_the_history_up_to_the_end_and_the_closing_before_it() -> None:
    closed = replace(_row("closed", 0, None, [
        ProblemEventRow(RAISED, "raised", None, "", {}, DUE, RESPONDED),
        ProblemEventRow(RAISED + timedelta(days=1), "closed", "管理员", "", {}, DUE),
        ProblemEventRow(SOLVED, "reopened", "管理员", "", {}, LATER_DUE),
        ProblemEventRow(SOLVED + timedelta(days=1), "closed", "管理员", "", {}, LATER_DUE)]),
        closed_at=SOLVED + timedelta(days=1))

    then = _ledger_row(closed, END1)

    assert (then.status, then.closed_at, len(then.events)) == ("closed", RAISED + timedelta(days=1), 2)
    assert then.resolution_due_at == DUE
    reopened = _ledger_row(closed, SOLVED + timedelta(hours=1))
    assert (reopened.status, reopened.closed_at, len(reopened.events)) == ("accepted", None, 3)
