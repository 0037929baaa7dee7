"""上一页/下一页 under a long list (/mine, /rank, /issues, /people, /audit, /outbox, /meeting, searches):
the buttons, and what pressing one does — the list's command again, for the caller's roles as checked for the
command, showing the page asked for. Also the project buttons of a guided flow's first step (/report, /issue,
a liaison's /correct), a page at a time: a liaison may look after hundreds of projects, and Telegram shows at
most 100 buttons (about 10 KB of them) under a message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.digits import as_id
from bot.domain.messages import Button
from bot.domain.paging import Page, page_of
from bot.render import label
from handlers.context import Context
from storage.models import Project

PREFIX = "pg"
# the commands whose lists page
PAGED = frozenset({"issues", "people", "audit", "outbox", "meeting", "correct", "node", "mine", "rank", "project"})
DATA_MAX = 64  # bytes of a button's data that Telegram keeps
PICK_PAGE = 10  # projects offered as buttons at once in a guided flow


def _turns(page: Page[Any], data: Callable[[int], str]) -> list[Button]:
    """上一页 and 下一页 as far as there are pages either way; `data`: a button's data for a page number."""
    return [*([Button(label("previous_page"), data(page.number - 1))] if page.has_previous else []),
            *([Button(label("next_page"), data(page.number + 1))] if page.has_next else [])]


def page_buttons(command: str, page: Page[object], args: str = "") -> list[list[Button]]:
    """The 上一页/下一页 row under a page (none for a single page, or when the arguments do not fit)."""
    row = _turns(page, lambda number: f"{PREFIX}:{command}:{number}:{args}")
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


def project_page(projects: Sequence[Project], number: int) -> Page[Project]:
    """Page `number` of the projects a guided flow offers (the first or last past either end)."""
    return page_of(projects, number, PICK_PAGE)


def project_rows(page: Page[Project], prefix: str) -> list[list[Button]]:
    """A button per project of the page ("<prefix>:p:<code>"), then 上一页/下一页 ("<prefix>:pg:<number>"),
    which the flow's own button handler answers with that page, keeping what the flow holds."""
    rows = [[Button(f"{p.code} {p.name}", f"{prefix}:p:{p.code}")] for p in page.items]
    turn = _turns(page, lambda number: f"{prefix}:pg:{number}")
    return [*rows, *([turn] if turn else [])]
