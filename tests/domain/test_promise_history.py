"""The unit's promised day a problem had at a period's end (bot.domain.promise_history), replayed from its
答复, approved extensions, 时限重算 and 未解决, and carried by the problem's replay (``problem_then``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.overdue import is_overdue
from bot.domain.problem_history import ProblemNow, Step, problem_then
from bot.domain.promise_history import promise_then

SH = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 11, 9, tzinfo=SH)  # the end of the week of 2-8 November
BEFORE = END - timedelta(days=5)  # Wednesday 4 November
AFTER = END + timedelta(days=2)
EOD = time(17, 30)


def end_of(day: date, at: time = EOD) -> datetime:
    return datetime.combine(day, at, tzinfo=SH).astimezone(UTC)


def answered(at: datetime, promised: date | None) -> Step:
    return Step("answered", at, {"promised": promised.isoformat() if promised else None})


def then(*steps: Step, now: date | None, at: time = EOD) -> datetime | None:
    return promise_then(steps, end=END, due_now=end_of(now, at) if now else None, end_of_day=at)


def test_nothing_changed_since_the_end_keeps_the_promise_now() -> None:
    assert then(answered(BEFORE, date(2026, 11, 6)), now=date(2026, 11, 6)) == end_of(date(2026, 11, 6))
    assert then(Step("accepted", AFTER), now=None) is None


def test_a_promise_given_or_replaced_after_the_end_is_not_the_one_then() -> None:
    assert then(answered(AFTER, date(2026, 11, 20)), now=date(2026, 11, 20)) is None
    assert then(answered(BEFORE, date(2026, 11, 6)), answered(AFTER, date(2026, 11, 20)),
                now=date(2026, 11, 20)) == end_of(date(2026, 11, 6))


def test_a_promise_dropped_after_the_end_by_a_send_back_still_stood_then() -> None:
    assert then(answered(BEFORE, date(2026, 11, 6)), Step("reopened", AFTER), now=None) == end_of(date(2026, 11, 6))


def test_an_extension_approved_and_a_recount_set_the_promise_when_they_came() -> None:
    extension = Step("extension_approved", BEFORE + timedelta(days=1), {"day": "2026-11-12"})
    assert then(answered(BEFORE, date(2026, 11, 6)), extension, Step("reopened", AFTER), now=None) \
        == end_of(date(2026, 11, 12))
    later = Step("extension_approved", AFTER, {"day": "2026-11-30"})
    assert then(answered(BEFORE, date(2026, 11, 6)), later, now=date(2026, 11, 30)) == end_of(date(2026, 11, 6))
    recount = Step("recounted", BEFORE + timedelta(days=1), {"moves": [
        {"clock": "promise", "from": "2026-11-06 17:30", "to": "2026-11-09 17:30"}]})
    assert then(answered(BEFORE, date(2026, 11, 6)), recount, Step("reopened", AFTER), now=None) \
        == end_of(date(2026, 11, 9))
    # a recount that moved only the deadline leaves the promise
    deadline_only = Step("recounted", AFTER, {"moves": [{"clock": "resolution", "from": "2026-11-20 17:30",
                                                         "to": "2026-11-23 17:30"}]})
    assert then(answered(BEFORE, date(2026, 11, 6)), deadline_only, now=date(2026, 11, 6)) \
        == end_of(date(2026, 11, 6))


def test_an_answer_without_a_day_before_the_end_left_no_promise() -> None:
    assert then(answered(BEFORE - timedelta(days=1), date(2026, 11, 6)), answered(BEFORE, None),
                answered(AFTER, date(2026, 11, 20)), now=date(2026, 11, 20)) is None


def test_the_promise_ends_at_the_problems_end_of_day() -> None:
    assert then(answered(BEFORE, date(2026, 11, 6)), answered(AFTER, date(2026, 11, 20)), now=date(2026, 11, 20),
                at=time(18, 0)) == end_of(date(2026, 11, 6), time(18, 0))


def test_the_replay_marks_a_promise_passed_then_overdue_at_the_end() -> None:
    """Answered with 6 November in the week, extended to the 30th afterwards: the week's end finds the promise
    passed (⚠️已超期) although the 办结 deadline then (the 20th) was still ahead."""
    due = end_of(date(2026, 11, 20))
    steps = (Step("raised", BEFORE - timedelta(days=1), resolution_due_at=due),
             Step("answered", BEFORE, {"promised": "2026-11-06"}, resolution_due_at=due),
             Step("extension_approved", AFTER, {"day": "2026-11-30"}, resolution_due_at=end_of(date(2026, 11, 30))))
    now = ProblemNow(id=1, project_id=7, kind="problem", unit="区水务局", status="answered", level=0,
                     raised_at=BEFORE - timedelta(days=1), resolution_due_at=end_of(date(2026, 11, 30)),
                     promised_due_at=end_of(date(2026, 11, 30)))
    replayed = problem_then(now, steps, end=END)
    assert (replayed.resolution_due_at, replayed.promised_due_at) == (due, end_of(date(2026, 11, 6)))
    assert is_overdue(replayed, END)


def test_a_move_to_another_unit_before_the_end_drops_the_old_units_promise() -> None:
    """Answered with 6 November, moved to another unit (改派) on the 5th, which answers after the end with the
    20th: at the end the problem had no promise (not the old unit's, passed by then)."""
    moved = Step("reassigned", BEFORE + timedelta(days=1), {"from": "区住建局", "to": "区交通局", "from_level": 0})
    assert then(answered(BEFORE, date(2026, 11, 6)), moved, answered(AFTER, date(2026, 11, 20)),
                now=date(2026, 11, 20)) is None


def test_a_move_to_another_unit_after_the_end_keeps_the_promise_then() -> None:
    """Answered with 6 November, moved to another unit after the end (the promise dropped, none now): the promise
    broken by the end still stood then."""
    moved = Step("reassigned", AFTER, {"from": "区住建局", "to": "区交通局", "from_level": 0})
    assert then(answered(BEFORE, date(2026, 11, 6)), moved, now=None) == end_of(date(2026, 11, 6))
