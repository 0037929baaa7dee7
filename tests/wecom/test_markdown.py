"""Our Telegram-HTML as WeCom markdown: formatting kept, every character of user text shown literally,
and messages split within WeCom's byte limits. "Shown" is what the fake's model of the WeCom renderer
displays (tags it does not know vanish, character references are shown as typed, a zero-width space shows
as nothing); "read" takes the full-width twins of syntax characters for the characters themselves."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.wecom.markdown import (
    ZERO_WIDTH_SPACE,
    escape_markdown,
    html_to_markdown,
    split_markdown,
    split_utf8,
    utf8_len,
)
from bot.channels.wecom.render import (
    BUTTON_TEXT_MAX,
    card_parts,
    fitted_labels,
    numbered_html,
    reply_parts,
    text_parts,
)
from bot.domain.messages import Button, Reply
from bot.render import Renderer
from tests.fakes.wecom_api import as_read, check_markdown, render_markdown


def test_tags_become_wecom_markdown() -> None:
    converted = html_to_markdown(
        "您好,<b>郝芳</b>!发送 <code>/start 邀请码</code>\n"
        "<i>提示</i> <a href=\"https://example.org/a b\">详情</a>\n<blockquote>引用一\n引用二</blockquote>")
    assert converted == ("您好,**郝芳**!发送 `/start 邀请码`\n<font color=\"comment\">提示</font> "
                         "[详情](https://example.org/a%20b)\n> 引用一\n> 引用二")


def test_a_project_name_with_markup_characters_shows_literally() -> None:
    name = "城北<连接线>&二期"
    reply = Renderer().env.from_string("<b>{{ p }}</b> 项目:{{ p }}").render(p=name)
    assert "&lt;" in reply  # our templates escape user text for HTML

    markdown = html_to_markdown(reply)

    assert render_markdown(markdown) == "城北＜连接线＞&二期 项目:城北＜连接线＞&二期"
    assert as_read(render_markdown(markdown)) == f"{name} 项目:{name}"
    assert "<连接线>" not in markdown  # a raw "<…>" would be taken as a tag by WeCom and vanish
    assert render_markdown("城北<连接线>&二期") == "城北&二期"  # which is what the test guards against


@pytest.mark.parametrize("text", [
    "**不是粗体**", "`不是代码`", "[不是链接](https://x.org)", "_下划线_", "# 不是标题", "> 不是引用",
    "- 不是列表", "1. 不是列表", "&amp; 原样", "a < b > c", '<font color="warning">不是颜色</font>',
])
def test_user_text_never_becomes_markup(text: str) -> None:
    markdown = html_to_markdown(html.escape(text, quote=False))
    shown = render_markdown(markdown)
    assert as_read(shown) == text
    assert not any(mark in markdown for mark in ("**", "`", "](", "<font", "&#", "&lt;", "&gt;", "&amp;"))
    assert not re.match(r"\s*(#|>|[-+*]\s|\d+[.)]\s)", markdown)  # no heading, quote or list


def test_ranked_lines_are_sent_as_typed_never_as_character_references() -> None:
    ranking = "<b>项目排名</b>\n1. 城北高速连接线 98.5分\n2. 城南污水厂 97.0分\n2. 城西安置房 97.0分\n10) 旧城改造"

    markdown = html_to_markdown(ranking)

    assert "&#" not in markdown
    assert markdown.split("\n")[1:] == [ZERO_WIDTH_SPACE + line for line in html_to_plain_lines(ranking)[1:]]
    assert render_markdown(markdown).split("\n") == html_to_plain_lines(ranking)


def html_to_plain_lines(reply_html: str) -> list[str]:
    return re.sub(r"</?b>", "", reply_html).split("\n")


@pytest.mark.parametrize("typed", ["&amp;", "&lt;b&gt;", "&#46;", "&#x41;", "A&B", "a=1&b=2"])
def test_references_typed_by_users_stay_as_typed_even_where_references_are_decoded(typed: str) -> None:
    markdown = html_to_markdown(html.escape(typed, quote=False))
    assert render_markdown(markdown) == typed
    assert html.unescape(markdown).replace(ZERO_WIDTH_SPACE, "") == typed  # a renderer that decodes them
    assert ("&" + ZERO_WIDTH_SPACE in markdown) == bool(re.search(r"&#?\w+;", typed))  # URLs stay whole


def test_bold_spans_lines_and_spaces_stay_outside_the_markers() -> None:
    assert html_to_markdown("<b> 第一行\n第二行 </b>!") == " **第一行**\n**第二行** !"


def test_unsafe_code_falls_back_to_escaped_text() -> None:
    assert html_to_markdown("<code>a &lt; b</code>") == "a ＜ b"
    assert html_to_markdown("<code>/answer 问题编号 [2026-12-10] 办理方案</code>") == \
        "`/answer 问题编号 [2026-12-10] 办理方案`"


def test_only_http_links_become_links() -> None:
    assert html_to_markdown('<a href="javascript:alert(1)">点我</a>') == "点我"
    assert render_markdown(html_to_markdown('<a href="https://x.org/p?a=1&amp;b=(2)">点我</a>')) == "点我"


@pytest.mark.parametrize("limit", [256, 2048, 4096])
def test_splitting_keeps_lines_whole_within_the_byte_limit(limit: int) -> None:
    text = "\n".join(f"第{n}行:" + "城北连接线" * (n % 7) + escape_markdown("*<>") for n in range(400))

    chunks = split_utf8(text, limit)

    assert all(utf8_len(c) <= limit for c in chunks)
    assert "\n".join(chunks) == text
    assert len(chunks) > 1


def test_an_over_long_line_is_cut_between_characters() -> None:
    line = escape_markdown("*") * 40 + "城" * 30
    chunks = split_utf8(line, 50)
    assert len(chunks) > 1 and all(utf8_len(c) <= 50 for c in chunks)
    assert "".join(chunks) == line
    assert all(render_markdown(c).strip("＊城") == "" for c in chunks)


def test_plain_replies_are_text_and_formatted_ones_markdown() -> None:
    assert [p.msgtype for p in text_parts("没有看懂这条消息。发送 /help 查看可用命令。")] == ["text"]
    assert [p.msgtype for p in text_parts("您好,<b>郝芳</b>")] == ["markdown"]
    # A "<" in plain text goes as markdown (escaped), since text messages interpret <a> tags.
    parts = text_parts("项目 城北&lt;连接线&gt;")
    assert [p.msgtype for p in parts] == ["markdown"]
    assert render_markdown(parts[0].content["content"]) == "项目 城北＜连接线＞"
    long = text_parts("\n".join(f"第{n}行 城北高速连接线进展顺利" for n in range(200)))
    assert len(long) > 1 and all(utf8_len(p.content["content"]) <= 2048 for p in long)


def test_a_short_reply_with_buttons_is_one_card_and_a_long_one_text_then_card() -> None:
    buttons = ((Button("确认", "rp:ok"), Button("修改", "rp:edit")), (Button("取消", "rp:cancel"),))
    [card] = card_parts(Reply(html="请核对填报内容:\n项目:ZD2026-001", buttons=buttons))
    assert card.msgtype == "template_card"
    assert card.content["main_title"]["title"] == "请核对填报内容:"
    assert card.content["sub_title_text"] == "项目:ZD2026-001"
    assert [(b["text"], b["key"]) for b in card.content["button_list"]] == [
        ("确认", "rp:ok"), ("修改", "rp:edit"), ("取消", "rp:cancel")]

    long = card_parts(Reply(html="<b>标题</b>\n" + "很长的说明" * 60, buttons=buttons))
    assert [p.msgtype for p in long] == ["markdown", "template_card"]
    assert long[1].content["main_title"]["title"] == "标题"


def test_card_buttons_keep_to_ten_characters_and_the_card_lists_the_shortened_ones_in_full() -> None:
    nodes = (Button("ZD2026-001 路面施工完成", "nd:d:1"), Button("ZD2026-002 主体结构封顶", "nd:d:2"),
             Button("取消", "nd:x"))
    [card] = card_parts(Reply(html="请选择已完成的节点:", buttons=(nodes,)))

    texts = [b["text"] for b in card.content["button_list"]]
    assert texts == ["①路面施工完成", "②主体结构封顶", "取消"]
    assert card.content["sub_title_text"] == "① ZD2026-001 路面施工完成\n② ZD2026-002 主体结构封顶"
    # Too much for a card: the text, with the list, goes before it.
    many = tuple(Button(f"ZD2026-00{n} 城北高速公路连接线二期工程", f"p:{n}") for n in range(1, 7))
    parts = card_parts(Reply(html="请选择要填报的项目:", buttons=(many,)))
    assert [p.msgtype for p in parts] == ["text", "template_card"]
    assert "⑥ ZD2026-006 城北高速公路连接线二期工程" in parts[0].content["content"]
    assert [b["text"] for b in parts[1].content["button_list"]] == [f"{m}城北高速公路连接…" for m in "①②③④⑤⑥"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30).filter(lambda t: t.strip()), min_size=1, max_size=6,
                unique_by=str.strip))
def test_fitted_button_texts_are_short_distinct_and_listed_in_full(labels: list[str]) -> None:
    texts, listed = fitted_labels(tuple(Button(label, f"k{n}") for n, label in enumerate(labels)))

    assert all(0 < len(t) <= BUTTON_TEXT_MAX for t in texts)
    assert len(set(texts)) == len(texts)
    for label, text in zip(labels, texts, strict=True):
        assert text == label.strip() or f"{text[0]} {label.strip()}" in listed


def test_too_many_or_repeated_buttons_become_a_numbered_list() -> None:
    seven = Reply(html="请选择:", buttons=tuple((Button(f"选项{n}", f"x:{n}"),) for n in range(7)))
    parts, numbered = reply_parts(seven)
    assert numbered and [p.msgtype for p in parts] == ["text"]
    assert parts[0].content["content"].endswith("[7] 选项6")
    twice = Reply(html="请选择:", buttons=((Button("甲", "same"), Button("乙", "same")),))
    assert reply_parts(twice)[1] is True
    escaped = numbered_html(Reply(html="选:", buttons=((Button("城北<连接线>", "a"),),)))
    assert "[1] 城北&lt;连接线&gt;" in escaped


_user_text = st.text(alphabet=st.sampled_from(list("城北高速连接线征地拆迁 *#-1.<>[]()`&_~") + ["\u3000", "a", "Z"]),
                     min_size=1, max_size=200)
_piece = st.one_of(
    _user_text.map(lambda t: html.escape(t, quote=False)),
    _user_text.map(lambda t: f"<b>{html.escape(t, quote=False)}</b>"),
    _user_text.map(lambda t: f"<i>{html.escape(t, quote=False)}</i>"),
    _user_text.map(lambda t: f"<b>加粗<i>{html.escape(t, quote=False)}</i>再加粗</b>"),
    st.just('<a href="https://example.com/web/project/ZD2026-001">在驾驶舱中查看</a>'),
    st.just("<code>ZD2026-001</code>"),
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_piece, min_size=1, max_size=40), lines=st.integers(1, 3),
       limit=st.sampled_from([64, 100, 300, 2048]))
def test_markdown_is_split_between_constructs_never_inside_one(pieces: list[str], lines: int, limit: int) -> None:
    """However long a line of bold, grey text, links and user text gets, every message is within the limit,
    is whole markdown (each ** and <font> closed in it), and the messages together show the same text."""
    html_text = "\n".join("".join(pieces) for _ in range(lines))
    markdown = html_to_markdown(html_text)

    chunks = split_markdown(markdown, limit)

    assert all(utf8_len(c) <= limit for c in chunks)
    for chunk in chunks:
        check_markdown(chunk)
        shown = render_markdown(chunk)
        assert "**" not in shown and "<font" not in shown and "</font>" not in shown, chunk
    whole = render_markdown(markdown).replace("\n", "")
    assert "".join(render_markdown(c) for c in chunks).replace("\n", "") == whole


def test_a_long_bold_line_is_bold_in_every_message() -> None:
    chunks = split_markdown(html_to_markdown("<b>" + "城北高速连接线" * 120 + "</b>"), 2048)
    assert len(chunks) == 2 and all(c.startswith("**") and c.endswith("**") for c in chunks)


def test_a_line_starting_with_grey_or_bold_text_is_not_made_a_list_or_heading() -> None:
    shown = render_markdown(html_to_markdown("<i>- 已撤回</i>\n<b>1. 城北高速连接线</b>\n<b># 标题</b>"))
    assert shown == "- 已撤回\n1. 城北高速连接线\n# 标题"


EMOJI_LINE = "🏗️塔吊👷‍♂️工🇨🇳升😀👍🏽1️⃣é" * 40  # joined emoji, flags, a skin tone, a keycap, a combining accent


@pytest.mark.parametrize("split", [split_utf8, split_markdown])
def test_an_over_long_line_is_never_cut_inside_a_character_as_read(split: object) -> None:
    """An emoji of several code points, a flag or an accented letter is one character to the reader: a cut
    between its parts would show two symbols (👷 ♂️) or a box, at the end of one message and the start of the
    next."""
    for limit in range(16, 120):
        chunks = split(EMOJI_LINE, limit)  # type: ignore[operator]
        assert "".join(chunks) == EMOJI_LINE
        for chunk in chunks:
            assert utf8_len(chunk) <= limit
            assert not chunk.startswith(("\u200d", "\ufe0f", "\U0001f3fd", "\u20e3", "\u0301")), (limit, chunk)
            assert not chunk.endswith("\u200d") and sum(0x1F1E6 <= ord(c) <= 0x1F1FF for c in chunk) % 2 == 0


_RUNS = st.sampled_from(["x", "城", "👷", "♂", "\u200d", "\u0301", "\ufe0f", "\U0001f3fd", "\U0001f1e8", "*", "<",
                         "`", "[", "](https://x.org)", " ", "\n"])


@settings(max_examples=150, deadline=None)
@given(runs=st.lists(st.tuples(_RUNS, st.integers(1, 400)), min_size=1, max_size=5), markdown=st.booleans(),
       limit=st.integers(64, 600))  # room for a grey text's markers (29 bytes) and a character
def test_no_piece_is_ever_over_the_byte_limit(runs: list[tuple[str, int]], markdown: bool, limit: int) -> None:
    """A run of joiners or combining marks is one "character" with no end (a liaison's 2,000-character
    progress text can be one): cut into its code points rather than sent over WeCom's limit."""
    text = "".join(run * count for run, count in runs)
    if markdown:
        chunks = split_markdown(html_to_markdown(f"<b>{html.escape(text)}</b> <i>{html.escape(text)}</i>"), limit)
    else:
        chunks = split_utf8(text, limit)
    assert all(utf8_len(chunk) <= limit for chunk in chunks)


@pytest.mark.parametrize("split", [split_utf8, split_markdown])
@pytest.mark.parametrize("line", ["x\u200d" * 1000, "a" + "\u0301" * 1500])
def test_an_endless_character_is_cut_within_the_limit(split: object, line: str) -> None:
    chunks = split(line, 2048)  # type: ignore[operator]
    assert len(chunks) > 1 and all(utf8_len(chunk) <= 2048 for chunk in chunks)
    assert "".join(chunks).replace(ZERO_WIDTH_SPACE, "") == line
