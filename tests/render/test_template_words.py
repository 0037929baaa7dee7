"""Every template writes Chinese as a 区项目办 does: full-width punctuation next to Chinese (no 「；…,…。」
mixes), no code names and no 「|」 separators in the text users read.

The sources are scanned, not renderings, so that every branch of every template is covered: the text
between Jinja tags, and the string literals inside them (words like 「已提交改派申请，等待……」 are printed from
there). What is inside <code> is typed by users (`/schedule reminders 16:00,18:00`) and is left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.render import Renderer

TEMPLATES_DIR = Path(__file__).parents[2] / "bot" / "templates"
# the chat's, the command line's (cli/) and the web pages' (web/)
TEMPLATES = sorted(TEMPLATES_DIR.rglob("*.j2"))
# Jinja tags and comments, <code>…</code>, HTML tags and entities, a web page's CSS classes (body_class): not text
# users read as written.
NOT_TEXT = re.compile(r"\{%-?\s*block body_class\s*-?%\}.*?\{%-?\s*endblock\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}"
                      r"|<code>.*?</code>|<[^<>]*>|&#?[0-9A-Za-z]+;", re.S)
TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
CHINESE = "\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff60"  # 汉字 and full-width punctuation
HALF_WIDTH_NEXT_TO_CHINESE = re.compile(rf"[{CHINESE}][,;:!?()]|[,;:!?()][{CHINESE}]")
# Words in Latin letters a user may read: file formats, products, and commands and options to type.
ALLOWED_WORDS = {"Excel", "WPS", "xlsx", "xls", "csv", "CSV", "UTF-8", "GB18030", "Telegram", "Word", "Ctrl-D", "all",
                 "MB", "KB", "SQLite", "PostgreSQL",
                 # the WeCom admin console's own labels, which an admin must find there: 企业可信IP, Secret, AgentId
                 "IP", "Secret", "AgentId",
                 # Telegram's own bot for managing bots, where the bot's token is revoked and issued (@BotFather)
                 "BotFather",
                 # the object storage the photos may be kept in, as its operators call it (an S3-compatible bucket)
                 "S3"}
# The Excel ledger's headers write a unit as the district's ledger writes its columns (bot/ledger/columns.py:
# 总投资(万元)), half-width brackets and all: 年度计划(万元), 差距(百分点).
LEDGER_UNIT = re.compile(r"\((万元|百分点)\)")
DOCUMENT_LINE_KIND = re.compile(r"^[a-z0-9]+\|", re.MULTILINE)
WORD = re.compile(r"(?<![/\-\w])[A-Za-z_][A-Za-z0-9_\-.]*")


def source_of(path: Path) -> str:
    """A template's source as scanned: the Excel ledger's units in its headers left out (LEDGER_UNIT)."""
    source = path.read_text(encoding="utf-8")
    return LEDGER_UNIT.sub("", source) if path.name == "ledger_export.j2" else source


def texts(source: str) -> list[str]:
    """The pieces of a template source users read: the text outside tags, and the tags' string literals."""
    literals = [a or b for tag in TAGS.findall(source) for a, b in LITERAL.findall(tag)]
    return [*NOT_TEXT.split(source), *literals]


def test_there_are_templates_to_scan() -> None:
    assert len(TEMPLATES) > 100


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_punctuation_next_to_chinese_is_full_width(path: Path) -> None:
    bad = [m.group(0) for text in texts(source_of(path))
           for m in HALF_WIDTH_NEXT_TO_CHINESE.finditer(text)]
    assert bad == [], f"{path.name}: half-width punctuation next to Chinese: {bad}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_no_half_width_punctuation_printed_on_its_own(path: Path) -> None:
    """A literal of punctuation alone (`{{ "(" + day + ")" }}`) is printed next to Chinese: full-width too."""
    literals = [a or b for tag in TAGS.findall(source_of(path)) for a, b in LITERAL.findall(tag)]
    bad = [text for text in literals if re.search(r"[,;:()!?]", text) and not re.search(r"[A-Za-z0-9%]", text)]
    assert bad == [], f"{path.name}: {bad}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_full_width_brackets_are_closed_as_they_are_opened(path: Path) -> None:
    """A line that opens （ or 「 closes it with the same kind (not 「（2026-11-20)」)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert (line.count("（"), line.count("「")) == (line.count("）"), line.count("」")), f"{path.name}:{number}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_no_code_names_or_bar_separators(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    document = path.name.endswith("_document.j2")  # Word (bot.documents.gongwen): `kind|text`, `|` between cells
    if document:
        source = DOCUMENT_LINE_KIND.sub("", source)
    text = "".join(NOT_TEXT.split(source))
    words = {w.rstrip(".") for w in WORD.findall(text)} - ALLOWED_WORDS
    assert words == set(), f"{path.name}: code names in the text: {sorted(words)}"
    assert document or "|" not in text, f"{path.name}: 「|」 used as a separator"


def test_the_scan_catches_what_it_is_for() -> None:
    """The scanner itself: a mixed line, a literal, a code name and a bar are found; <code> and times are not."""
    source = ('已登记,编号 {{ n }}。{{ "申请改派,等待处理" if x }}状态 open|单位|\n'
              '<code>/schedule reminders 16:00,18:00</code> 16:00 提醒')
    found = [m.group(0) for text in texts(source) for m in HALF_WIDTH_NEXT_TO_CHINESE.finditer(text)]
    assert found == ["记,", "派,"]
    plain = "".join(NOT_TEXT.split(source))
    assert WORD.findall(plain) == ["open"] and "|" in plain


def test_level_names_are_written_in_full() -> None:
    """One list of level names, every one in full: no 「单位」 or 「书记」 alone."""
    names = Renderer().env.globals["level_names"]
    assert list(names) == ["责任单位", "包抓领导", "区长", "区委书记/领导小组"]


# A line of text ending in a block tag: with trim_blocks the newline after the tag is dropped, so the next line
# of text would be glued to this one (「桩基完成更正理由：…」). Such a line ends in "+%}" (keeps its newline), or
# is followed by a blank line or a tag.
_ENDS_IN_BLOCK_TAG = re.compile(r"\S.*?(?<!\+)%\}\s*$")
_ONLY_TAGS = re.compile(r"\s*(\{%.*?%\}\s*)+$")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_no_line_of_text_is_glued_to_the_next(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    glued = [f"{number}: {line}" for number, (line, after) in enumerate(zip(lines, lines[1:], strict=False), start=1)
             if _ENDS_IN_BLOCK_TAG.match(line) and not _ONLY_TAGS.match(line)
             and not line.lstrip().startswith(("{% macro", "{%- macro"))
             and after.strip() and not after.lstrip().startswith(("{%", "{#"))]
    assert glued == [], f"{path.name}: the line after these is glued to them: {glued}"
