"""A project's stage on a past day, read from its recorded 开工, 竣工 and reopenings."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.nodes import ALWAYS
from bot.domain.progress import FINISHED_STAGES, STAGES
from bot.domain.stage_history import Move, days_up_to, finished_from, last_finish, ledger_days, stage_on, stage_then

D1, D2, D3 = date(2026, 9, 10), date(2026, 10, 15), date(2026, 11, 20)
# finished on D1, set back to 在建 on D2, finished again on D3
AGAIN = [Move("finish", D1), Move("reopen", D2), Move("finish", D3)]


def test_a_project_finished_reopened_and_finished_again_is_in_the_stage_of_each_day() -> None:
    day = timedelta(days=1)
    assert [stage_on("竣工", AGAIN, d) for d in (D1 - day, D1, D2 - day, D2, D3 - day, D3, D3 + day)] == [
        "在建",
        "竣工",
        "竣工",
        "在建",
        "在建",
        "竣工",
        "竣工",
    ]
    assert [finished_from("竣工", AGAIN, d) for d in (D1 - day, D1, D2 - day, D2, D3 - day, D3)] == [
        None,
        D1,
        D1,
        None,
        None,
        D3,
    ]


def test_a_project_reopened_and_still_open_was_finished_between() -> None:
    moves = AGAIN[:2]
    assert stage_on("在建", moves, D2 - timedelta(days=1)) == "竣工"
    assert finished_from("在建", moves, D2 - timedelta(days=1)) == D1
    assert stage_on("投产", [Move("reopen", D2), Move("finish", D3)], D1) == "投产"  # finished in that stage
    assert stage_on("在建", [Move("reopen", D2)], D1) == "竣工"
    assert finished_from("在建", [Move("reopen", D2)], D1) == ALWAYS  # finished before any day was recorded


def test_a_project_started_on_a_day_was_not_started_before() -> None:
    moves = [Move("start", D1)]
    assert stage_on("在建", moves, D1 - timedelta(days=1)) == "前期"
    assert stage_on("在建", moves, D1) == "在建"
    assert stage_on("竣工", [Move("start", D1), Move("finish", D3)], D2) == "在建"
    assert stage_on("竣工", [Move("start", D1), Move("finish", D3)], D1 - timedelta(days=1)) == "前期"


def test_without_moves_a_project_is_in_its_stage_on_every_day() -> None:
    assert stage_on("前期", [], D1) == "前期"
    assert finished_from("竣工", [], D1) == ALWAYS
    assert finished_from("在建", [], D1) is None


def test_moves_of_one_day_count_in_the_order_recorded() -> None:
    assert stage_on("竣工", [Move("start", D1), Move("finish", D1)], D1) == "竣工"
    assert stage_on("竣工", [Move("start", D1), Move("finish", D1)], D1 - timedelta(days=1)) == "前期"
    assert finished_from("竣工", [Move("finish", D2), Move("start", D1)], D3) == D2  # given out of order


def test_a_finish_dated_earlier_by_a_later_ledger_finishes_the_project_from_that_day() -> None:
    dated = [Move("finish", D3), Move("finish", D1)]  # recorded on D3, then a ledger's 竣工日期 D1
    assert last_finish(dated) == D1 and finished_from("竣工", dated, D2) == D1
    assert last_finish(AGAIN) == D3 and last_finish(AGAIN[:2]) is None and last_finish([]) is None


def test_the_days_counted_in_the_rates_are_the_last_start_and_finish_by_the_day() -> None:
    moves = [Move("start", date(2026, 3, 1)), *AGAIN]
    assert days_up_to(moves, date(2026, 2, 1)) == (None, None)
    assert days_up_to(moves, D2) == (date(2026, 3, 1), D1)
    assert days_up_to(moves, D3) == (date(2026, 3, 1), D3)


_days = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def _histories(draw: st.DrawFn) -> tuple[str, list[Move]]:
    """A consistent history: alternating finishes and reopenings on rising days, and the stage it ends in."""
    days = sorted(draw(st.lists(_days, max_size=6, unique=True)))
    first_finished = draw(st.booleans())
    moves = [Move("reopen" if (i % 2 == 0) != first_finished else "finish", d) for i, d in enumerate(days)]
    finished_now = moves[-1].kind == "finish" if moves else first_finished
    return ("竣工" if finished_now else "在建"), moves


@given(_histories(), _days)
def test_a_day_is_finished_exactly_when_its_last_move_up_to_it_was_a_finish(
    history: tuple[str, list[Move]], day: date
) -> None:
    stage, moves = history
    before = [m for m in moves if m.day <= day]
    later = [m for m in moves if m.day > day]
    finished = (
        before[-1].kind == "finish" if before else (later[0].kind == "reopen" if later else stage in FINISHED_STAGES)
    )
    assert (stage_on(stage, moves, day) in FINISHED_STAGES) == finished
    since = finished_from(stage, moves, day)
    assert (since is not None) == finished
    assert since is None or since <= day
    if since is not None and since != ALWAYS:  # finished on every day from then to ``day``
        assert all(
            stage_on(stage, moves, since + timedelta(days=n)) in FINISHED_STAGES for n in range((day - since).days + 1)
        )


def _stage_on_by_definition(stage: str, moves: list[Move], day: date) -> str:
    """``stage_on`` as its docstring words it, the moves sorted by day and looked at one by one."""
    ordered = sorted(moves, key=lambda move: move.day)
    later = [move for move in ordered if move.day > day]
    if not later:
        return stage
    before = [move for move in ordered if move.day <= day]
    if later[0].kind == "reopen" or (later[0].kind == "finish" and before and before[-1].kind == "finish"):
        return stage if stage in FINISHED_STAGES else "竣工"
    return {"start": "前期", "finish": "在建"}.get(later[0].kind, stage)


_any_moves = st.lists(st.builds(Move, st.sampled_from(["start", "finish", "reopen"]),
                                st.dates(min_value=D1, max_value=D3)), max_size=6)


@given(st.sampled_from(STAGES), _any_moves, st.dates(min_value=D1 - timedelta(days=5), max_value=D3))
def test_the_stage_and_finish_day_of_a_day_are_read_in_one_pass_as_they_are_one_by_one(
    stage: str, moves: list[Move], day: date
) -> None:
    assert stage_on(stage, moves, day) == _stage_on_by_definition(stage, moves, day)
    assert stage_then(stage, moves, day) == (stage_on(stage, moves, day), finished_from(stage, moves, day))


def test_a_ledger_gives_the_last_start_and_the_day_a_finished_project_is_finished_from() -> None:
    started = Move("start", D1 - timedelta(days=30))
    assert ledger_days("竣工", [started, *AGAIN]) == (started.day, D3)
    assert ledger_days("竣工", [started, Move("finish", D3), Move("finish", D1)]) == (started.day, D1)
    assert ledger_days("在建", [started, *AGAIN[:2]]) == (started.day, None)  # reopened: no 竣工日期
    assert ledger_days("前期", [started, Move("reopen", D2)]) == (None, None)  # set back before 开工
    assert ledger_days("在建", []) == (None, None)
