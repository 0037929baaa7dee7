"""Splitting long Telegram-HTML messages at the 4096-character limit: on line boundaries, never mid-tag.

Each part is valid on its own: tags still open at a cut are closed at the end of the part and opened
again at the start of the next one. Lengths are measured as Telegram measures them, in UTF-16 code
units (an emoji such as 🟢 counts twice), on the raw HTML, which is never shorter than the parsed text.
"""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>")
_ATOM = re.compile(r"<[^>]*>|&#?[a-zA-Z0-9]+;|[^<&]|[<&]", re.DOTALL)


class _Parts:
    """The parts cut so far and the one being filled, with its length kept as lines are added (so that
    splitting a long message is linear in its length, not quadratic)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open now
        self.current: list[str] = []
        self.length = 0  # UTF-16 length of "".join(self.current)
        self.prefix = ""

    def closing(self, stack: list[tuple[str, str]] | None = None) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(self.stack if stack is None else stack))

    def fits(self, text: str) -> bool:
        after = self.stack
        if "<" in text:
            after = list(self.stack)
            for match in _TAG.finditer(text):
                _track(after, match)
        return self.length + utf16_len(text) + len(self.closing(after)) <= self.limit

    def flush(self) -> None:
        current = "".join(self.current)
        if current != self.prefix:
            self.parts.append((current + self.closing()).strip("\n"))
        self.prefix = "".join(tag for _, tag in self.stack)
        self.current = [self.prefix]
        self.length = utf16_len(self.prefix)

    def add(self, text: str) -> None:
        self.current.append(text)
        self.length += utf16_len(text)
        for match in _TAG.finditer(text):
            _track(self.stack, match)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, Telegram's measure of a message."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _track(stack: list[tuple[str, str]], match: re.Match[str]) -> None:
    closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
    if closing:
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == name:
                del stack[index:]
                return
    elif not rest.rstrip().endswith("/"):
        stack.append((name, match.group(0)))


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut between lines where possible, never inside a tag or entity."""
    if utf16_len(text) <= limit:
        return [text]
    parts = _Parts(limit)
    for line in text.splitlines(keepends=True):
        if not parts.fits(line):
            parts.flush()
        if parts.fits(line):
            parts.add(line)
            continue
        for atom in _ATOM.findall(line):  # a line longer than a whole part: cut it between atoms
            if not parts.fits(atom):
                parts.flush()
            parts.add(atom)
    parts.flush()
    return parts.parts
