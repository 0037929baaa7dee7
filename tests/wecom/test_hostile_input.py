"""What members type that could break the WeCom channel, end to end through the callback: texts near the 2,048
bytes WeCom takes in one message (echoed back in a reply longer than that), markdown-looking text, emoji (the
astral plane, joined sequences, flags), Windows line ends. Each is stored as typed, shown as typed (the fake
renders markdown as WeCom's client does), and every reply is one WeCom takes (the ``wecom`` fixture fails on a
refused or cut message)."""

from __future__ import annotations

import pytest

from tests.fakes.wecom_api import TEXT_MAX, FakeWeCom, as_read, utf8_len
from tests.wecom.harness import HAO, STRANGER, WeComHarness, WeComReplies

CODE = "ZD2026-001"
MARKDOWN = ("**加粗** [点我](https://evil.example/x) <font color=\"warning\">红字</font> `代码` &lt;b&gt; <b>粗</b> "
            "~~删~~")
EMOJI = "🏗️塔吊就位👷‍♂️工人进场🇨🇳升旗😀"


def near_limit(unit: str, lead: str) -> str:
    """``unit`` repeated as many times as fits after ``lead`` in WeCom's 2,048 bytes."""
    times = (TEXT_MAX - utf8_len(lead)) // utf8_len(unit)
    return unit * times


def whole_characters(replies: WeComReplies) -> None:
    """No message of these begins or ends inside a character as read: an emoji of several code points
    (👷‍♂️, 🏗️) or a flag (🇨🇳, two regional indicators), which a client would show as two symbols or a box."""
    for text in replies.texts:
        assert not text.startswith(("\u200d", "\ufe0f")) and not text.endswith("\u200d"), text
        assert sum(0x1F1E6 <= ord(c) <= 0x1F1FF for c in text) % 2 == 0, text


def shown(replies: WeComReplies) -> str:
    """Everything the member's client shows for these replies, as a reader reads it, the lines joined."""
    return "".join(as_read(text).replace("\n", "") for text in replies.texts)


@pytest.fixture
async def hao(wecom: WeComHarness) -> WeComHarness:
    await wecom.bind(HAO, "郝芳")
    return wecom


@pytest.mark.parametrize("unit", ["主体结构施工", EMOJI, MARKDOWN + " "], ids=["chinese", "emoji", "markdown"])
async def test_a_report_line_as_long_as_wecom_takes_is_stored_and_echoed_whole(hao: WeComHarness, unit: str) -> None:
    lead = f"/report {CODE} 850万 "
    progress = near_limit(unit, lead).strip()
    assert TEXT_MAX - 60 < utf8_len(lead + progress) <= TEXT_MAX

    replies = await hao.send(HAO, lead + progress)

    (report,) = await hao.reports()
    assert report.progress_text == progress
    assert as_read(progress).replace("\n", "") in shown(replies)
    whole_characters(replies)


@pytest.mark.parametrize("unit", [EMOJI, MARKDOWN + EMOJI])
async def test_the_guided_reports_summary_of_the_longest_progress_keeps_each_character_whole(
        hao: WeComHarness, unit: str) -> None:
    await hao.send(HAO, "/report")
    await hao.press(HAO, f"{CODE} 城北高速连接线")
    await hao.send(HAO, "850")
    progress = near_limit(unit, "").strip()
    await hao.send(HAO, progress)

    summary = await hao.press(HAO, "完成（不再上传照片）")
    assert summary.buttons == ["确认", "修改", "取消"]
    whole_characters(summary)
    confirmed = await hao.press(HAO, "确认")
    whole_characters(confirmed)
    (report,) = await hao.reports()
    assert report.progress_text == progress


async def test_a_report_line_over_the_progress_limit_is_refused_saying_so(hao: WeComHarness) -> None:
    lead = f"/report {CODE} 850万 "
    progress = near_limit("abc ", lead).strip()  # 2,048 bytes of ASCII: over the 2,000 characters a progress takes

    replies = await hao.send(HAO, lead + progress)

    assert replies.texts == [f"形象进度最多 2000 个字，这次有 {len(progress)} 个字，未保存。请精简后重新发送。"]
    assert await hao.reports() == []


@pytest.mark.parametrize("text", [MARKDOWN, EMOJI, "第一行\r\n第二行\r\n# 第三行"], ids=["markdown", "emoji", "crlf"])
async def test_a_problem_in_such_words_reaches_the_unit_as_typed(
        hao: WeComHarness, fake_wecom: FakeWeCom, text: str) -> None:
    await hao.bind("ZhaoFang", "赵芳", "unit")
    raised = await hao.send(HAO, f"/issue {CODE} 用地 {text}")
    assert "已登记" in raised.text
    mark = len(fake_wecom.calls)
    await hao.deliver_outbox()
    told = "".join(as_read(t) for t in fake_wecom.shown("ZhaoFang", since=mark))
    expected = as_read(text.replace("\r\n", "\n"))
    for line in expected.splitlines():
        assert line.strip() in told, (line, told)


@pytest.mark.parametrize("unit", ["绑定", "🏗️", MARKDOWN])
async def test_a_stranger_sending_the_longest_text_is_told_how_to_bind(
        wecom: WeComHarness, fake_wecom: FakeWeCom, unit: str) -> None:
    fake_wecom.add_user(STRANGER)
    replies = await wecom.send(STRANGER, near_limit(unit, ""))
    assert replies.messages and "邀请码" in replies.text


async def test_text_holding_xmls_own_syntax_is_read_as_typed(hao: WeComHarness, fake_wecom: FakeWeCom) -> None:
    """``]]>`` ends a CDATA section, so an XML writer splits it over two (``]]]]><![CDATA[>``); ``<xml>`` and
    ``&amp;`` inside CDATA are text."""
    typed = "桩基]]>完成 <xml><Content>x</Content></xml> &amp; &#46;"
    sealed = fake_wecom.text_xml(HAO, f"/report {CODE} 850万 " + typed.replace("]]>", "]]]]><![CDATA[>"))

    replies = await hao.exchange(HAO, sealed)

    (report,) = await hao.reports()
    assert report.progress_text == typed
    assert as_read(typed) in shown(replies)


@pytest.mark.parametrize(("typed", "picked"), [("2️⃣", "征地拆迁"), ("２", "征地拆迁"), ("🔟", None)])
async def test_a_number_typed_as_a_keycap_emoji_picks_from_a_numbered_list(
        hao: WeComHarness, typed: str, picked: str | None) -> None:
    """A phone's emoji keyboard offers numbers as keycaps (2️⃣, 🔟): they pick as the digits do."""
    await hao.send(HAO, "问题")
    listed = await hao.press(HAO, f"{CODE} 城北高速连接线")
    assert "[2] 征地拆迁" in listed.text and "[10] 取消" in listed.text

    answered = await hao.send(HAO, typed)

    if picked is None:  # [10] 取消
        assert hao.spy.handled[-1].callback_data is not None and "取消" in answered.text
    else:
        assert hao.spy.handled[-1].callback_data == "iss:c:1" and picked in answered.text
