"""Helpers of the admin command tests: a core on a copy of the sample ledger with the admin handlers wired
in, and console accounts to talk to the Router as any person of the roster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import handlers.router as router_module
from bot.app import Core
from bot.channels.console import bind_console
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.messages import Incoming, IncomingFile, Outcome
from bot.render import html_to_plain
from handlers import admin_import, admin_people, admin_projects
from handlers.commands import CommandRegistry
from handlers.router import Router
from storage import people
from storage.models import AuditEntry, OutboxMessage
from tests.e2e.harness import START, TEST_ACTOR, build_core

ADMIN_NAME = "管理员(区重大项目办)"


def wire_admin(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    """Add the admin commands to this router (those not wired in already) and their buttons and flows to
    the router's maps for the duration of the test."""
    commands = CommandRegistry()
    for module in (admin_people, admin_projects, admin_import):
        module.register(commands)
    for command in commands.available({"admin"}, bound=True):
        if router.commands.get(command.name) is None:
            router.commands.add(command)
    for prefix, handler in {**admin_people.BUTTONS, **admin_projects.BUTTONS, **admin_import.BUTTONS}.items():
        monkeypatch.setitem(router_module.BUTTONS, prefix, handler)
    for flow, step in admin_import.FLOWS.items():
        monkeypatch.setitem(router_module.FLOWS, flow, step)


class Desk:
    """People of the sample roster talking to the Router through console accounts."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.router = core.router
        self.last: dict[str, Outcome] = {}
        self._ids: dict[str, str] = {}

    @property
    def data_dir(self) -> Path:
        return self.core.settings.data_dir

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.core.db.session() as session:
            yield session

    async def account(self, name: str) -> str:
        """The console account of the only person of this name (bound on first use)."""
        if name not in self._ids:
            async with self.session() as session:
                [person] = await people.find_people_by_name(session, name=name)
            self._ids[name] = await bind_console(self.core.db, person, now=self.core.clock.now())
        return self._ids[name]

    async def send(self, name: str, text: str = "", *, document: IncomingFile | None = None,
                   user_id: str | None = None) -> str:
        """What `name` (or a raw console user id) types; returns the plain text of the replies."""
        external = user_id or await self.account(name)
        outcome = await self.router.handle(Incoming(channel="console", user_id=external, chat_id=external,
                                                    text=text, document=document, display_name=name))
        self.last[name] = outcome
        return plain(outcome)

    async def press(self, name: str, label: str) -> str:
        """`name` presses the button with this label under their last replies."""
        outcome = self.last[name]
        data = [b.data for r in outcome.replies for row in r.buttons for b in row if b.label == label]
        assert data, f"no button {label!r} in {outcome.replies!r}"
        return await self.tap(name, data[-1])

    async def tap(self, name: str, data: str) -> str:
        """`name` presses a button carrying this callback data (shown to them earlier, say)."""
        external = await self.account(name)
        outcome = await self.router.handle(Incoming(channel="console", user_id=external, chat_id=external,
                                                    callback_data=data, display_name=name))
        self.last[name] = outcome
        return plain(outcome)

    def labels(self, name: str) -> list[str]:
        return [b.label for r in self.last[name].replies for row in r.buttons for b in row]

    async def audits(self, action: str) -> list[AuditEntry]:
        async with self.session() as session:
            query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            return list((await session.scalars(query)).all())

    async def chat_imports(self) -> list[AuditEntry]:
        """The ``ledger.import`` entries of the imports made in the chat: not the sample ledger's own (its actor
        the tests' own)."""
        return [entry for entry in await self.audits("ledger.import") if entry.actor != TEST_ACTOR.label]

    async def notices(self, person_id: int) -> list[OutboxMessage]:
        async with self.session() as session:
            query = (select(OutboxMessage).where(OutboxMessage.person_id == person_id)
                     .order_by(OutboxMessage.id))
            return list((await session.scalars(query)).all())


def plain(outcome: Outcome) -> str:
    return "\n".join(html_to_plain(r.html) for r in outcome.replies)


async def make_desk(template: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                    **settings: object) -> Desk:
    """A Desk on a fresh in-memory copy of the sample ledger, with DATA_DIR in `data_dir`."""
    values: dict[str, object] = {"DATABASE_URL": "sqlite+aiosqlite://", "DATA_DIR": str(data_dir),
                                 "TELEGRAM_BOT_TOKEN": "123456:admin-desk", "TELEGRAM_BOT_USERNAME": "diaodu_bot",
                                 "_env_file": None, **settings}
    core = await build_core(load_settings(**values), FrozenClock(START), template=template)
    wire_admin(core.router, monkeypatch)
    return Desk(core)
