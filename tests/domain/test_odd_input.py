"""Odd input at the edge: ids bounded to what the database can hold, control characters stripped from
every Incoming whatever the channel."""

from __future__ import annotations

import pytest

from bot.domain.digits import ID_MAX, as_id
from bot.domain.messages import Incoming, clean_text, one_line
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


def test_a_name_on_one_line_has_spaces_for_its_line_breaks_and_no_control_characters() -> None:
    assert one_line(" 城北高速\r\n连接线\x0b二期\x07\t三标 ") == "城北高速 连接线 二期 三标"
    assert one_line("滨江\x07四期\u200b") == "滨江四期" and one_line("\x07\n") == ""


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


def test_zero_width_spaces_are_stripped_and_emoji_joiners_kept() -> None:
    assert clean_text("\ufeffZD2026-001\u200b 850\u2060") == "ZD2026-001 850"
    assert clean_text("👷\u200d♂️") == "👷\u200d♂️"


def test_marks_of_writing_direction_are_stripped() -> None:
    assert clean_text("/invite liaison \u202a138 0010 4729\u202c") == "/invite liaison 138 0010 4729"  # iPhone
    assert clean_text("\u202eZD2026-001\u200e 850\u200f \u2066桩基\u2069\u061c") == "ZD2026-001 850 桩基"


@pytest.mark.parametrize("text", ["/report ZD2026-001 850", "/report\u3000ZD2026-001 850", "/report\nZD2026-001 850",
                                  "／report ZD2026-001 850", "/Report@diaodu_bot  ZD2026-001 850"])
def test_a_command_is_read_whatever_space_follows_it(text: str) -> None:
    msg = Incoming(channel="telegram", user_id="1", chat_id="1", text=text, bot_username="diaodu_bot")
    assert msg.command == ("report", "ZD2026-001 850") and not msg.for_another_bot


def test_a_project_code_typed_in_full_width_is_read() -> None:
    from bot.domain.report_line import parse_report_line, project_code

    assert project_code("ＺＤ２０２６－００１") == "ZD2026-001" and project_code("zd2026-001") == "ZD2026-001"
    assert project_code("ZD２０２６") is None
    line = parse_report_line("ｚｄ２０２６－００１ ８５０ 桩基")
    assert line is not None and line.code == "ZD2026-001" and line.amount_text == "８５０"


def test_days_typed_in_full_width_digits_are_read() -> None:
    from datetime import date

    from bot.domain.corrections import parse_correction_line
    from bot.domain.dates import parse_day, split_leading_day

    today = date(2026, 11, 20)
    assert parse_day("２０２６－１２－２０") == date(2026, 12, 20)
    assert parse_day("１２月２０日", today=today) == date(2026, 12, 20)
    assert split_leading_day("２０２６／１２／１０ 先行施工１号") == (date(2026, 12, 10), "先行施工１号")
    line = parse_correction_line("ZD2026-001 １１－１８ 400 理由：多报", today)
    assert line is not None and line.day == date(2026, 11, 18) and line.reason == "多报"
