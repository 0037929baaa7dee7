"""Our Telegram-flavoured HTML replies as WeCom text and markdown, and byte-exact splitting.

WeCom's markdown is a small subset: bold (``**…**``), links (``[text](url)``), inline code
(`` `…` ``, one line), quotes (``> …``), headings and ``<font color="info|comment|warning">``. Its
renderer treats ``<…>`` as markup and decodes HTML character references, so text that came from
users (a project named ``城北<连接线>&二期``) is escaped with character references: ``&lt;``,
``&gt;``, ``&amp;`` and ``&#42;`` for ``*`` and so on. A reference is never taken as markdown syntax
and shows as the character itself.

Mapping of our tags: ``<b>``/``<strong>`` → ``**…**`` (per line: bold does not span lines there);
``<i>``/``<em>`` → grey ``<font color="comment">``; ``<code>`` → `` `…` `` when its text is safe
inside a code span (else escaped plain text); ``<a href>`` → ``[text](url)`` for http(s) links;
``<blockquote>`` → ``> `` lines; ``<pre>`` and every other tag keep only their text.

Limits are in UTF-8 bytes: 2048 for an app's text and markdown messages, 4096 for a group robot's
markdown. :func:`split_utf8` cuts on line boundaries (inside an over-long line only between
characters, never inside a character reference).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

__all__ = [
    "APP_MARKDOWN_MAX_BYTES",
    "APP_TEXT_MAX_BYTES",
    "ROBOT_MARKDOWN_MAX_BYTES",
    "escape_markdown",
    "has_markup",
    "html_to_markdown",
    "split_utf8",
    "utf8_len",
]

APP_TEXT_MAX_BYTES = 2048
APP_MARKDOWN_MAX_BYTES = 2048
ROBOT_MARKDOWN_MAX_BYTES = 4096

# Characters that mean something to WeCom's markdown or its HTML layer, as character references.
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "*": "&#42;",
    "_": "&#95;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
}
_ESCAPE_RE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")
# A line starting with these is a heading / list / quote; the first character is escaped.
_LINE_START = {"#": "&#35;", "-": "&#45;", "+": "&#43;"}
_ORDERED = re.compile(r"^(\s*\d+)\.(\s)", re.MULTILINE)
_TAG_RE = re.compile(r"<[A-Za-z/!?]")
_CODE_UNSAFE = set("`<>&\n\r")
_ENTITY_TAIL = re.compile(r"&[#A-Za-z0-9]{0,10}$")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def escape_markdown(text: str) -> str:
    """Text shown literally inside WeCom markdown (mid-line; see :func:`html_to_markdown` for line starts)."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], text)


def has_markup(reply_html: str) -> bool:
    """Whether a reply's HTML has any tag (plain replies can go out as WeCom text messages)."""
    return bool(_TAG_RE.search(reply_html))


def _escape_line_starts(markdown: str) -> str:
    lines = []
    for line in markdown.split("\n"):
        stripped = line.lstrip(" ")
        if stripped[:1] in _LINE_START:
            indent = line[: len(line) - len(stripped)]
            line = indent + _LINE_START[stripped[0]] + stripped[1:]
        lines.append(line)
    return _ORDERED.sub(lambda m: f"{m.group(1)}&#46;{m.group(2)}", "\n".join(lines))


def _safe_url(href: str) -> str | None:
    href = href.strip()
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Keep the URL's own syntax; percent-encode what would end or break the markdown link.
    return quote(href, safe="/:?#@!$&'*+,;=%-._~")


class _Converter(HTMLParser):
    """Telegram-HTML → WeCom markdown. Each open tag collects its output in a frame of its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.frames: list[tuple[str, dict[str, str | None], list[str]]] = [("", {}, [])]

    @property
    def out(self) -> list[str]:
        return self.frames[-1][2]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")
            return
        self.frames.append((tag, dict(attrs), []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "br" or not any(frame[0] == tag for frame in self.frames[1:]):
            return  # stray end tag
        while True:
            name, attrs, parts = self.frames.pop()
            self.out.append(self._close(name, attrs, parts))
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        self.out.append(escape_markdown(data))

    def result(self) -> str:
        while len(self.frames) > 1:
            name, attrs, parts = self.frames.pop()
            self.out.append(self._close(name, attrs, parts))
        return "".join(self.out)

    @staticmethod
    def _close(tag: str, attrs: dict[str, str | None], parts: list[str]) -> str:
        inner = "".join(parts)
        if tag in ("b", "strong"):
            return _wrap_lines(inner, "**", "**")
        if tag in ("i", "em"):
            return _wrap_lines(inner, '<font color="comment">', "</font>")
        if tag == "code":
            plain = html.unescape(inner)
            if plain.strip() and not (_CODE_UNSAFE & set(plain)):
                return f"`{plain}`"
            return inner
        if tag == "a":
            url = _safe_url(attrs.get("href") or "")
            if url is None or not inner.strip():
                return inner
            return f"[{inner}]({url})"
        if tag == "blockquote":
            return "\n".join("> " + line if line.strip() else line for line in inner.strip("\n").split("\n"))
        return inner


def _wrap_lines(inner: str, opening: str, closing: str) -> str:
    """Wrap each non-blank line separately, with surrounding spaces kept outside the markers."""
    lines = []
    for line in inner.split("\n"):
        core = line.strip()
        if not core:
            lines.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()):]
        lines.append(f"{lead}{opening}{core}{closing}{trail}")
    return "\n".join(lines)


def html_to_markdown(reply_html: str) -> str:
    """A reply's Telegram-HTML as WeCom markdown, with every character of its text shown literally."""
    converter = _Converter()
    converter.feed(reply_html)
    converter.close()
    text = converter.result()
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    return _escape_line_starts(text)


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut an over-long line into pieces of at most ``limit`` bytes, never inside a character or a
    character reference."""
    pieces: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = utf8_len(char)
        if size + width > limit and current:
            tail = _ENTITY_TAIL.search(current)
            if tail and tail.start() > 0:
                pieces.append(current[: tail.start()])
                current = current[tail.start():]
            else:
                pieces.append(current)
                current = ""
            size = utf8_len(current)
        current += char
        size += width
    if current:
        pieces.append(current)
    return pieces


def split_utf8(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most ``limit`` UTF-8 bytes, preferring line boundaries.

    Lines are kept whole when they fit; the newline between two chunks is dropped. Empty input gives
    no chunk.
    """
    if limit < 16:
        raise ValueError("limit too small")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        width = utf8_len(line)
        if width > limit:
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            pieces = _cut_line(line, limit)
            chunks.extend(pieces[:-1])
            current, size = [pieces[-1]], utf8_len(pieces[-1])
            continue
        extra = width + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [line], width
        else:
            current.append(line)
            size += extra
    if current:
        chunks.append("\n".join(current))
    return [c for c in (chunk.strip("\n") for chunk in chunks) if c.strip()]
