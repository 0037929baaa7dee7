"""One message per person per tick (bot.domain.grouping) and what a binding delivers (bot.domain.held)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.grouping import DIGEST_BUTTONS_MAX, DIGEST_CARD_BUTTONS, Concern, by_person, digest_buttons, group_key
from bot.domain.held import HELD_FRESH, HELD_IN_FULL_MAX, age_minutes, split_held
from bot.domain.messages import Button, Reply

NOW = datetime(2026, 12, 9, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def concern(person: int, key: str, *buttons: str) -> Concern:
    return Concern(person_id=person, key=key, reply=Reply(html=key), line=key,
                   buttons=tuple(Button(b, f"pj:{b}") for b in buttons))


def test_concerns_are_grouped_per_person_in_order_without_keys_told_before() -> None:
    grouped = by_person([concern(1, "a"), concern(2, "b"), concern(1, "c"), concern(1, "a"), concern(2, "d")],
                        used={"d"})
    assert {p: [c.key for c in cs] for p, cs in grouped.items()} == {1: ["a", "c"], 2: ["b"]}


def test_a_group_key_depends_on_the_things_not_their_order() -> None:
    assert group_key("g", 5, ["a", "b"]) == group_key("g", 5, ["b", "a"])
    assert group_key("g", 5, ["a", "b"]) != group_key("g", 5, ["a", "c"])
    assert group_key("g", 5, ["a"]) != group_key("g", 6, ["a"])
    assert "|" not in group_key("g", 5, ["x|y"]) and len(group_key("group:escalation", 10**9, ["a"])) < 80


def test_digest_buttons_one_per_action_at_most_the_limit() -> None:
    many = [concern(1, f"k{i}", f"ZD{i:03d}") for i in range(12)] + [concern(1, "again", "ZD000")]
    rows = digest_buttons(many)
    assert [row[0].data for row in rows] == [f"pj:ZD{i:03d}" for i in range(DIGEST_BUTTONS_MAX)]
    assert all(len(row) == 1 for row in rows)


def test_digest_buttons_side_by_side_while_they_fit_a_card_else_the_first_of_each() -> None:
    """A leader's problems offer 批示 beside 详情 while a WeCom card holds them; past that, 批示 alone."""
    few = [concern(1, f"k{i}", f"W{i} 批示", f"W{i} 详情") for i in range(DIGEST_CARD_BUTTONS // 2)]
    assert [[b.label for b in row] for row in digest_buttons(few)] == [
        [f"W{i} 批示", f"W{i} 详情"] for i in range(DIGEST_CARD_BUTTONS // 2)]
    more = [*few, concern(1, "last", "W9 批示", "W9 详情")]
    assert [[b.label for b in row] for row in digest_buttons(more)] == [
        [f"W{i} 批示"] for i in [*range(DIGEST_CARD_BUTTONS // 2), 9]]
    mixed = [concern(1, "a", "W1 批示", "W1 详情"), concern(1, "b", "ZD001"), concern(1, "c", "W1 批示", "W1 详情")]
    assert [[b.label for b in row] for row in digest_buttons(mixed)] == [["W1 批示", "W1 详情"], ["ZD001"]]


def test_held_notices_the_recent_ones_in_full_the_old_ones_summarised() -> None:
    held = [(1, NOW - timedelta(days=9)), (2, NOW - timedelta(days=4)), (3, NOW - timedelta(days=2)),
            (4, NOW - timedelta(hours=1))]
    split = split_held(held, NOW)
    assert (split.in_full, split.summarised) == ([3, 4], [1, 2])
    assert split_held([], NOW).in_full == []
    assert age_minutes(NOW - timedelta(hours=2, minutes=5), NOW) == 125
    assert age_minutes(NOW + timedelta(minutes=1), NOW) == 0


@given(st.lists(st.integers(min_value=0, max_value=20 * 24 * 60), max_size=30))
def test_held_split_keeps_every_notice_once_and_only_fresh_ones_in_full(ages: list[int]) -> None:
    held = [(i, NOW - timedelta(minutes=m)) for i, m in enumerate(ages)]
    split = split_held(held, NOW)
    assert sorted(split.in_full + split.summarised) == list(range(len(ages)))
    assert len(split.in_full) <= HELD_IN_FULL_MAX
    assert all(NOW - dict(held)[i] <= HELD_FRESH for i in split.in_full)
    fresh = sum(1 for m in ages if timedelta(minutes=m) <= HELD_FRESH)
    assert len(split.in_full) == min(fresh, HELD_IN_FULL_MAX)
