"""Which milestones a weekly bulletin lists (bot.domain.node_lists), on China's calendar of 2026."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.node_lists import NodeItem, bulletin_nodes, timeline, week_ahead
from bot.domain.nodes import ALWAYS
from bot.domain.workdays import WorkCalendar

CALENDAR = WorkCalendar()


def node(name: str, planned_on: date, done_on: date | None = None, code: str = "ZD2026-001") -> NodeItem:
    return NodeItem(project_code=code, project_name="城北高速连接线", lead_unit="区交通运输局", lead_official_id=1,
                    name=name, planned_on=planned_on, done_on=done_on)


def test_an_ordinary_week_ahead_is_monday_to_sunday() -> None:
    assert week_ahead(CALENDAR, date(2026, 11, 23)) == (date(2026, 11, 23), date(2026, 11, 29))


def test_before_national_day_the_week_ahead_runs_over_the_holiday() -> None:
    """Monday 28 September: three working days, then 国庆 (1-7 October), then Thursday 8, Friday 9 and the
    调休 Saturday 10 October: the fifth working day is the 9th, so the window ends on Sunday 11 October."""
    assert week_ahead(CALENDAR, date(2026, 9, 28)) == (date(2026, 9, 28), date(2026, 10, 11))


def test_a_window_starting_in_a_holiday_counts_from_the_first_working_day() -> None:
    # 8, 9, 10 (调休), 12, 13 October: the fifth is Tuesday 13, its week ends on the 18th
    assert week_ahead(CALENDAR, date(2026, 10, 1)) == (date(2026, 10, 1), date(2026, 10, 18))


def test_a_holiday_monday_joins_the_week_before() -> None:
    """清明 2026: Saturday 4 to Monday 6 April off: the window of Monday 30 March runs to the 6th."""
    assert week_ahead(CALENDAR, date(2026, 3, 30)) == (date(2026, 3, 30), date(2026, 4, 6))


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 20)))
def test_two_bulletins_in_a_row_leave_no_day_out(day: date) -> None:
    """A weekly bulletin goes out on the first working day after its week: the next one's day is never more
    than a day after this one's window ends."""
    period_end = day + timedelta(days=6 - day.weekday())  # a Sunday
    as_of = CALENDAR.next_working_day(period_end)
    start, end = week_ahead(CALENDAR, as_of)
    next_as_of = CALENDAR.next_working_day(period_end + timedelta(days=7))
    assert start == as_of and end >= next_as_of - timedelta(days=1)


def test_week_ahead_needs_a_working_day() -> None:
    with pytest.raises(ValueError):
        week_ahead(CALENDAR, date(2026, 11, 23), 0)


def test_the_lists_on_a_bulletins_day() -> None:
    as_of, week_start = date(2026, 9, 28), date(2026, 9, 21)
    nodes = [
        node("主体封顶", date(2026, 10, 10)),  # 调休 Saturday after the holiday: ahead
        node("围挡", date(2026, 9, 28)),  # due today: ahead, not yet missed
        node("竣工验收", date(2026, 10, 12)),  # after the window
        node("桩基完成", date(2026, 9, 15)),  # overdue 13 days
        node("开工", date(2026, 9, 10), date(2026, 9, 22)),  # done late this week
        node("土方", date(2026, 9, 1), date(2026, 9, 5)),  # done late before the week: not listed
        node("规划许可", date(2026, 9, 20), date(2026, 9, 18)),  # done on time
        node("征迁", date(2026, 9, 20), date(2026, 9, 30)),  # done after the bulletin's day: still overdue then
    ]
    lists = bulletin_nodes(nodes, as_of=as_of, ahead_to=date(2026, 10, 11), week_start=week_start)

    assert [n.name for n in lists.ahead] == ["围挡", "主体封顶"]
    assert [(n.name, n.days_late(as_of)) for n in lists.overdue] == [("桩基完成", 13), ("征迁", 8)]
    assert [(n.name, n.days_late(as_of)) for n in lists.late] == [("开工", 12)]
    assert lists.missed == 3
    assert lists.of_projects(["ZD2026-002"]).missed == 0


def test_a_timeline_marks_planned_done_and_behind() -> None:
    today = date(2026, 11, 20)
    line = timeline([node("竣工验收", date(2026, 12, 30)), node("开工", date(2026, 3, 1), date(2026, 2, 27)),
                     node("主体封顶", date(2026, 9, 30), date(2026, 10, 8)), node("二次结构", date(2026, 11, 10))],
                    today)

    assert [(t.name, t.mark, t.state, t.behind, t.days_late) for t in line] == [
        ("开工", "◆", "done", False, 0), ("主体封顶", "◆", "late", True, 8),
        ("二次结构", "◇", "overdue", True, 10), ("竣工验收", "◇", "open", False, 0)]


def test_a_finished_projects_open_nodes_are_on_no_list_and_not_late() -> None:
    """竣工 on the ledger with its 竣工投产 node not marked done: not overdue, not due ahead, not late on its
    timeline; its done nodes are still shown as they were done."""
    today = date(2026, 12, 7)
    finished = [NodeItem(project_code="ZD2026-023", project_name="饲草加工", lead_unit="区发改局", lead_official_id=1,
                         name=name, planned_on=planned, done_on=done, finished_on=ALWAYS)
                for name, planned, done in (("竣工投产", date(2026, 9, 30), None),
                                            ("验收备案", date(2026, 12, 9), None),
                                            ("设备安装完成", date(2026, 8, 10), date(2026, 8, 20)))]
    lists = bulletin_nodes(finished, as_of=today, ahead_to=date(2026, 12, 13), week_start=date(2026, 11, 30))
    assert (lists.overdue, lists.ahead, lists.late) == ([], [], [])
    line = timeline(finished, today)
    assert [(n.name, n.state, n.days_late, n.behind) for n in line] == [
        ("设备安装完成", "late", 10, True), ("竣工投产", "closed", 0, False), ("验收备案", "closed", 0, False)]
