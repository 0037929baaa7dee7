"""上一页/下一页 under a long list (/issues, /people, /audit, /outbox, /meeting, an admin's /correct search):
the buttons, and what pressing one does — the list's command again, for the caller's roles as checked for the
command, showing the page asked for."""

from __future__ import annotations

from bot.domain.digits import as_id
from bot.domain.messages import Button
from bot.domain.paging import Page
from bot.render import label
from handlers.context import Context

PREFIX = "pg"
# the commands whose lists page
PAGED = frozenset({"issues", "people", "audit", "outbox", "meeting", "correct", "node"})
DATA_MAX = 64  # bytes of a button's data that Telegram keeps


def page_buttons(command: str, page: Page[object], args: str = "") -> list[list[Button]]:
    """The 上一页/下一页 row under a page (none for a single page, or when the arguments do not fit)."""
    row = []
    if page.has_previous:
        row.append(Button(label("previous_page"), f"{PREFIX}:{command}:{page.number - 1}:{args}"))
    if page.has_next:
        row.append(Button(label("next_page"), f"{PREFIX}:{command}:{page.number + 1}:{args}"))
    if any(len(b.data.encode()) > DATA_MAX for b in row):
        return []
    return [row] if row else []


async def page_button(ctx: Context, data: str) -> None:
    """pg:<command>:<page>:<arguments>: that page of the command's list."""
    name, _, rest = data.partition(":")
    number_text, _, args = rest.partition(":")
    command = ctx.commands.get(name) if name in PAGED else None
    number = as_id(number_text)
    if command is None or number is None:
        ctx.reply("button_expired")
        return
    if not command.allowed(ctx.roles, bound=ctx.bound):
        ctx.reply("not_allowed", command=command)
        return
    ctx.page = number
    await command.handler(ctx, args)
