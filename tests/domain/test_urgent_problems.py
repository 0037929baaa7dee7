"""Which problems a lead official's digest names first: overdue, then highest level, then oldest; solved last."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.urgent_problems import is_overdue, most_urgent, passed_by

SH = ZoneInfo("Asia/Shanghai")
CUTOFF = datetime(2026, 11, 30, tzinfo=SH)


class Item(NamedTuple):
    number: str
    resolution_due_at: datetime | None
    status: str = "open"
    level: int = 0
    response_due_at: datetime | None = None
    promised_due_at: datetime | None = None


def day(d: int) -> datetime:
    return datetime(2026, 11, d, 17, 30, tzinfo=SH) if d <= 30 else datetime(2026, 12, d - 30, 17, 30, tzinfo=SH)


def test_overdue_then_level_then_oldest_and_solved_last() -> None:
    items = [Item("W0001", day(40)), Item("W0010", day(35), level=2), Item("W0002", day(20), status="resolved"),
             Item("W0003", day(25)), Item("W0004", day(38), level=3), Item("W0005", day(10), level=1),
             Item("W10000", day(45))]
    shown, hidden = most_urgent(items, overdue_before=CUTOFF, limit=6)
    assert [i.number for i in shown] == ["W0005", "W0003", "W0004", "W0010", "W0001", "W10000"]
    assert hidden == 1  # the solved one, waiting for 销号
    assert not is_overdue(Item("W0002", day(20), status="resolved"), CUTOFF)
    assert not is_overdue(Item("W0006", None), CUTOFF)


def test_a_short_list_is_shown_whole() -> None:
    shown, hidden = most_urgent([Item("W0001", day(40))], overdue_before=CUTOFF)
    assert (len(shown), hidden) == (1, 0)


@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 3), st.booleans()), max_size=40), st.integers(0, 15))
def test_every_problem_is_either_named_or_counted(rows: list[tuple[int, int, bool]], limit: int) -> None:
    items = [Item(f"W{n:04d}", day(d), "resolved" if solved else "open", level)
             for n, (d, level, solved) in enumerate(rows, start=1)]
    shown, hidden = most_urgent(items, overdue_before=CUTOFF, limit=limit)
    assert len(shown) == min(limit, len(items)) and len(shown) + hidden == len(items)
    overdue_left_out = [i for i in items if i not in shown and is_overdue(i, CUTOFF)]
    assert not overdue_left_out or all(is_overdue(i, CUTOFF) for i in shown)


def test_a_missed_promise_is_overdue_while_the_deadline_is_ahead() -> None:
    """As /issues marks it: the unit's promised day passed by the end of the cut-off day, its 办结 deadline not."""
    promised = Item("W0007", day(40), promised_due_at=day(27))
    assert is_overdue(promised, CUTOFF) and passed_by(promised, CUTOFF) == {"promise"}
    assert most_urgent([Item("W0001", day(40), level=3), promised], overdue_before=CUTOFF)[0][0] is promised
    assert not is_overdue(Item("W0008", day(40), promised_due_at=day(31)), CUTOFF)
