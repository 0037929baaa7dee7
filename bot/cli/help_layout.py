"""The help's columns by display width: argparse lines the help of each argument up by counting characters,
and a Chinese character (文件, 日期, the heading 用法：) takes two columns of a terminal. Its text is laid out again
here, from what it prints (its formatter's other methods are not public): every argument's help starts in one
column, past the widest name, and the usage's continued lines start under its first argument."""

from __future__ import annotations

import re

from bot.domain.text_width import display_width

__all__ = ["by_display_width"]

USAGE = "usage: "  # what argparse begins the usage with (its continued lines are indented past it)
# An argument's line: its indent (2, 4 under a command list), its name(s), two spaces or more, its help.
_ROW = re.compile(r"^( {2,4})(\S(?:.*?\S)?)( {2,})(\S.*)$")


def by_display_width(text: str, usage_heading: str) -> str:
    """argparse's help (or usage) ``text`` with its usage headed ``usage_heading`` instead of "usage: ", and
    its columns lined up as a terminal shows them."""
    usage, blank, rest = text.removeprefix(USAGE).partition("\n\n")
    shift = display_width(usage_heading) - len(USAGE)
    first, *continued = usage.split("\n")
    usage = "\n".join([usage_heading + first, *(_indented(line, shift) for line in continued)])
    return usage + blank + _help_columns(rest)


def _help_columns(text: str) -> str:
    lines = text.split("\n")
    rows = {index: match for index, line in enumerate(lines) if (match := _ROW.match(line))}
    if not rows:
        return text
    column = min(len(m[1] + m[2] + m[3]) for m in rows.values())  # where argparse starts the help
    target = max(column, *(display_width(m[1] + m[2]) + 2 for m in rows.values()))
    for index, line in enumerate(lines):
        match = rows.get(index)
        if match is not None and len(match[1]) < column - 2:
            named = match[1] + match[2]
            lines[index] = named + " " * (target - display_width(named)) + match[4]
        elif line.startswith(" " * column) and line.strip():  # the help's continued line
            lines[index] = _indented(line, target - column)
    return "\n".join(lines)


def _indented(line: str, shift: int) -> str:
    """``line`` with its indent ``shift`` columns wider (narrower when negative)."""
    stripped = line.lstrip(" ")
    return " " * max(len(line) - len(stripped) + shift, 0) + stripped
