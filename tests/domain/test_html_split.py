"""Splitting long HTML messages: limits, line boundaries, tags closed and reopened, nothing lost."""

import re
from html.parser import HTMLParser

import pytest

from bot.html_split import split_html


class _Balanced(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check(part: str) -> str:
    parser = _Balanced()
    parser.feed(part)
    parser.close()
    assert parser.stack == [], f"unclosed {parser.stack}"
    return "".join(parser.text)


def test_short_text_is_one_part() -> None:
    assert split_html("<b>短</b>") == ["<b>短</b>"]


def test_long_text_is_cut_between_lines() -> None:
    lines = [f"第{i}行 <b>项目{i}</b> 完成率 {i}.0%" for i in range(400)]
    parts = split_html("\n".join(lines), limit=500)
    assert len(parts) > 1
    assert all(len(p) <= 500 for p in parts)
    assert [line for p in parts for line in p.split("\n")] == lines


def test_tags_open_across_a_cut_are_closed_and_reopened() -> None:
    text = "<b>" + "\n".join(f"行{i:03d}" for i in range(300)) + "</b>"
    parts = split_html(text, limit=200)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        _check(part)
    joined = "".join(_check(p) for p in parts)
    assert joined.replace("\n", "") == "".join(f"行{i:03d}" for i in range(300))


@pytest.mark.parametrize("limit", [50, 64, 97])
def test_a_line_longer_than_a_part_is_cut_but_never_inside_a_tag_or_entity(limit: int) -> None:
    line = "".join(f'<a href="https://e.x/{i}">链接&amp;{i}</a>' for i in range(40))
    parts = split_html(line, limit=limit)
    assert all(len(p) <= limit for p in parts)
    for part in parts:
        _check(part)
        assert not re.search(r"<[^>]*$", part), part  # no cut inside a tag
        assert not re.search(r"&[a-z]*$", part), part  # no cut inside an entity
    assert "".join(_check(p) for p in parts) == "".join(f"链接&{i}" for i in range(40))


def test_length_is_counted_in_utf16_units_like_telegram() -> None:
    lines = [f"🟢 项目{i}" for i in range(100)]  # each emoji counts twice
    parts = split_html("\n".join(lines), limit=100)
    assert all(len(p.encode("utf-16-le")) // 2 <= 100 for p in parts)
    total = sum(len(line.encode("utf-16-le")) // 2 + 1 for line in lines)
    assert len(parts) >= total // 100  # counting characters instead would make fewer, too long parts
