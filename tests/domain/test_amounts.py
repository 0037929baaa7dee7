"""Tests for amount parsing (to 万元) and formatting in bot.domain.amounts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.domain.amounts import MAX_REASONABLE_WAN, AmountError, format_wan, parse_amount
from bot.render import Renderer

RENDERER = Renderer()

_CJK = re.compile(r"[\u4e00-\u9fff]")


def said(error: AmountError) -> str:
    """What an amount's error says to whoever wrote it (_amount_error.j2)."""
    return RENDERER.phrase("_amount_error", "said", error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Arabic numbers, bare = 万元
        ("100", "100"),
        ("0", "0"),
        ("0.00", "0"),
        ("5,200.5", "5200.5"),
        ("１２００", "1200"),  # full-width digits
        ("１，２００万", "1200"),  # full-width comma
        ("  850  ", "850"),
        # with 万 / 亿 / 元
        ("850万", "850"),
        ("3000万元", "3000"),
        ("1,200万", "1200"),
        ("1.2亿", "12000"),
        ("0.5亿元", "5000"),
        ("1.5 亿", "15000"),
        ("3000 万 元", "3000"),
        ("3千万", "3000"),
        ("12000000元", "1200"),
        ("12,000,000元", "1200"),
        ("0元", "0"),
        # Chinese numerals via cn2an
        ("三千万", "3000"),
        ("一亿二千万", "12000"),
        ("两千五百万", "2500"),
        ("壹仟万", "1000"),
        ("三千万元", "3000"),
        ("三千万零五十", "3000.005"),
        ("十万", "10"),
        ("五百", "500"),  # no 万/亿/元: 万元, like "500"
        ("一二零零", "1200"),
        ("零", "0"),
        ("1亿2千万", "12000"),  # mixed Arabic/Chinese
        # cap is inclusive
        ("1000亿", "10000000"),
    ],
)
def test_parse_amount_accepts(text: str, expected: str) -> None:
    result = parse_amount(text)
    assert isinstance(result, Decimal)
    assert result == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1元", "0.0001"),
        ("12345.67元", "1.2346"),  # rounded half-up to 0.0001 万元 (1 元)
        ("0.00004元", "0"),
        ("1.23456", "1.2346"),
    ],
)
def test_parse_amount_quantizes_to_four_decimals(text: str, expected: str) -> None:
    result = parse_amount(text)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent >= -4


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("-5", "负数"),
        ("负三千万", "负数"),
        ("--3", "负数"),
        ("－5", "负数"),  # full-width minus
        ("", "为空"),
        ("   ", "为空"),
        ("abc", "无法识别金额「abc」"),
        ("1.2.3", "无法识别"),
        ("1,2,3,,", "无法识别"),
        ("1,2000", "无法识别"),  # misplaced thousands separator
        ("1.", "无法识别"),
        ("1 2", "无法识别"),
        ("亿", "缺少数字"),
        ("万元", "缺少数字"),
        ("1亿亿", "单位不明确"),
        ("1.2亿万", "单位不明确"),
        ("一亿亿", "单位不明确"),
        ("NaN", "无法识别"),
        ("inf", "无法识别"),
        ("Infinity", "无法识别"),
        ("1e5", "无法识别"),
        ("12%", "百分比"),
        ("3000美元", "无法识别单位「美元」"),
        ("1/2", "无法识别"),
        ("0x10", "无法识别"),
        ("一万点五", "无法识别"),
        ("一点", "无法识别"),
        ("12 34", "无法识别"),
        ("三千千七", "无法识别"),  # cn2an alone would accept this as 3700
        ("99999999亿", "金额过大"),
        ("1000亿零1元", "金额过大"),
    ],
)
def test_parse_amount_rejects(text: str, fragment: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_amount(text)
    message = said(info.value)
    assert fragment in message
    assert _CJK.search(message)


def test_amount_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_amount("abc")


def test_long_input_is_truncated_in_message() -> None:
    with pytest.raises(AmountError) as info:
        parse_amount("x" * 200)
    assert "x" * 21 not in said(info.value)
    assert "…" in said(info.value)


def test_max_reasonable_is_1000_yi() -> None:
    assert MAX_REASONABLE_WAN == Decimal("10000000")
    assert parse_amount(str(MAX_REASONABLE_WAN)) == MAX_REASONABLE_WAN
    with pytest.raises(AmountError) as info:
        parse_amount("10000000.0001")
    assert said(info.value) == "金额过大「10000000.0001」：超过 10,000,000.0 万元（1000亿元），请核对单位"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("12000"), "12,000.0"),
        (Decimal("0"), "0.0"),
        (Decimal("850"), "850.0"),
        (Decimal("0.05"), "0.1"),  # half-up, not banker's rounding
        (Decimal("1234567.25"), "1,234,567.3"),
        (Decimal("3000.005"), "3,000.0"),
        (Decimal("10000000"), "10,000,000.0"),
    ],
)
def test_format_wan(amount: Decimal, expected: str) -> None:
    assert format_wan(amount) == expected


def test_format_round_trips_through_parse() -> None:
    assert parse_amount(format_wan(Decimal("5200.5"))) == Decimal("5200.5")
