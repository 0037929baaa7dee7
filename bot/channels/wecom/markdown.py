"""Our Telegram-flavoured HTML replies as WeCom text and markdown, and byte-exact splitting.

WeCom documents its markdown as a small subset: headings (``#`` … ``######`` and a space), bold
(``**…**``), links (``[text](url)``), inline code (`` `…` ``, one line), quotes (``> …``) and
``<font color="info|comment|warning">``. It documents no escape: neither backslashes nor HTML character
references (``&lt;``, ``&#46;``) are promised to be undone, and a client may show them as typed. So text
that came from users (a project named ``城北<连接线>&二期``) is made harmless with characters that render
as themselves whatever the renderer does:

- mid-line syntax characters become their full-width twins: ``*`` → ``＊``, `` ` `` → ``｀``, ``[`` → ``［``,
  ``]`` → ``］``, ``<`` → ``＜``, ``>`` → ``＞`` (``<连接线>`` would otherwise be taken as a tag and vanish);
- a ``&`` that starts what reads as a character reference (``&amp;``, ``&#46;``) is followed by a zero-width
  space (U+200B), so it shows as typed even on a renderer that decodes references;
- a line that would start a block (``#``, ``-``, ``+``, ``1.``, ``1)``: a heading or a list, which a fuller
  markdown renderer would restyle or renumber, e.g. the tied ranks of a bulletin) starts with a
  zero-width space: the line shows unchanged, ASCII characters and all.

``_`` and ``~`` stay as they are: the documented subset has no emphasis or strike-through with them, and
they are common in file names and ids.

Mapping of our tags: ``<b>``/``<strong>`` → ``**…**`` (per line: bold does not span lines there);
``<i>``/``<em>`` → grey ``<font color="comment">``; ``<code>`` → `` `…` `` when its text is safe
inside a code span (else escaped plain text); ``<a href>`` → ``[text](url)`` for http(s) links;
``<blockquote>`` → ``> `` lines; ``<pre>`` and every other tag keep only their text.

Limits are in UTF-8 bytes: 2048 for an app's text and markdown messages, 4096 for a group robot's
markdown. :func:`split_utf8` cuts on line boundaries (inside an over-long line only between characters as a
reader sees them: never inside an emoji of several code points, a flag, or a letter and its accent);
:func:`split_markdown` cuts an over-long line only between constructs, each piece complete in itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

__all__ = [
    "APP_MARKDOWN_MAX_BYTES",
    "APP_TEXT_MAX_BYTES",
    "ROBOT_MARKDOWN_MAX_BYTES",
    "escape_markdown",
    "has_markup",
    "html_to_markdown",
    "split_markdown",
    "split_utf8",
    "utf8_len",
]

APP_TEXT_MAX_BYTES = 2048
APP_MARKDOWN_MAX_BYTES = 2048
ROBOT_MARKDOWN_MAX_BYTES = 4096

ZERO_WIDTH_SPACE = "\u200b"
# Markdown (and tag) syntax characters, as the full-width characters that look like them.
_FULL_WIDTH = {"*": "\uff0a", "`": "\uff40", "[": "\uff3b", "]": "\uff3d", "<": "\uff1c", ">": "\uff1e"}
_ESCAPE_RE = re.compile("[" + re.escape("".join(_FULL_WIDTH)) + "]|&(?=#?[A-Za-z0-9]{1,32};)")
# A line starting (after its indent) like a heading or a list item.
# (Bold or coloured text starting the line is looked through: its markers vanish when shown.)
_BLOCK_START = re.compile(r"^([ \t]*(?:> )?(?:\*\*|<font color=\"[a-z]+\">)*)(?=[#+-]|\d+[.)](?:\s|$))",
                          re.MULTILINE)
_TAG_RE = re.compile(r"<[A-Za-z/!?]")
_CODE_UNSAFE = set("`<>&\n\r")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def escape_markdown(text: str) -> str:
    """Text shown literally inside WeCom markdown (mid-line; see :func:`html_to_markdown` for line starts)."""
    return _ESCAPE_RE.sub(lambda m: _FULL_WIDTH.get(m.group(), "&" + ZERO_WIDTH_SPACE), text)


def has_markup(reply_html: str) -> bool:
    """Whether a reply's HTML has any tag (plain replies can go out as WeCom text messages)."""
    return bool(_TAG_RE.search(reply_html))


def _escape_line_starts(markdown: str) -> str:
    return _BLOCK_START.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, markdown)


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


@dataclass
class _Frame:
    """An open tag: its markdown so far, and its text as the user wrote it (for code spans)."""

    tag: str
    attrs: dict[str, str | None]
    parts: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)


class _Converter(HTMLParser):
    """Telegram-HTML → WeCom markdown. Each open tag collects its output in a frame of its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.frames: list[_Frame] = [_Frame("", {})]

    def _emit(self, markdown: str, raw: str) -> None:
        self.frames[-1].parts.append(markdown)
        self.frames[-1].raw.append(raw)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._emit("\n", "\n")
            return
        self.frames.append(_Frame(tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._emit("\n", "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "br" or not any(frame.tag == tag for frame in self.frames[1:]):
            return  # stray end tag
        while True:
            frame = self.frames.pop()
            self._emit(self._close(frame), "".join(frame.raw))
            if frame.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self._emit(escape_markdown(data), data)

    def result(self) -> str:
        while len(self.frames) > 1:
            frame = self.frames.pop()
            self._emit(self._close(frame), "".join(frame.raw))
        return "".join(self.frames[0].parts)

    @staticmethod
    def _close(frame: _Frame) -> str:
        inner = "".join(frame.parts)
        tag = frame.tag
        if tag in ("b", "strong"):
            return _wrap_lines(inner, "**", "**")
        if tag in ("i", "em"):
            return _wrap_lines(inner, '<font color="comment">', "</font>")
        if tag == "code":
            plain = "".join(frame.raw)
            if plain.strip() and not (_CODE_UNSAFE & set(plain)):
                return f"`{plain}`"
            return inner
        if tag == "a":
            url = _safe_url(frame.attrs.get("href") or "")
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


# What a reader sees as one character, near enough, and a cut must not part: a character with the marks,
# variation selectors, skin tones and emoji tags after it, characters joined by a zero-width joiner
# (👷‍♂️), a flag's two regional indicators (🇨🇳); split, they show as two symbols, or as a box.
_EXTEND = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\u200d" \
          "\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\U000e0100-\U000e01ef"
_CLUSTER = f"[\U0001f1e6-\U0001f1ff]{{2}}|.(?:[{_EXTEND}]|(?<=\u200d).)*"
_CLUSTER_RE = re.compile(_CLUSTER, re.S)


def _clusters(line: str, limit: int) -> list[str]:
    """The characters as read of ``line``; one wider than ``limit`` bytes (a run of joiners or marks with no
    end) as its code points, so that no piece is ever over the limit."""
    out: list[str] = []
    for cluster in _CLUSTER_RE.findall(line):
        out.extend(cluster if utf8_len(cluster) > limit else (cluster,))
    return out


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut an over-long line into pieces of at most ``limit`` bytes, never inside a character as read (an emoji
    of several code points, a flag) unless it is itself over the limit."""
    pieces: list[str] = []
    current = ""
    size = 0
    for char in _clusters(line, limit):
        width = utf8_len(char)
        if size + width > limit and current:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    if current:
        pieces.append(current)
    return pieces


# What a markdown line is cut into: a code span or a link (kept whole), a font tag, bold markers, one character
# as read.
_CONSTRUCT = re.compile(r"`[^`\n]+`|\[[^\[\]\n]*\]\([^()\s]*\)")
_MD_TOKEN = re.compile(_CONSTRUCT.pattern + r"|<font color=\"[a-z]+\">|</font>|\*\*|" + _CLUSTER, re.S)
_FONT_CLOSE = "</font>"


def _cut_markdown_line(line: str, limit: int) -> list[str]:
    """Cut an over-long markdown line into pieces of at most ``limit`` bytes, never inside a construct: bold
    and coloured text open at a cut is closed at the end of one piece and opened again at the start of the
    next; code spans and links stay whole (one longer than a piece can hold is shown as its text), and a
    piece that would start like a heading or a list starts with a zero-width space."""
    limit -= utf8_len(ZERO_WIDTH_SPACE)  # room for the one a piece may start with
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    filled = False  # whether the current piece holds more than the openers it starts with
    opened: list[str] = []  # the openers ("**", '<font color="…">') written into this piece, outermost first
    pending: list[str] = []  # openers met but not written yet: written with the next text, in its piece

    def width(markers: list[str]) -> int:
        return sum(utf8_len(m) for m in markers)

    def closer(opener: str) -> str:
        return "**" if opener == "**" else _FONT_CLOSE

    def closers(markers: list[str]) -> str:
        return "".join(closer(m) for m in reversed(markers))

    for token in _MD_TOKEN.findall(line):
        stack = opened + pending
        if (token == "**" and "**" in stack) or (token == _FONT_CLOSE and any(m != "**" for m in stack)):
            target = "**" if token == "**" else next(m for m in reversed(stack) if m != "**")
            while stack and stack[-1] != target:  # markers out of order: the inner ones end here too
                stack.pop()
                if pending:
                    pending.pop()
                else:
                    current.append(closer(opened.pop()))
                    size += utf8_len(current[-1])
            if pending:  # nothing was written inside: neither marker is
                pending.pop()
            else:
                opened.pop()
                current.append(token)
                size += utf8_len(token)
            continue
        if token == "**" or token.startswith("<font "):
            pending.append(token)
            continue
        atoms = [token]
        room = limit - 2 * width(opened + pending) - len(opened + pending) * utf8_len(_FONT_CLOSE)
        if utf8_len(token) > room:  # a link or a code span no piece could hold: its text; a character as read
            # wider than a piece (joiners or marks with no end): its code points
            atoms = list(_plain(token) if _CONSTRUCT.fullmatch(token) else token)
        for atom in atoms:
            need = width(pending) + utf8_len(atom) + utf8_len(closers(opened + pending))
            if filled and size + need > limit:
                pieces.append("".join(current) + closers(opened))
                current, size, filled = list(opened), width(opened), False
            current += [*pending, atom]
            size += width(pending) + utf8_len(atom)
            opened += pending
            pending = []
            filled = True
    if filled:
        pieces.append("".join(current) + closers(opened))
    return [pieces[0], *(_escape_line_starts(piece) for piece in pieces[1:])] if pieces else []


def _plain(token: str) -> str:
    """A link as its text, a code span as its code: what a piece too small for the construct shows instead."""
    if token.startswith("[") and "](" in token:
        return token[1:token.rindex("](")]
    if token.startswith("`") and token.endswith("`") and len(token) > 1:
        return token[1:-1]
    return token


def split_markdown(text: str, limit: int) -> list[str]:
    """:func:`split_utf8` for markdown: an over-long line is cut between constructs, each piece complete."""
    return split_utf8(text, limit, cut=_cut_markdown_line)


def split_utf8(text: str, limit: int, *, cut: Callable[[str, int], list[str]] | None = None) -> list[str]:
    """Split text into chunks of at most ``limit`` UTF-8 bytes, preferring line boundaries.

    Lines are kept whole when they fit; the newline between two chunks is dropped. An over-long line is cut
    by ``cut`` (between characters by default). Empty input gives no chunk.
    """
    if limit < 16:
        raise ValueError("limit too small")
    cut = cut or _cut_line
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        width = utf8_len(line)
        if width > limit:
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            pieces = cut(line, limit)
            if not pieces:  # markers with nothing inside them
                continue
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
