"""What every handler gets: the message, the shared services, the caller, one unit of work, and a reply list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, local_today
from bot.config import Settings
from bot.messages import Attachment, Button, Incoming, Outcome, Reply
from bot.render import Renderer
from handlers.commands import CommandRegistry
from storage.audit import Actor
from storage.db import Database
from storage.models import ChatAccount, Person


@dataclass
class Deps:
    """Long-lived services shared by every handler."""

    db: Database
    clock: Clock
    settings: Settings
    renderer: Renderer = field(default_factory=Renderer)


@dataclass
class Context:
    """One incoming message being handled inside one database transaction."""

    msg: Incoming
    deps: Deps
    session: AsyncSession
    account: ChatAccount | None
    person: Person | None
    commands: CommandRegistry
    outcome: Outcome = field(default_factory=Outcome)
    now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.now = self.deps.clock.now()

    @property
    def today(self) -> date:
        return local_today(self.deps.clock)

    @property
    def roles(self) -> set[str]:
        return self.person.role_names if self.person else set()

    @property
    def actor(self) -> Actor:
        label = self.person.name if self.person else f"{self.msg.channel}:{self.msg.user_id}"
        return Actor(label=label, channel=self.msg.channel, person_id=self.person.id if self.person else None)

    def reply(self, template: str, buttons: list[list[Button]] | None = None, *,
              attachment: Attachment | None = None, **context: Any) -> None:
        """Render a template and queue it as a reply, with optional rows of buttons."""
        html = self.deps.renderer.render(template, **context)
        rows = tuple(tuple(row) for row in (buttons or []) if row)
        self.outcome.replies.append(Reply(html=html, buttons=rows, attachment=attachment))
