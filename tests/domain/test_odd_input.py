"""Odd input at the edge: ids bounded to what the database can hold, control characters stripped from
every Incoming whatever the channel."""

from __future__ import annotations

import pytest

from bot.domain.digits import ID_MAX, as_id
from bot.domain.messages import Incoming, clean_text
from bot.domain.problem_numbers import looks_like_problem_number, parse_problem_number, problem_number


@pytest.mark.parametrize(("text", "expected"), [
    ("7", 7), (" 0007 ", 7), ("１２", 12), (str(ID_MAX), ID_MAX),
    (str(ID_MAX + 1), None), ("9" * 40, None), ("0", None), ("-1", None), ("²", None), ("1²", None),
    ("①", None), ("٣", None), ("", None), ("1e3", None),
])
def test_ids_are_bounded_to_the_database_columns(text: str, expected: int | None) -> None:
    assert as_id(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("W0007", 7), ("w7", 7), ("W99999999999999999999", None), ("W0", None), ("W²", None)])
def test_problem_numbers(text: str, expected: int | None) -> None:
    assert parse_problem_number(text) == expected


def test_problem_number_forms() -> None:
    assert problem_number(7) == "W0007" and problem_number(12345) == "W12345"
    assert parse_problem_number(problem_number(12345)) == 12345
    assert parse_problem_number("7", prefix_required=True) is None
    assert parse_problem_number("w7", prefix_required=True) == 7
    assert looks_like_problem_number("W12") and looks_like_problem_number("12")
    assert not looks_like_problem_number("XM12")


def test_control_characters_and_lone_surrogates_are_stripped() -> None:
    assert clean_text("a\x00b\x1bc\x7f\ud800d") == "abcd"
    assert clean_text("一\r\n二\r三\t四") == "一\n二\n三\t四"


def test_every_text_field_of_an_incoming_is_clean() -> None:
    msg = Incoming(channel="telegram", user_id="1\x00", chat_id="1", text="/accept\x00 W1", display_name="张\x00三",
                   callback_data="pb:\x00show:1", photos=("f\x00",), key="k\x00")
    assert (msg.user_id, msg.text, msg.display_name, msg.callback_data, msg.photos, msg.key) == \
        ("1", "/accept W1", "张三", "pb:show:1", ("f",), "k")
    assert msg.command == ("accept", "W1")


def test_numbers_of_thousands_of_digits_are_no_number() -> None:
    from bot.domain.digits import as_index, as_int

    assert as_int("9" * 5000) is None and as_id("9" * 5000) is None and as_index("1" * 5000, 3) is None
    assert as_int("１２") == 12 and as_index("2", 3) == 2 and as_index("3", 3) is None
