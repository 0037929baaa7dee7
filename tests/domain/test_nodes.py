"""Node states and node punctuality (bot.domain.nodes)."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.nodes import NodePlan, node_state, on_time_count
from bot.domain.ranking import share
from bot.services.nodes import refusal_of_day

TODAY = date(2026, 12, 7)


def test_states_on_a_day():
    assert node_state(date(2026, 12, 4), None, TODAY) == "overdue"
    assert node_state(TODAY, None, TODAY) == "open"  # due today: not a miss before the day is over
    assert node_state(date(2026, 12, 4), TODAY, TODAY) == "late"
    assert node_state(TODAY, TODAY, TODAY) == "done"
    assert node_state(date(2026, 12, 4), date(2026, 12, 8), TODAY) == "overdue"  # a done day not yet come


def node_punctuality(nodes: list[NodePlan], today: date) -> float | None:
    """Node punctuality as the score takes it: the share of ``on_time_count``."""
    return share(*on_time_count(nodes, today))


def test_punctuality_counts_due_nodes_only():
    assert node_punctuality([NodePlan(TODAY), NodePlan(date(2027, 1, 5))], TODAY) is None
    assert node_punctuality([NodePlan(date(2027, 1, 5), TODAY)], TODAY) == 1.0  # done early counts, on time
    nodes = [NodePlan(date(2026, 12, 1), date(2026, 11, 30)),  # on time
             NodePlan(date(2026, 12, 2), date(2026, 12, 3)),   # late
             NodePlan(date(2026, 12, 3)),                      # overdue
             NodePlan(TODAY, TODAY),                           # done today, on time
             NodePlan(TODAY)]                                  # due today, still open: not counted
    assert on_time_count(nodes, TODAY) == (2, 4)
    assert node_punctuality(nodes, TODAY) == 0.5


days = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@given(st.lists(st.tuples(days, st.none() | days)), days)
def test_punctuality_is_a_share_of_past_nodes(raw, today):
    nodes = [NodePlan(p, d) for p, d in raw]
    on_time, due = on_time_count(nodes, today)
    assert 0 <= on_time <= due <= len(nodes)
    assert due == sum(1 for n in nodes if n.planned_on < today or (n.done_on is not None and n.done_on <= today))
    assert due == 0 or node_punctuality(nodes, today) == on_time / due
    # Moving the day on never takes a node out of the count.
    assert on_time_count(nodes, today + timedelta(days=1))[1] >= due


def test_a_finished_projects_nodes_not_done_are_closed_not_overdue():
    """A project imported or confirmed as 竣工/投产 expects no more of its nodes: one not done is closed (neither
    overdue nor due), one done keeps its state, and the closed ones are not counted in the punctuality."""
    assert node_state(date(2026, 9, 30), None, TODAY, finished=True) == "closed"
    assert node_state(date(2027, 3, 1), None, TODAY, finished=True) == "closed"
    assert node_state(date(2026, 12, 4), TODAY, TODAY, finished=True) == "late"
    assert node_state(date(2026, 12, 4), date(2026, 12, 1), TODAY, finished=True) == "done"
    nodes = [NodePlan(date(2026, 5, 1), date(2026, 5, 1), True), NodePlan(date(2026, 9, 30), None, True)]
    assert on_time_count(nodes, TODAY) == (1, 1)
    assert on_time_count([NodePlan(date(2026, 9, 30), None, True)], TODAY) == (0, 0)


def test_a_done_day_of_an_earlier_year_than_the_plan_is_refused_only_when_that_year_is_gone() -> None:
    """2025-12-08 for a node of 2026 is a slip; a node of 2027's plan done early in December 2026 is not."""
    today = date(2026, 12, 10)
    assert refusal_of_day(date(2026, 12, 8), planned_on=date(2027, 3, 31), today=today) is None
    assert refusal_of_day(today, planned_on=date(2027, 3, 31), today=today) is None
    assert refusal_of_day(date(2025, 12, 8), planned_on=date(2026, 6, 30), today=today) == "before_year"
    assert refusal_of_day(date(2025, 12, 8), planned_on=date(2027, 3, 31), today=today) == "before_year"
    assert refusal_of_day(date(2026, 12, 11), planned_on=date(2026, 6, 30), today=today) == "future"
