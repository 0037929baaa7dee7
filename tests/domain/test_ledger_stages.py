"""The stage histories an import records, worked out in memory (bot.domain.ledger_stages): 阶段记录 for a project
with none recorded, a late 实际开工 for a started project with no 开工, an earlier 竣工日期; and what is wrong with
a history the sheet gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.domain.ledger_plan import FieldChange, KnownProject, LedgerState
from bot.domain.ledger_rows import StageRow
from bot.domain.ledger_stages import (
    DAY_BEFORE,
    OUT_OF_TURN,
    STAGE_DIFFERS,
    HistoryFault,
    history_fault,
    stage_changes,
    stage_histories,
)
from bot.domain.stage_events import FINISH, REOPEN, START
from tests.domain.test_ledger_diff import ROW

KNOWN = KnownProject(100, ROW.code, {}, ())
ROWS = [StageRow(2, ROW.code, FINISH, date(2026, 6, 30)), StageRow(3, ROW.code, START, date(2026, 3, 2)),
        StageRow(4, ROW.code, REOPEN, date(2026, 9, 15)), StageRow(5, "ZD2026-050", START, date(2026, 5, 1))]
HISTORY = [(START, date(2026, 3, 2)), (FINISH, date(2026, 6, 30)), (REOPEN, date(2026, 9, 15))]


def _state(moves: dict[int, list[tuple[str, date]]] | None = None) -> LedgerState:
    return LedgerState(projects={ROW.code: KNOWN}, moves=moves or {})


def test_a_project_with_no_move_recorded_takes_the_sheet_s_history_by_day() -> None:
    written, kept = stage_histories(ROWS, _state())
    assert written == {ROW.code: HISTORY, "ZD2026-050": [(START, date(2026, 5, 1))]} and kept == 0
    assert stage_changes(ROW, KNOWN, _state(), written, "在建", "在建") == [
        FieldChange("stage_history", None, tuple(HISTORY))]


@pytest.mark.parametrize(("recorded", "kept"), [(HISTORY, 0), (HISTORY[:1], 1)])
def test_a_project_with_a_history_recorded_keeps_it(recorded: list[tuple[str, date]], kept: int) -> None:
    written, counted = stage_histories(ROWS[:3], _state({100: recorded}))
    assert (written, counted) == ({}, kept)


@pytest.mark.parametrize(
    ("before", "after", "moves", "changes"),
    [
        ("在建", "在建", [], [FieldChange("start_day", None, date(2026, 8, 3))]),
        ("竣工", "竣工", [(FINISH, date(2026, 11, 23))], [FieldChange("start_day", None, date(2026, 8, 3))]),
        ("在建", "在建", [(START, date(2026, 7, 1))], []),  # a 开工 recorded is kept
        ("前期", "在建", [], []),  # started by this import: the move of its stage, dated by 实际开工
    ],
)
def test_a_late_actual_start_starts_a_started_project_with_no_start_recorded(
        before: str, after: str, moves: list[tuple[str, date]], changes: list[FieldChange]) -> None:
    row = replace(ROW, started_on=date(2026, 8, 3))
    assert stage_changes(row, KNOWN, _state({100: moves} if moves else None), {}, before, after) == changes


# --------------------------------------------------------------------------------------------
# What is wrong with a history 阶段记录 gives (history_fault)

D1, D2, D3, D4 = date(2026, 3, 2), date(2026, 6, 30), date(2026, 9, 15), date(2026, 11, 2)


@pytest.mark.parametrize(
    ("moves", "stage"),
    [
        ([(START, D1)], "在建"),
        ([(START, D1), (FINISH, D2)], "竣工"),
        ([(START, D1), (FINISH, D2)], "投产"),
        ([(START, D1), (FINISH, D2), (REOPEN, D3)], "在建"),
        ([(START, D1), (FINISH, D2), (REOPEN, D3), (FINISH, D4)], "竣工"),
        ([(FINISH, D2)], "竣工"),  # finished before its 开工 was recorded: as the export writes it
        ([(FINISH, D2), (REOPEN, D3)], "在建"),
        ([(START, D1), (FINISH, D2), (FINISH, D3)], "竣工"),  # its finish dated again, as recorded
        ([(START, D1), (FINISH, D1)], "竣工"),  # one day
        ([(START, D1), (FINISH, D2)], None),  # the project row unread: its stage is not checked
        ([], "前期"),
    ],
)
def test_a_history_in_turn_in_date_order_ending_as_its_stage_says_is_fine(moves, stage) -> None:
    assert history_fault(moves, stage) is None


@pytest.mark.parametrize(
    ("moves", "stage", "fault"),
    [
        ([(START, D1), (START, D2)], "在建", HistoryFault(1, OUT_OF_TURN, FINISH)),  # two 开工 in a row
        ([(REOPEN, D1)], "在建", HistoryFault(0, OUT_OF_TURN, START)),
        ([(FINISH, D1), (START, D2)], "在建", HistoryFault(1, OUT_OF_TURN, REOPEN)),  # 竣工 before any 开工
        ([(START, D1), (FINISH, D3), (FINISH, D2)], "竣工", HistoryFault(2, DAY_BEFORE, REOPEN)),
        ([(START, D1), (REOPEN, D2)], "在建", HistoryFault(1, OUT_OF_TURN, FINISH)),
        ([(START, D2), (FINISH, D1)], "竣工", HistoryFault(1, DAY_BEFORE, FINISH)),  # dates out of order
        ([(START, D1), (FINISH, D3), (REOPEN, D2)], "在建", HistoryFault(2, DAY_BEFORE, REOPEN)),
        ([(START, D1), (FINISH, D2)], "在建", HistoryFault(1, STAGE_DIFFERS, START)),  # 在建, last 竣工
        ([(START, D1)], "竣工", HistoryFault(0, STAGE_DIFFERS, FINISH)),  # 竣工 with no 竣工
        ([(START, D1), (FINISH, D2), (REOPEN, D3)], "投产", HistoryFault(2, STAGE_DIFFERS, FINISH)),
        ([(START, D1)], "前期", HistoryFault(0, STAGE_DIFFERS, None)),  # not started, yet a 开工
        ([(START, D1), (FINISH, D2)], "谋划", HistoryFault(0, STAGE_DIFFERS, None)),
    ],
)
def test_a_history_out_of_turn_out_of_date_order_or_against_its_stage_is_faulted_at_its_first_wrong_move(
        moves, stage, fault) -> None:
    assert history_fault(moves, stage) == fault
