"""End to end through Telegram: amounts as phone keyboards write them, on every report path, and lines
whose split into amount and progress is ambiguous (asked back, never guessed).

郝芳 (1001) is the liaison of ZD2026-001 (see test_telegram_flow).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.harness import TelegramHarness
from tests.fakes.bot_api import FakeBotAPI

HAO = 1001
CODE = "ZD2026-001"


@pytest.fixture
async def hao(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳", "liaison")
    return telegram


@pytest.mark.parametrize(("line", "amount", "progress", "shown"), [
    ("1.2 亿 主体完工", "12000", "主体完工", "1.2 亿 = 12,000.0 万元"),
    ("1.2 亿元 主体完工", "12000", "主体完工", "1.2 亿元 = 12,000.0 万元"),
    ("5000 元 桩基", "0.5", "桩基", "5000 元 = 0.5 万元"),
    ("1.2\u3000亿\u3000主体完工", "12000", "主体完工", "1.2 亿 = 12,000.0 万元"),
    ("一点二亿 主体完工", "12000", "主体完工", "12,000.0 万元（「一点二亿」按 12,000 万元计）"),
    ("1200万元整 路基", "1200", "路基", "1200万元整 = 1,200.0 万元"),
    ("1.2 億 主体", "12000", "主体", "1.2 億 = 12,000.0 万元"),
    ("８５０ 桩基完成", "850", "桩基完成", "８５０（未写单位，按万元计）= 850.0 万元"),
])
async def test_one_shot_amounts_with_spaces_and_forms(hao: TelegramHarness, line: str, amount: str,
                                                      progress: str, shown: str) -> None:
    replies = await hao.send(HAO, f"/report {CODE} {line}")

    assert "已记录" in replies.text
    assert shown in replies.text
    [report] = await hao.reports()
    assert (report.amount, report.progress_text) == (Decimal(amount), progress)


async def test_photo_caption_with_a_space_before_the_unit(hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    replies = await hao.photo(HAO, f"{CODE} 1.2 亿元 主体", file_id=fake_api.add_file(b"site"))

    assert "1.2 亿元 = 12,000.0 万元" in replies.text
    [report] = await hao.reports()
    assert (report.amount, report.progress_text, len(report.photos)) == (12000, "主体", 1)


async def test_guided_step_reads_the_same_grammar(hao: TelegramHarness) -> None:
    await hao.send(HAO, f"/report {CODE}")
    asked = await hao.send(HAO, "1.2 亿")
    assert "1.2 亿 = 12,000.0 万元" in asked.text


async def test_an_ambiguous_split_is_asked_back_and_stored_as_picked(hao: TelegramHarness,
                                                                    fake_api: FakeBotAPI) -> None:
    photo = fake_api.add_file(b"site")
    asked = await hao.photo(HAO, f"{CODE} 3 000 主体", file_id=photo)

    assert "尚未保存" in asked.text
    assert "3（未写单位，按万元计）= 3.0 万元,形象进度「000 主体」".replace(",", "，") in asked.text
    assert "3 000（未写单位，按万元计）= 3,000.0 万元" in asked.text
    assert asked.buttons == ["3.0 万元，进度「000 主体」", "3,000.0 万元，进度「主体」", "都不对，取消"]
    assert await hao.report_count() == 0
    assert "请点击上面的按钮" in (await hao.send(HAO, "3000")).text

    saved = await hao.press(HAO, "3,000.0 万元，进度「主体」")

    assert "已记录" in saved.text and "3 000（未写单位，按万元计）= 3,000.0 万元" in saved.text
    [report] = await hao.reports()
    assert (report.amount, report.progress_text, len(report.photos)) == (3000, "主体", 1)


async def test_a_number_then_another_number_is_asked_back(hao: TelegramHarness) -> None:
    asked = await hao.send(HAO, f"/report {CODE} 850 1200 桩基")

    assert asked.buttons == ["850.0 万元，进度「1200 桩基」", "1,200.0 万元，进度「850 桩基」", "都不对，取消"]
    assert await hao.report_count() == 0
    cancelled = await hao.press(HAO, "都不对，取消")
    assert "未保存" in cancelled.text
    assert await hao.report_count() == 0


async def test_a_slip_of_unit_shows_what_was_read(hao: TelegramHarness) -> None:
    refused = await hao.send(HAO, f"/report {CODE} 10 亿 主体")

    assert "10 亿 = 100,000.0 万元" in refused and "未保存" in refused.text
    assert await hao.report_count() == 0


TWO_READINGS = ["850.0 万元，进度「万达广场基础施工」", "850.0 万元，进度「达广场基础施工」", "都不对，取消"]


async def test_a_word_led_by_a_unit_is_asked_back_and_never_stored_cut(hao: TelegramHarness) -> None:
    """「850万达广场基础施工」: 850 万元 either way, but the 万 may also open 万达广场; the words are never cut."""
    asked = await hao.send(HAO, f"/report {CODE} 850万达广场基础施工")

    assert "尚未保存" in asked.text and "金额或形象进度可以有2种理解" in asked.text
    assert asked.buttons == TWO_READINGS
    assert await hao.report_count() == 0
    saved = await hao.press(HAO, "850.0 万元，进度「万达广场基础施工」")
    assert "已记录" in saved.text and "850（未写单位，按万元计）= 850.0 万元" in saved.text
    [report] = await hao.reports()
    assert (report.amount, report.progress_text) == (850, "万达广场基础施工")


async def test_the_guided_amount_step_asks_back_a_line_that_reads_two_ways(hao: TelegramHarness) -> None:
    await hao.send(HAO, f"/report {CODE}")
    asked = await hao.send(HAO, "850万达广场基础施工")
    assert asked.buttons == TWO_READINGS
    await hao.press(HAO, "850.0 万元，进度「万达广场基础施工」")
    [report] = await hao.reports()
    assert (report.amount, report.progress_text) == (850, "万达广场基础施工")


async def test_a_spaced_number_alone_is_still_the_guided_steps_amount(hao: TelegramHarness) -> None:
    await hao.send(HAO, f"/report {CODE}")
    asked = await hao.send(HAO, "3 000")
    assert "3,000.0 万元" in asked.text and "形象进度" in asked.text
    assert not asked.buttons[:1] == ["3.0 万元，进度「000」"]
