"""What pressing a button does to the other buttons of its message.

Most keyboards offer one choice (确认/取消, a project to pick, a page): once one button is pressed the choice
is made, and the keyboard goes, so nothing is chosen twice. A list of several things, each with its own
buttons (a leader's grouped notice offering 批示 and 详情 per problem, the projects of a 连续未填报 alert, a
liaison's reminder with 填报 per project), is not one choice: after acting on one problem the leader turns to
the next. There the pressed button is marked done and the buttons of the other things stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.domain.messages import Button

DONE_MARK = "✓ "
# The buttons that act on one thing of a list and leave the others open, by prefix, with the act they carry
# ("*": any act, "": none, the thing follows the prefix): problems (pb:<act>:<id>), project cards (pj:<code>),
# and a reminder's 填报 per project (rp:p:<code>).
LIST_ACTIONS = {"pb": "*", "pj": "", "rp": "p"}


def thing_of(data: str) -> str | None:
    """The thing a list button acts on ("pb:12" for pb:cmt:12 and pb:show:12), None for other buttons."""
    prefix, _, rest = data.partition(":")
    act = LIST_ACTIONS.get(prefix)
    if act is None or not rest:
        return None
    if not act:
        return f"{prefix}:{rest}"
    given, _, thing = rest.partition(":")
    if not thing or act not in ("*", given):
        return None
    return f"{prefix}:{thing}"


def marked(label: str) -> str:
    """A button's label marked as pressed (once)."""
    return label if label.startswith(DONE_MARK) else f"{DONE_MARK}{label}"


def after_press(rows: Sequence[Sequence[Button]], pressed: str) -> list[list[Button]] | None:
    """The keyboard a message keeps once the button with data `pressed` was pressed: None (no keyboard) unless
    every button acts on one thing of a list (a link aside) and some on another thing than the pressed one; then
    every button stays, the pressed one marked (and still pressable: a second 批示 on the same problem is
    allowed). A keyboard with any other button (取消, a page turn: a guided flow's pick list) is a choice."""
    thing = thing_of(pressed)
    if thing is None:
        return None
    things = {thing_of(b.data) for row in rows for b in row if b.data}
    if None in things or things == {thing}:
        return None
    return [[replace(b, label=marked(b.label)) if b.data == pressed else b for b in row] for row in rows]
