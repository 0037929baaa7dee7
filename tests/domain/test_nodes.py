"""Node states and node punctuality (bot.domain.nodes)."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.nodes import ALWAYS, NodePlan, finished_since, node_state, on_time_count
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
    assert node_state(date(2026, 9, 30), None, TODAY, finished_on=ALWAYS) == "closed"
    assert node_state(date(2027, 3, 1), None, TODAY, finished_on=ALWAYS) == "closed"
    assert node_state(date(2026, 12, 4), TODAY, TODAY, finished_on=ALWAYS) == "late"
    assert node_state(date(2026, 12, 4), date(2026, 12, 1), TODAY, finished_on=ALWAYS) == "done"
    nodes = [NodePlan(date(2026, 5, 1), date(2026, 5, 1), ALWAYS), NodePlan(date(2026, 9, 30), None, ALWAYS)]
    assert on_time_count(nodes, TODAY) == (1, 1)
    assert on_time_count([NodePlan(date(2026, 9, 30), None, ALWAYS)], TODAY) == (0, 0)


def test_a_node_is_closed_only_from_the_day_its_project_finished():
    """Confirmed 竣工 on 15 October: a node missed in September is overdue on every day before that, and counted
    as a miss in the punctuality of those days, however late they are read; from the 15th on it is closed."""
    finished = date(2026, 10, 15)
    assert node_state(date(2026, 9, 15), None, date(2026, 9, 28), finished_on=finished) == "overdue"
    assert node_state(date(2026, 9, 15), None, date(2026, 10, 14), finished_on=finished) == "overdue"
    assert node_state(date(2026, 9, 15), None, finished, finished_on=finished) == "closed"
    assert node_state(date(2026, 10, 20), None, date(2026, 10, 12), finished_on=finished) == "open"
    nodes = [NodePlan(date(2026, 9, 15), None, finished), NodePlan(date(2026, 9, 1), date(2026, 9, 1), finished)]
    assert on_time_count(nodes, date(2026, 9, 28)) == (1, 2)
    assert on_time_count(nodes, date(2026, 10, 19)) == (1, 1)


def test_the_day_from_which_a_project_is_finished():
    """Its confirmed 竣工 day; every day for one finished with no day known (the ledger, /project_set); none
    while it is not finished, whatever event was confirmed before (a stage set back)."""
    assert finished_since("竣工", date(2026, 10, 15)) == date(2026, 10, 15)
    assert finished_since("投产", None) == ALWAYS
    assert finished_since("在建", date(2026, 10, 15)) is None


def test_a_done_day_of_an_earlier_year_than_the_plan_is_refused_only_when_that_year_is_gone() -> None:
    """2025-12-08 for a node of 2026 is a slip; a node of 2027's plan done early in December 2026 is not."""
    today = date(2026, 12, 10)
    assert refusal_of_day(date(2026, 12, 8), planned_on=date(2027, 3, 31), today=today) is None
    assert refusal_of_day(today, planned_on=date(2027, 3, 31), today=today) is None
    assert refusal_of_day(date(2025, 12, 8), planned_on=date(2026, 6, 30), today=today) == "before_year"
    assert refusal_of_day(date(2025, 12, 8), planned_on=date(2027, 3, 31), today=today) == "before_year"
    assert refusal_of_day(date(2026, 12, 11), planned_on=date(2026, 6, 30), today=today) == "future"


def test_a_finished_projects_node_is_given_a_day_on_or_before_it_finished() -> None:
    """Recorded after its project was confirmed 竣工 on 15 October: the node was done by then, or not at all."""
    today, finished = date(2026, 12, 10), date(2026, 10, 15)
    assert refusal_of_day(finished, planned_on=date(2026, 9, 30), today=today, finished_by=finished) is None
    assert refusal_of_day(date(2026, 9, 28), planned_on=date(2026, 9, 30), today=today, finished_by=finished) is None
    assert refusal_of_day(date(2026, 10, 16), planned_on=date(2026, 9, 30), today=today,
                          finished_by=finished) == "after_finish"
    assert refusal_of_day(date(2026, 12, 11), planned_on=date(2026, 9, 30), today=today,
                          finished_by=finished) == "future"
