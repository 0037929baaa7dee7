"""A rename made at the first instant of the next day is not in force at the end of the period before: a period's
end (``day_start`` of the day after its cut-off) is the first instant it no longer holds, as the problems read it
(bot.domain.period_problems: raised before the end)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.project_versions import Held, Versions

SINCE = datetime(2026, 10, 31, 16, tzinfo=UTC)  # the end of 31 October in Shanghai
END = datetime(2026, 11, 30, 16, tzinfo=UTC)  # the end of November: 00:00 on 1 December in Shanghai
CREATED = datetime(2026, 1, 4, tzinfo=UTC)
ROADS = Held("项目A", "河西镇", 1, "区交通局", 10, "王建国", 20, "乙某")


def test_a_rename_at_the_first_instant_of_the_next_day_is_not_the_past_periods() -> None:
    versions = Versions(SINCE, {1: [(CREATED, ROADS)]}, {20: [(CREATED, "乙"), (END, "乙某")]})
    assert versions.names_at(END) == {20: "乙"}
    assert versions.at(END)[1].liaison == "乙"
