"""One rule for ⚠️已超期 (bot.domain.overdue): a deadline running on a problem being worked on has passed; the unit's
promised day is one of them even while the 办结 deadline is ahead, the 受理 deadline only while it waits at the unit."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from bot.domain.escalation import SlaPolicy
from bot.domain.overdue import is_overdue, next_deadline, passed, promised_due_at

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 18, 0, tzinfo=SH)
PAST = datetime(2026, 11, 13, 17, 30, tzinfo=SH)
AHEAD = datetime(2026, 11, 19, 17, 30, tzinfo=SH)


class Problem(NamedTuple):
    status: str = "answered"
    level: int = 0
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = AHEAD
    promised_due_at: datetime | None = None


@pytest.mark.parametrize(("problem", "clocks"), [
    (Problem(), set()),
    (Problem(promised_due_at=PAST), {"promise"}),
    (Problem(resolution_due_at=PAST), {"resolution"}),
    (Problem(resolution_due_at=PAST, promised_due_at=PAST), {"resolution", "promise"}),
    (Problem(status="open", response_due_at=PAST), {"response"}),
    (Problem(status="accepted", response_due_at=PAST), set()),  # taken up: its 受理 deadline no longer runs
    (Problem(status="open", level=1, response_due_at=PAST), set()),  # gone up: the unit's 受理 deadline is over
    (Problem(status="resolved", promised_due_at=PAST, resolution_due_at=PAST), set()),  # waiting for 销号
    (Problem(status="closed", resolution_due_at=PAST), set()),
    (Problem(resolution_due_at=None), set()),
])
def test_overdue_when_a_running_deadline_passed(problem: Problem, clocks: set[str]) -> None:
    assert passed(problem, NOW) == clocks
    assert is_overdue(problem, NOW) == bool(clocks)


def test_the_deadline_itself_is_already_late_and_the_nearest_runs_first() -> None:
    assert is_overdue(Problem(promised_due_at=NOW), NOW)
    assert next_deadline(Problem(promised_due_at=PAST)) == PAST


def test_a_promise_runs_to_the_end_of_its_working_day() -> None:
    due = promised_due_at(NOW.date(), SlaPolicy.from_json({"end_of_day": "18:00"}))
    assert due == NOW and due.tzinfo is not None
    assert promised_due_at(None, SlaPolicy()) is None
