"""Console channel: chat with the bot in a terminal as any person in the roster (buttons become numbers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.messages import Button, Incoming, Outcome
from bot.render import html_to_plain
from handlers.router import Router
from storage import audit, people
from storage.audit import Actor
from storage.db import Database
from storage.models import Person

CHANNEL = "console"
ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]


async def bind_console(db: Database, person: Person, *, now: object) -> str:
    """Bind the console identity of this person (the operator at the terminal vouches for it)."""
    external_id = f"person-{person.id}"
    async with db.session() as session:
        fresh = await people.get_person(session, person_id=person.id)
        assert fresh is not None
        existing = await people.get_account(session, channel=CHANNEL, external_id=external_id)
        if existing is None:
            await people.bind_account(session, person=fresh, channel=CHANNEL, external_id=external_id,
                                      chat_id=external_id, display_name=fresh.name, now=now)  # type: ignore[arg-type]
            await audit.record(session, actor=Actor(label="console", channel=CHANNEL), at=now,  # type: ignore[arg-type]
                               action="account.bind", object_type="person", object_key=str(fresh.id),
                               detail={"channel": CHANNEL})
    return external_id


def render_outcome(outcome: Outcome) -> tuple[str, list[Button]]:
    """Plain text of the replies, with the buttons of the last reply numbered."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in outcome.replies:
        lines.append(html_to_plain(reply.html))
        if reply.buttons:
            buttons = [b for row in reply.buttons for b in row]
    if buttons:
        lines.append("  ".join(f"[{i}] {b.label}" for i, b in enumerate(buttons, 1)))
    return "\n".join(lines), buttons


async def chat(router: Router, external_id: str, name: str, read_line: ReadLine, write: Write) -> None:
    """The loop: a line typed is a message; a number picks one of the buttons last shown; EOF ends it."""
    buttons: list[Button] = []
    write(f"以 {name} 的身份对话。输入 /help 查看命令,输入数字选择按钮,Ctrl-D 退出。")
    while True:
        line = await read_line("> ")
        if line is None:
            return
        line = line.strip()
        if not line:
            continue
        if line.isdigit() and buttons and 1 <= int(line) <= len(buttons):
            msg = Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id,
                           callback_data=buttons[int(line) - 1].data, display_name=name)
        else:
            msg = Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id, text=line, display_name=name)
        text, new_buttons = render_outcome(await router.handle(msg))
        buttons = new_buttons
        write(text)
