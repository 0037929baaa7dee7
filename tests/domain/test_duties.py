"""When a report is due (bot.domain.duties)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.duties import is_reporting_day, report_due
from bot.domain.workdays import DayOverride, WorkCalendar

CALENDAR = WorkCalendar([DayOverride(day=date(2026, 11, 28), working=True, name="调休上班")])


@pytest.mark.parametrize(("day", "stage", "due"), [
    (date(2026, 11, 20), "在建", True),  # a Friday
    (date(2026, 11, 20), "前期", True),
    (date(2026, 11, 20), "谋划", True),
    (date(2026, 11, 20), "竣工", False),
    (date(2026, 11, 20), "投产", False),
    (date(2026, 11, 22), "在建", False),  # a Sunday
    (date(2026, 11, 28), "在建", True),  # a Saturday made a working day
    (date(2026, 10, 1), "在建", False),  # 国庆节
])
def test_report_due(day: date, stage: str, due: bool) -> None:
    assert report_due(day, stage, CALENDAR) is due


def test_reporting_day_follows_the_calendar() -> None:
    assert is_reporting_day(date(2026, 11, 28), CALENDAR)
    assert not is_reporting_day(date(2026, 11, 29), CALENDAR)
