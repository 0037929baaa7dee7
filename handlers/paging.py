"""上一页/下一页 under a long list (/mine, /rank, /issues, /people, /audit, /outbox, /meeting, searches):
the buttons, and what pressing one does — the list's command again, for the caller's roles as checked for the
command, showing the page asked for. Arguments too long for a button's data (Telegram keeps 64 bytes: a search
of about 17 Chinese characters) are kept in the database under a short key the button carries instead
(:func:`keep_long_arguments`), so every list pages whatever was searched.

Also the project buttons of a guided flow's first step (/report, /issue, a liaison's /correct), a page at a
time: a liaison may look after hundreds of projects, and Telegram shows at most 100 buttons (about 10 KB of
them) under a message."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.domain.digits import as_id
from bot.domain.messages import Button
from bot.domain.paging import Page, page_of
from bot.render import label
from handlers.context import Context
from storage import shared
from storage.models import Project

PREFIX = "pg"
# the commands whose lists page
PAGED = frozenset({"issues", "people", "audit", "outbox", "meeting", "correct", "node", "mine", "rank", "project"})
DATA_MAX = 64  # bytes of a button's data that Telegram keeps
PICK_PAGE = 10  # projects offered as buttons at once in a guided flow
KEPT = "~"  # arguments "~<key>": the ones kept in the database under that key
KEPT_FOR = timedelta(days=30)  # how long the page buttons of a long search keep working


def _turns(page: Page[Any], data: Callable[[int], str]) -> list[Button]:
    """上一页 and 下一页 as far as there are pages either way; `data`: a button's data for a page number."""
    return [*([Button(label("previous_page"), data(page.number - 1))] if page.has_previous else []),
            *([Button(label("next_page"), data(page.number + 1))] if page.has_next else [])]


def page_buttons(command: str, page: Page[object], args: str = "") -> list[list[Button]]:
    """The 上一页/下一页 row under a page (none for a single page). Arguments too long for a button are kept
    server-side when the reply goes out (:func:`keep_long_arguments`)."""
    row = _turns(page, lambda number: f"{PREFIX}:{command}:{number}:{args}")
    return [row] if row else []


def kept_key(command: str, args: str) -> str:
    """The short key a command's long arguments are kept under: the same search gives the same key."""
    return hashlib.sha256(f"{command}\n{args}".encode()).hexdigest()[:16]


def _kept_name(key: str) -> str:
    return f"page-args:{key}"


async def keep_long_arguments(ctx: Context) -> None:
    """Give every page button of the replies whose data is over ``DATA_MAX`` bytes (or whose arguments start
    like a key) a short key in place of its arguments, the arguments kept in the database for ``KEPT_FOR`` (each
    showing keeps them that long again)."""
    replies = ctx.outcome.replies
    for index, reply in enumerate(replies):
        if not any(_too_long(b) for row in reply.buttons for b in row):
            continue
        rows = [[await _shortened(ctx, b) if _too_long(b) else b for b in row] for row in reply.buttons]
        replies[index] = replace(reply, buttons=tuple(tuple(row) for row in rows))


def _too_long(button: Button) -> bool:
    """A page button whose arguments must be kept: too long for its data, or reading like a key ("~…")."""
    if not button.data.startswith(f"{PREFIX}:"):
        return False
    return len(button.data.encode()) > DATA_MAX or button.data.split(":", 3)[-1].startswith(KEPT)


async def _shortened(ctx: Context, button: Button) -> Button:
    _prefix, command, number, args = button.data.split(":", 3)
    key = kept_key(command, args)
    await shared.put(ctx.session, name=_kept_name(key), value={"command": command, "args": args}, now=ctx.now,
                     ttl=KEPT_FOR)
    return replace(button, data=f"{PREFIX}:{command}:{number}:{KEPT}{key}")


async def _arguments(ctx: Context, name: str, args: str) -> str | None:
    """The arguments a page button stands for: its own, or those kept under its key (None: expired)."""
    if not args.startswith(KEPT):
        return args
    kept = await shared.get(ctx.session, name=_kept_name(args[len(KEPT):]), now=ctx.now)
    if not isinstance(kept, dict) or kept.get("command") != name:
        return None
    return str(kept.get("args", ""))


async def page_button(ctx: Context, data: str) -> None:
    """pg:<command>:<page>:<arguments>: that page of the command's list (arguments "~<key>": those kept)."""
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
    words = await _arguments(ctx, name, args)
    if words is None:
        ctx.reply("page_expired", command=command.name, days=KEPT_FOR.days)
        return
    ctx.page = number
    await command.handler(ctx, words)


def project_page(projects: Sequence[Project], number: int) -> Page[Project]:
    """Page `number` of the projects a guided flow offers (the first or last past either end)."""
    return page_of(projects, number, PICK_PAGE)


def project_rows(page: Page[Project], prefix: str) -> list[list[Button]]:
    """A button per project of the page ("<prefix>:p:<code>"), then 上一页/下一页 ("<prefix>:pg:<number>"),
    which the flow's own button handler answers with that page, keeping what the flow holds."""
    rows = [[Button(f"{p.code} {p.name}", f"{prefix}:p:{p.code}")] for p in page.items]
    turn = _turns(page, lambda number: f"{prefix}:pg:{number}")
    return [*rows, *([turn] if turn else [])]
