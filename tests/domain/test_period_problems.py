"""The problems of a period replayed once at its end (bot.domain.period_problems): which may count in a window's
figures, and every figure taken from the one replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import problem_history
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.period_problems import (
    ProblemAbout,
    ProblemHistory,
    every_problem_at,
    handling_shares,
    ledger_rows,
    may_count,
    open_problems,
    problems_at,
    unclosed,
    unit_figures,
    units_with_problems,
)
from bot.domain.problem_history import ProblemNow, Step, UnitProblemFigures
from bot.domain.problem_numbers import problem_number
from bot.domain.standings import ProblemRow

SH = ZoneInfo("Asia/Shanghai")
WEEK = datetime(2026, 11, 16, tzinfo=SH)  # Monday
END = WEEK + timedelta(days=7)
ABOUT = ProblemAbout("P1", "项目P1", "用地", "征地未完成")


def history(problem_id: int, status: str, *steps: tuple[str, datetime], kind: str = "problem",
            due: datetime | None = None) -> ProblemHistory:
    """A problem raised at its first step, with those steps (the database gives its instants in UTC)."""
    steps_utc = tuple(Step(step, at.astimezone(UTC)) for step, at in steps)
    return ProblemHistory(ProblemNow(problem_id, 7, kind, "区水务局", status, 0, steps_utc[0].at,
                                     due.astimezone(UTC) if due else None),
                          steps_utc, steps_utc[-1].at, ABOUT)


LONG_CLOSED = history(1, "closed", ("raised", WEEK - timedelta(days=40)), ("closed", WEEK - timedelta(days=30)))
SOLVED_LATE = history(2, "closed", ("raised", WEEK - timedelta(days=10)), ("resolved", WEEK + timedelta(days=2)),
                      ("closed", END + timedelta(days=1)), due=WEEK - timedelta(days=3))
OPEN = history(3, "open", ("raised", WEEK + timedelta(days=1)), due=END + timedelta(days=5))
NODE = history(4, "open", ("raised", WEEK - timedelta(days=2)), kind=NODE_PROBLEM, due=WEEK)
RAISED_SINCE = history(5, "open", ("raised", END + timedelta(hours=2)))
ALL = [LONG_CLOSED, SOLVED_LATE, OPEN, NODE, RAISED_SINCE]


def test_a_problem_may_count_when_raised_by_the_end_and_not_settled_before_the_window() -> None:
    assert [may_count(h, since=WEEK, end=END) for h in ALL] == [False, True, True, True, False]
    # awaiting 销号 counts only with ``awaiting``; an event since the window's start makes it count either way
    awaiting = history(6, "resolved", ("raised", WEEK - timedelta(days=40)), ("resolved", WEEK - timedelta(days=30)))
    assert may_count(awaiting, since=WEEK, end=END) and not may_count(awaiting, since=WEEK, end=END, awaiting=False)


def test_every_figure_of_the_window_comes_from_one_replay_at_its_end() -> None:
    problems = problems_at(ALL, since=WEEK, end=END)
    assert [then.id for _, then in problems.replayed] == [2, 3, 4]
    # solved in the window after its deadline; the node's problem is not the unit's to handle
    assert handling_shares(problems, start=WEEK, units=units_with_problems(ALL, end=END)) == {"区水务局": 0.0}
    assert unit_figures(problems, start=WEEK) == [UnitProblemFigures("区水务局", 1, 1, 1)]
    assert open_problems(problems) == {7: 2}
    # the one solved stood awaiting 销号 at the end (closed only since): the digests name it
    assert [(line.then.id, line.then.status, line.project_code) for line in unclosed(problems)] == [
        (2, "resolved", "P1"), (3, "open", "P1"), (4, "open", "P1")]
    with pytest.raises(ValueError):
        problems.counted(since=WEEK - timedelta(days=7))  # not read for an earlier window


def _listed(history: ProblemHistory) -> ProblemRow:
    """The problem as the ledger lists it now, without its events' words."""
    now = history.now
    return ProblemRow(problem_number(now.id), "P1", "项目P1", "用地", now.unit, now.status, now.level, now.raised_at,
                      None, now.resolution_due_at, None, "征地未完成", ())


def test_the_problem_list_and_the_figures_come_from_one_replay_of_every_problem() -> None:
    everything = every_problem_at(ALL, end=END)
    # every problem raised by the end, the long-closed one too: the 问题清单 lists it
    assert [then.id for _, then in everything.replayed] == [1, 2, 3, 4]
    narrowed = problems_at(ALL, since=WEEK, end=END)
    assert unit_figures(everything, start=WEEK) == unit_figures(narrowed, start=WEEK)
    assert unclosed(everything) == unclosed(narrowed) and open_problems(everything) == open_problems(narrowed)
    assert everything.counted(since=WEEK - timedelta(days=70)) == [then for _, then in everything.replayed]
    rows = ledger_rows([_listed(h) for h in ALL], everything)
    # the one solved late stood awaiting 销号 at the end; the one raised since is not listed
    assert [(row.number, row.status) for row in rows] == [
        ("W0001", "closed"), ("W0002", "resolved"), ("W0003", "open"), ("W0004", "open")]
    with pytest.raises(ValueError):
        ledger_rows([_listed(h) for h in ALL], narrowed)  # the long-closed one was never replayed


def test_the_response_deadline_then_is_worked_out_only_for_the_problem_list(monkeypatch: pytest.MonkeyPatch) -> None:
    worked_out = []
    real = problem_history.response_deadline_then
    monkeypatch.setattr(problem_history, "response_deadline_then",
                        lambda *args, **kwargs: worked_out.append(1) or real(*args, **kwargs))
    everything = every_problem_at(ALL, end=END)
    unit_figures(everything, start=WEEK)
    unclosed(everything)
    open_problems(everything)
    assert worked_out == []  # the figures and the digests do not read it
    rows = ledger_rows([_listed(h) for h in ALL], everything)
    assert len(worked_out) == len(rows) == 4  # the 问题清单's rows do, once each
    ledger_rows([_listed(h) for h in ALL], everything)
    assert len(worked_out) == 4
