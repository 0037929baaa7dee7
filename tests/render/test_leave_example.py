"""The example `/leave`'s refusal shows is a leave that can be asked for on any day it is shown."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.domain.leave import LeaveRequest, parse_leave
from bot.render import Renderer


@pytest.mark.parametrize("today", [date(2026, 12, 7), date(2027, 6, 30), date(2027, 12, 31)])
def test_the_usage_example_of_leave_is_a_leave_on_any_day(today: date) -> None:
    """Read as a leave of next week whatever the day (a dated example, 2026-12-10, was refused as past from
    11 December on)."""
    html = Renderer().render("leave_refused", reason="usage", text="胡乱")
    example = re.findall(r"如 <code>/leave ([^<]+)</code>", html)[0]
    asked = parse_leave(example, today=today)
    assert isinstance(asked, LeaveRequest) and asked.start > today and asked.end > asked.start, (example, asked)
