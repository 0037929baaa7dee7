"""开工/竣工 reports: which are accepted, and which projects are late to start."""

from datetime import date

import pytest

from bot.domain.nodes import finished_by
from bot.domain.stage_events import (
    DAY_LEDGER,
    DAY_OF_CHANGE,
    DAY_TYPED,
    FINISH,
    REOPEN,
    START,
    StageMove,
    TypedStage,
    added_moves,
    audit_made_finished,
    ledger_day,
    move_day,
    not_started,
    refusal,
    stage_move,
    typed_stage,
)

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("kind", "stage", "day", "pending", "why"), [
    (START, "前期", TODAY, False, None),
    (START, "谋划", date(2026, 1, 5), False, None),
    (START, "在建", TODAY, False, "stage"),
    (FINISH, "前期", TODAY, False, "stage"),
    (FINISH, "在建", TODAY, False, None),
    (FINISH, "竣工", TODAY, False, "stage"),
    (START, "前期", date(2026, 12, 7), False, "future"),
    (START, "前期", date(2025, 12, 4), False, "too_old"),
    (START, "前期", TODAY, True, "pending"),
])
def test_what_may_be_reported(kind: str, stage: str, day: date, pending: bool, why: str | None) -> None:
    assert refusal(kind, stage=stage, day=day, today=TODAY, pending=pending) == why


def test_planned_to_start_by_now_and_not_started() -> None:
    assert not_started("前期", date(2026, 12, 6), TODAY)
    assert not_started("谋划", date(2026, 3, 1), TODAY)
    assert not not_started("前期", date(2026, 12, 7), TODAY)
    assert not not_started("在建", date(2026, 3, 1), TODAY)
    assert not not_started("前期", None, TODAY)


@pytest.mark.parametrize(("before", "after", "move"), [
    ("在建", "竣工", FINISH),
    ("前期", "投产", FINISH),
    ("", "竣工", FINISH),  # a project added already finished
    ("竣工", "投产", None),
    ("投产", "竣工", None),
    ("竣工", "在建", REOPEN),
    ("投产", "前期", REOPEN),
    ("前期", "在建", START),
    ("谋划", "在建", START),
    ("", "在建", None),  # a project added already started: no day known
    ("在建", "前期", None),
])
def test_which_stage_changes_start_or_finish_a_project_or_open_it_again(before: str, after: str,
                                                                      move: str | None) -> None:
    assert stage_move(before, after) == move


@pytest.mark.parametrize(("stage", "started_dated", "moves"), [
    ("在建", True, (START,)),  # the ledger's 实际开工 dates it
    ("在建", False, ()),  # no day known, as stage_move
    ("竣工", True, (START, FINISH)),
    ("投产", False, (FINISH,)),
    ("前期", True, ()),  # not started, whatever the column says
    ("谋划", False, ()),
])
def test_a_project_a_ledger_adds_starts_when_its_start_is_dated_and_finishes_when_finished(
        stage: str, started_dated: bool, moves: tuple[str, ...]) -> None:
    assert added_moves(stage, started_dated=started_dated) == moves


@pytest.mark.parametrize(("text", "before", "read"), [
    ("竣工", "在建", TypedStage("竣工")),
    ("竣工 2026-11-20", "在建", TypedStage("竣工", date(2026, 11, 20))),
    ("投产 11月20日", "在建", TypedStage("投产", date(2026, 11, 20))),
    ("在建 2026年12月1日", "竣工", TypedStage("在建", date(2026, 12, 1))),
    ("竣工  今天", "在建", TypedStage("竣工", TODAY)),
    ("完工", "在建", "bad_stage"),
    ("竣工 明年", "在建", "bad_stage_day"),
    ("竣工 2026-11-20 之前", "在建", "bad_stage_day"),
    ("竣工 2026-12-07", "在建", "bad_stage_day"),  # later than today
    ("竣工 2025-12-01", "在建", "bad_stage_day"),  # more than a year back
    ("在建 2026-11-20", "前期", TypedStage("在建", date(2026, 11, 20))),  # the day it started
    ("前期 2026-11-20", "在建", "stage_day_unused"),
    ("投产 2026-11-20", "竣工", "stage_day_unused"),
])
def test_a_typed_stage_and_the_day_after_it(text: str, before: str, read: TypedStage | str) -> None:
    assert typed_stage(text, before=before, today=TODAY) == read


def test_the_day_of_a_stage_change_is_the_one_given_else_the_day_of_the_change() -> None:
    assert move_day(given=date(2026, 11, 20), today=TODAY) == (date(2026, 11, 20), DAY_TYPED)
    assert move_day(given=None, today=TODAY) == (TODAY, DAY_OF_CHANGE)
    assert ledger_day(date(2026, 11, 20), today=TODAY) == (date(2026, 11, 20), DAY_LEDGER)
    assert ledger_day(None, today=TODAY) == (TODAY, DAY_OF_CHANGE)
    assert ledger_day(date(2026, 12, 31), today=TODAY) == (TODAY, DAY_OF_CHANGE)  # not a day to come
    move = StageMove(7, FINISH, date(2026, 11, 20), DAY_TYPED)
    assert move.audit_detail() == {"stage_move": "finish", "stage_day": "2026-11-20", "stage_day_from": "typed"}


def test_a_project_is_finished_on_a_day_from_its_finish_day_on() -> None:
    finished = date(2026, 11, 20)
    assert not finished_by("竣工", finished, date(2026, 11, 19))
    assert finished_by("竣工", finished, finished) and finished_by("投产", finished, TODAY)
    assert finished_by("竣工", None, date(2020, 1, 1))  # no day known: every day
    assert not finished_by("在建", finished, TODAY)  # open again


@pytest.mark.parametrize(("action", "detail", "finished"), [
    ("project.update", {"field": "stage", "before": "在建", "after": "竣工"}, True),
    ("project.update", {"field": "stage", "from": "在建", "to": "投产"}, True),  # as the first release wrote it
    ("project.update", {"field": "stage", "before": "竣工", "after": "投产"}, False),
    ("project.update", {"field": "stage", "before": "竣工", "after": "在建"}, False),
    ("project.update", {"field": "name", "before": "在建", "after": "竣工"}, False),
    ("project.update", {"source": "ledger", "changed": {"stage": "竣工"}, "before": {"stage": "在建"}}, True),
    ("project.update", {"source": "ledger", "changed": {"name": "竣工"}, "before": {"name": "在建"}}, False),
    ("project.create", {"source": "ledger", "stage": "投产"}, True),
    ("project.create", {"source": "ledger", "stage": "在建"}, False),
    ("person.update", {"field": "stage", "before": "在建", "after": "竣工"}, False),
])
def test_which_audit_entries_made_a_project_finished(action: str, detail: dict, finished: bool) -> None:
    assert audit_made_finished(action, detail) is finished
