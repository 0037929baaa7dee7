"""What a ledger import records of the projects' stage histories, worked out in memory (pure): the whole
history 阶段记录 gives a project with none recorded, the 开工 a later 实际开工 gives a started project with none,
and the 竣工 a 竣工日期 dates earlier than recorded (bot.domain.ledger_diff lists them as changes;
storage.ledger_import records the moves); the stage a recorded 开工 keeps, and the move made in the chat after
the ledger's day that its stage would undo (listed as conflicts); and what is wrong, if anything, with the
history 阶段记录 gives one project (``history_fault``), so that a hand-edited sheet cannot leave past bulletins
reading it wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import NamedTuple

from bot.domain.ledger_plan import FieldChange, KnownProject, LedgerState
from bot.domain.ledger_rows import ProjectRow, StageRow
from bot.domain.progress import FINISHED_STAGES, STARTED_STAGES
from bot.domain.stage_events import FINISH, REOPEN, START, stage_move

__all__ = ["FINISH_DAY", "STAGE_HISTORY", "START_DAY", "HistoryFault", "history_fault", "moved_since",
           "stage_changes", "stage_histories", "start_kept"]

FINISH_DAY = "finish_day"  # the change a ledger's 竣工日期 makes to a finished project's recorded finish
START_DAY = "start_day"  # the 开工 a ledger's 实际开工 records for a started project with none recorded
STAGE_HISTORY = "stage_history"  # the moves of 阶段记录 recorded for a project with none

Moves = list[tuple[str, date]]

# The move that may follow each (None: the first): 开工 → 竣工 → 恢复在建 → 竣工 → …; a history may also begin
# with its 竣工 (a project finished, or added finished, before its 开工 was recorded), and a 竣工 may follow a
# 竣工 (its finish dated again by a later ledger's 竣工日期): the export writes what is recorded so.
ALSO_NEXT: dict[str | None, frozenset[str]] = {None: frozenset({FINISH}), FINISH: frozenset({FINISH})}
NEXT_MOVE = {None: START, START: FINISH, FINISH: REOPEN, REOPEN: FINISH}
# Why a history is refused (``HistoryFault.reason``).
OUT_OF_TURN, DAY_BEFORE, STAGE_DIFFERS = "out_of_turn", "day_before", "stage_differs"


class HistoryFault(NamedTuple):
    """The first thing wrong with a project's history: at which of its moves (counted from 0, in the file's
    order), why (``OUT_OF_TURN``, ``DAY_BEFORE``, ``STAGE_DIFFERS``), and the move that was due there (the one
    that may follow the move before it; for ``STAGE_DIFFERS`` the last move the stage needs, None for none)."""

    index: int
    reason: str
    expected: str | None


def history_fault(moves: Sequence[tuple[str, date]], stage: str | None) -> HistoryFault | None:
    """What is wrong with ``moves`` (kind, day), the history 阶段记录 gives a project in the file's order, for
    its 建设阶段 ``stage`` (None: not known, not checked against it); None when nothing is. The moves alternate
    开工, 竣工, 恢复在建, 竣工, … (or begin at the 竣工, its 开工 not recorded; a 竣工 dated again follows its
    竣工), each on or after the day of the one before (days to come are refused row by
    row); the last agrees with the stage: 在建 ends 开工 or 恢复在建, 竣工/投产 ends 竣工, and a project not
    started (谋划, 前期) has none."""
    previous: tuple[str, date] | None = None
    for index, (kind, day) in enumerate(moves):
        expected = NEXT_MOVE[previous[0] if previous else None]
        if kind != expected and kind not in ALSO_NEXT.get(previous[0] if previous else None, frozenset()):
            return HistoryFault(index, OUT_OF_TURN, expected)
        if previous is not None and day < previous[1]:
            return HistoryFault(index, DAY_BEFORE, expected)
        previous = (kind, day)
    if stage is None or previous is None:
        return None
    if stage not in STARTED_STAGES:
        return HistoryFault(0, STAGE_DIFFERS, None)
    finished = stage in FINISHED_STAGES
    if (previous[0] == FINISH) != finished:
        return HistoryFault(len(moves) - 1, STAGE_DIFFERS, FINISH if finished else START)
    return None


def stage_histories(rows: Sequence[StageRow], state: LedgerState) -> tuple[dict[str, Moves], int]:
    """Project code → the moves of its 阶段记录 to record, by day (those of one day in the file's order), for
    each project with no move recorded (a fresh database, a project added); and how many projects with a
    history recorded the rows give another one for (they keep theirs)."""
    given: dict[str, Moves] = {}
    for row in rows:
        given.setdefault(row.code, []).append((row.kind, row.day))
    written: dict[str, Moves] = {}
    kept = 0
    for code, moves in given.items():
        known = state.projects.get(code)
        ordered = sorted(moves, key=lambda move: move[1])
        recorded = state.moves.get(known.id) if known is not None else None
        if not recorded:
            written[code] = ordered
        elif recorded != ordered:
            kept += 1
    return written, kept


def stage_changes(row: ProjectRow, known: KnownProject, state: LedgerState, histories: Mapping[str, Moves],
                  before: str, after: str) -> list[FieldChange]:
    """The changes of a known project's recorded stage history its ledger row (and 阶段记录) make: its whole
    history when the files give one it takes (``stage_histories``); else the 开工 of its 实际开工 (``start_dated``)
    and the 竣工 of its 竣工日期 (``finish_dated``)."""
    history = histories.get(row.code)
    if history is not None:
        return [FieldChange(STAGE_HISTORY, None, tuple(history))]
    return start_dated(row, known, state, before, after) + finish_dated(row, known, state, before, after)


def start_kept(known: KnownProject, state: LedgerState, before: str, after: str) -> date | None:
    """The day of the 开工 recorded for a project started (在建 or later) that the ledger lists as 谋划/前期: a stage
    history has no move back to before a 开工, so the project stays in its stage (the import lists it); None
    when the ledger does not take a started project back, or no 开工 is recorded."""
    if before not in STARTED_STAGES or after in STARTED_STAGES:
        return None
    return next((day for kind, day in reversed(state.moves.get(known.id, ())) if kind == START), None)


def moved_since(known: KnownProject, state: LedgerState, before: str, after: str, as_of: date) -> date | None:
    """The day of the move (开工, 竣工, reopening) confirmed in the chat (not by an import) after the ledger's day
    ``as_of``, that the ledger's stage would undo: the file was drawn up before it, so the office chooses
    (bot.domain.ledger_diff lists it as a conflict, the chat's stage kept by default). None when the ledger's stage
    makes no move (``stage_move``: the same stage, 竣工 → 投产, 谋划 → 前期) or no such move is recorded."""
    day = state.moved_in_chat.get(known.id)
    if day is None or day <= as_of or stage_move(before, after) is None:
        return None
    return day


def start_dated(row: ProjectRow, known: KnownProject, state: LedgerState, before: str,
                after: str) -> list[FieldChange]:
    """The 实际开工 the ledger gives a project started before and after it (在建, 竣工, 投产) with no 开工
    recorded (added so without the day, or started before the days were recorded), as a change: the import
    then records a 开工 of that day (storage.ledger_import), so that its earlier days read it 前期."""
    if row.started_on is None or before not in STARTED_STAGES or after not in STARTED_STAGES:
        return []
    if any(kind == START for kind, _ in state.moves.get(known.id, ())):
        return []
    return [FieldChange(START_DAY, None, row.started_on)]


def finish_dated(row: ProjectRow, known: KnownProject, state: LedgerState, before: str,
                 after: str) -> list[FieldChange]:
    """The 竣工日期 the ledger gives a project finished before and after it, as a change when it dates its
    finish earlier than recorded, or when none is recorded (finished before the days were): the import then
    records a 竣工 of that day (storage.ledger_import)."""
    if row.finished_on is None or before not in FINISHED_STAGES or after not in FINISHED_STAGES:
        return []
    recorded = state.finish_days.get(known.id)
    if recorded is not None and recorded <= row.finished_on:
        return []
    return [FieldChange(FINISH_DAY, recorded, row.finished_on)]
