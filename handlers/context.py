"""What every handler gets: the message, the shared services, the caller, one unit of work (an AsyncSession),
and a reply list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, to_local
from bot.config import Settings
from bot.domain.limits import too_long
from bot.domain.messages import Attachment, Button, Incoming, Outcome, Reply
from bot.render import Renderer
from bot.services.import_previews import PreviewedImports
from handlers.commands import CommandRegistry
from storage import conversations
from storage.audit import Actor
from storage.db import Database
from storage.models import Person
from storage.people import Caller

if TYPE_CHECKING:
    from bot.workers import Workers

# Where the bot stands in a group chat, as its channel finds out (asking the chat app): a word of
# bot.domain.chat_rights (IN, OUT, MUTED, NO_PHOTOS, NO_DOCUMENTS, NO_FILES), or None when the channel could not
# tell (it did not answer).
GroupStanding = Callable[[str], Awaitable[str | None]]


@dataclass
class Deps:
    """Long-lived services shared by every handler."""

    db: Database
    clock: Clock
    settings: Settings
    renderer: Renderer = field(default_factory=Renderer)
    # By channel: how it tells whether the bot may send to one of its group chats (channels that can register).
    group_standing: dict[str, GroupStanding] = field(default_factory=dict)
    # CPU-heavy work (reading a ledger) runs in its worker process (bot.workers); None: in a worker thread
    workers: Workers | None = None
    # The ledger imports previewed and waiting for 确认 (handlers.admin_import)
    previews: PreviewedImports = field(default_factory=PreviewedImports)


class Afresh(Exception):
    """Raised by a handler (`Context.afresh`) to give its unit of work back, rolled back (nothing it wrote is kept,
    the locks it took are let go: on SQLite the one write lock), and go on with `then` in a unit of work of its
    own, the replies queued so far kept: long work after a refusal (a ledger previewed afresh) must not hold back
    every other writer."""

    def __init__(self, then: Callable[[Context], Awaitable[None]], outcome: Outcome) -> None:
        super().__init__("handled afresh")
        self.then = then
        self.outcome = outcome


@dataclass
class Context:
    """One incoming message being handled inside one database transaction."""

    msg: Incoming
    deps: Deps
    session: AsyncSession  # the unit of work: committed after the handler, rolled back if it raises
    caller: Caller  # who sent it, as plain values (always there)
    person: Person | None  # the stored person: None when the caller is not bound (until /start binds them)
    # and for light commands (see `Command.light`)
    commands: CommandRegistry
    outcome: Outcome = field(default_factory=Outcome)
    page: int = 1  # the page of a long list asked for (handlers.paging)
    # A button press that ended the caller's idle flow: what the flow's end says (flow_expired.j2), until the
    # press is answered; a 「按钮已失效」 answer then says the flow was cancelled instead (one reply, not two).
    expired_flow: dict[str, Any] | None = None
    now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.now = self.deps.clock.now()

    @property
    def today(self) -> date:
        """The local day of `now`: one message is handled on one day, even across midnight. A message the bot took
        in long before it could handle it (``Incoming.answered_at``: recovered after a restart) counts for the day
        it was taken in: a report sent at 23:50 on Monday and handled on Tuesday is Monday's."""
        return to_local(self.msg.answered_at or self.now).date()

    @property
    def bound(self) -> bool:
        """The sender acts as a person: bound before this message, or by it (/start)."""
        return self.person is not None or self.caller.bound

    @property
    def person_id(self) -> int | None:
        if self.person is not None:
            return self.person.id
        return self.caller.person_id if self.caller.bound else None

    @property
    def roles(self) -> set[str]:
        if self.person is not None:
            return self.person.role_names
        return set(self.caller.roles) if self.caller.bound else set()

    @property
    def actor(self) -> Actor:
        if self.person is not None:
            return Actor(label=self.person.name, channel=self.msg.channel, person_id=self.person.id)
        if self.caller.bound and self.caller.name is not None:
            return Actor(label=self.caller.name, channel=self.msg.channel, person_id=self.caller.person_id)
        return Actor(label=f"{self.msg.channel}:{self.msg.user_id}", channel=self.msg.channel, person_id=None)

    def afresh(self, then: Callable[[Context], Awaitable[None]]) -> NoReturn:
        """End this unit of work, rolled back (see `Afresh`), and handle the rest, `then`, in a new one (the
        router's: the caller and the flow state read again)."""
        raise Afresh(then, self.outcome)

    async def save_flow(self, flow: str, state: dict[str, Any]) -> None:
        """Keep the caller's guided-flow state in this chat (one flow at a time: it replaces any other)."""
        await conversations.save_conversation(self.session, channel=self.msg.channel, chat_id=self.msg.chat_id,
                                              user_id=self.msg.user_id, flow=flow, state=state, now=self.now)

    async def clear_flow(self) -> bool:
        """Leave the caller's guided flow in this chat; whether there was one."""
        return await conversations.clear_conversation(self.session, channel=self.msg.channel,
                                                      chat_id=self.msg.chat_id, user_id=self.msg.user_id)

    async def flow_state(self, flow: str) -> dict[str, Any] | None:
        """The state of the caller's guided flow in this chat when it is `flow`, else None."""
        conversation = await conversations.get_conversation(
            self.session, channel=self.msg.channel, chat_id=self.msg.chat_id, user_id=self.msg.user_id)
        return dict(conversation.state) if conversation is not None and conversation.flow == flow else None

    def reply(self, template: str, buttons: list[list[Button]] | None = None, *,
              attachment: Attachment | None = None, optional: bool = False, **context: Any) -> None:
        """Render a template and queue it as a reply, with optional rows of buttons (`optional`: they offer a
        step the user may take or leave, `Reply.optional`)."""
        if template == "button_expired" and self.expired_flow is not None:
            template, context = "flow_expired", {**self.expired_flow, "pressed": True}
            self.expired_flow = None
        html = self.deps.renderer.render(template, **context)
        rows = tuple(tuple(row) for row in (buttons or []) if row)
        self.outcome.replies.append(Reply(html=html, buttons=rows, attachment=attachment, optional=optional))

    def point_to_choices(self, template: str, **context: Any) -> None:
        """Answer with a hint pointing to the choices shown before, which still stand: the template learns whether
        they are buttons to press or a numbered list to answer with a number (``numbers``)."""
        self.reply(template, numbers=self.msg.numbered_choices, **context)
        self.outcome.choices_stand = True

    def refuse_words(self, words: str, *, command: str | None = None) -> None:
        """Answer words the command being run (or `command`, run without its name: an invite code typed on
        its own) cannot use: they are named, the command's usage as the caller's roles see it is shown, and
        nothing is done."""
        name = command or (self.msg.command[0] if self.msg.command is not None else "")
        registered = self.commands.get(name)
        usage = registered.described_for(self.roles).usage if registered is not None else ""
        self.reply("words_refused", words=words, name=name, usage=usage)

    def refuse_too_long(self, text: str, limit: int, what: str) -> bool:
        """Whether `text` is over `limit` characters; if it is, the caller is told the limit (nothing saved).
        `what` names the text in text_too_long.j2 (progress, problem…)."""
        if not too_long(text, limit):
            return False
        self.reply("text_too_long", what=what, limit=limit, length=len(text))
        return True
