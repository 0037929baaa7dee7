"""What a group bulletin shows of a long list (bot.domain.bulletin_cut): the ends, and a count of the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.bulletin_cut import first, head_and_tail, last


def test_a_long_list_shows_its_ends_and_counts_the_middle() -> None:
    cut = head_and_tail(list(range(1, 101)), 5)
    assert (cut.head, cut.tail, cut.hidden, cut.total) == ([1, 2, 3, 4, 5], [96, 97, 98, 99, 100], 90, 100)


@pytest.mark.parametrize("size", [0, 1, 10, 11])
def test_a_list_of_at_most_2n_plus_1_is_shown_whole(size: int) -> None:
    """Leaving out one item would save no line: its 「中间 1 个略」 takes one too."""
    cut = head_and_tail(list(range(size)), 5)
    assert (cut.head, cut.tail, cut.hidden) == (list(range(size)), [], 0)


def test_first_and_last_count_what_they_leave_out() -> None:
    assert (first("abcdef", 2).head, first("abcdef", 2).hidden) == (["a", "b"], 4)
    assert (last("abcdef", 2).tail, last("abcdef", 2).hidden) == (["e", "f"], 4)
    assert (first("abc", 0).head, first("abc", 0).hidden, last("abc", 0).tail) == ([], 3, [])
    with pytest.raises(ValueError):
        head_and_tail([1], -1)


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=0, max_value=12))
def test_nothing_is_lost_or_repeated(items: list[int], n: int) -> None:
    """Head, the hidden middle and tail together are the list, in order, whatever its length and n."""
    cut = head_and_tail(items, n)
    assert cut.head + items[len(cut.head):len(cut.head) + cut.hidden] + cut.tail == items
    assert cut.total == len(items)
    if cut.hidden:
        assert len(cut.head) == len(cut.tail) == n
    for part in (first(items, n), last(items, n)):
        assert part.total == len(items) and len(part.head) + len(part.tail) == min(n, len(items))


def test_a_cut_inside_a_tie_names_all_of_the_tie_or_none_of_it() -> None:
    """Six projects tied last and five listed would leave one out arbitrarily: the whole tie is listed when it
    fits twice the length, else none of it (the count says how many more there are)."""
    place = {"a": 1, "b": 2, "c": 3, "d": 3, "e": 3, "f": 3, "g": 3, "h": 3}
    urged = last(list("cdefgh"), 5, key=place.get)
    assert (urged.tail, urged.hidden) == (list("cdefgh"), 0)
    praised = first(list("abcdefgh"), 4, key=place.get)
    assert (praised.head, praised.hidden) == (list("abcdefgh"), 0)
    praised = first(list("abcdefgh"), 2, key=place.get)
    assert (praised.head, praised.hidden) == (["a", "b"], 6)
    many = {str(i): (1 if i < 2 else 2) for i in range(12)}
    cut = last([str(i) for i in range(12)], 3, key=many.get)
    assert (cut.tail, cut.hidden) == ([], 12)
    cut = first([str(i) for i in range(12)], 3, key=many.get)
    assert (cut.head, cut.hidden) == (["0", "1"], 10)
