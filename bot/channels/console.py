"""Console channel: chat with the bot in a terminal as any person in the roster (buttons become numbers)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.domain.digits import as_int
from bot.domain.messages import Button, Incoming, Outcome
from bot.render import Renderer, html_to_plain
from bot.services import held_notices
from handlers.router import Router
from storage import audit, outbox, outbox_views, people
from storage.audit import Actor
from storage.db import Database
from storage.models import Person

log = logging.getLogger(__name__)
CHANNEL = "console"
ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]


async def bind_console(db: Database, person: Person, *, now: datetime) -> str:
    """Bind the console identity of this person (the operator at the terminal vouches for it)."""
    external_id = f"person-{person.id}"
    async with db.session() as session:
        fresh = await people.get_person(session, person_id=person.id)
        assert fresh is not None
        existing = await people.get_account(session, channel=CHANNEL, external_id=external_id)
        if existing is None:
            account = await people.bind_account(session, person=fresh, channel=CHANNEL, external_id=external_id,
                                                chat_id=external_id, display_name=fresh.name, now=now)
            # Notices held while the person had no account are now theirs to read here.
            await held_notices.release(session, Renderer(), person_id=fresh.id, account=account, now=now)
            await audit.record(session, actor=Actor(label="console", channel=CHANNEL), at=now,
                               action="account.bind", object_type="person", object_key=str(fresh.id),
                               detail={"channel": CHANNEL})
    return external_id


def render_outcome(outcome: Outcome) -> tuple[str, list[Button]]:
    """Plain text of the replies, with the buttons of the last reply numbered."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in outcome.replies:
        lines.append(html_to_plain(reply.html))
        links = [b for row in reply.buttons for b in row if b.url]
        lines.extend(f"{b.label}:{b.url}" for b in links)
        if len(links) < sum(len(row) for row in reply.buttons):
            buttons = [b for row in reply.buttons for b in row if not b.url]
    if buttons:
        lines.append("  ".join(f"[{i}] {b.label}" for i, b in enumerate(buttons, 1)))
    return "\n".join(lines), buttons


async def take_notices(router: Router, external_id: str) -> Outcome:
    """Notices the outbox holds for this console chat (shown before the next prompt)."""
    deps = router.deps
    async with deps.db.session() as session:
        rows = await outbox_views.take_pending_for_chat(session, channel=CHANNEL, chat_id=external_id,
                                                        now=deps.clock.now())
    return Outcome(replies=[outbox.reply_from_payload(row.payload) for row in rows])


async def chat(router: Router, external_id: str, name: str, read_line: ReadLine, write: Write) -> None:
    """The loop: a line typed is a message; a number picks one of the buttons last shown; EOF ends it.
    Notices for this person (e.g. a problem assigned to their unit) are shown as they arrive."""
    buttons: list[Button] = []
    write(html_to_plain(router.deps.renderer.render("console_intro", name=name)))
    pending = await take_notices(router, external_id)
    if pending.replies:
        notice_text, buttons = render_outcome(pending)
        write(html_to_plain(router.deps.renderer.render("console_notices", text=notice_text)))
    while True:
        line = await read_line("> ")
        if line is None:
            return
        line = line.strip()
        if not line:
            continue
        try:
            buttons = await _turn(router, external_id, name, line, buttons, write)
        except Exception:  # the session outlives any one message: say so and wait for the next line
            log.exception("console: could not handle %r", line)
            write(html_to_plain(router.deps.renderer.render("message_failed")))


async def _turn(router: Router, external_id: str, name: str, line: str, buttons: list[Button],
                write: Write) -> list[Button]:
    """One line typed: the message (or the button its number picks), the answer and any notices; returns the
    buttons now shown."""
    number = as_int(line)
    if number is not None and buttons and 1 <= number <= len(buttons):
        msg = Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id,
                       callback_data=buttons[number - 1].data, display_name=name)
    else:
        msg = Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id, text=line, display_name=name,
                       numbered_choices=bool(buttons))
    outcome = await router.handle(msg)
    text, shown = render_outcome(outcome)
    buttons = shown or (buttons if outcome.choices_stand else [])
    write(text)
    notices = await take_notices(router, external_id)
    if notices.replies:
        notice_text, notice_buttons = render_outcome(notices)
        write(html_to_plain(router.deps.renderer.render("console_notices", text=notice_text)))
        buttons = notice_buttons or buttons
    return buttons
