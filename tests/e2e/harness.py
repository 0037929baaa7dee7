"""Drives the real Telegram channel (python-telegram-bot) against the fake Bot API, one user action at a time.

Every action (a text, a photo, a button press) is queued on the fake, and the harness waits until the
application has finished handling that very update (a catch-all handler in a late group marks it done),
so the replies returned are exactly the ones the action produced, with no sleeps.

The first part of this module is shared with the WeCom harness (``tests.wecom.harness``): the core on the
sample ledger, settings that ignore any .env file, starting and stopping a harness, and the database
helpers every channel harness offers (``ChannelHarness``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

import aiosqlite
from aiohttp import ClientSession
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.app import Core
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_polling import DONE_GROUP as JOURNAL_DONE
from bot.channels.telegram_polling import JournaledPolling, UpdateJournal
from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.services.invites import create_invite
from bot.services.ledger_import import import_ledger_files
from storage import people
from storage.audit import Actor
from storage.db import Database
from storage.models import Project, Report
from storage.settings import set_setting
from tests.fakes.bot_api import Call, FakeBotAPI, keyboard_labels
from tests.fakes.serving import wait_for_wake, wake

REPO = Path(__file__).resolve().parents[2]
SAMPLE_LEDGER = REPO / "bot" / "demo" / "projects_sample.xlsx"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Friday and a working day, well inside the year, so the schedule progress (序时进度) is defined.
START = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
TEST_ACTOR = Actor(label="test", channel="cli")


# --- shared by the channel harnesses -------------------------------------------------------------------


def harness_settings(channel: dict[str, object], overrides: dict[str, object]) -> Settings:
    """Settings of a channel pointed at its fake: an in-memory database, no .env file, then `overrides`."""
    values: dict[str, object] = {**channel, "DATABASE_URL": "sqlite+aiosqlite://", "_env_file": None}
    values.update(overrides)
    return load_settings(**values)


async def without_digests(session: AsyncSession, *, now: datetime, by: str = "test") -> None:
    """Bulletins and reminders switched off: a `diaodu run` started on a ledger imported on the real day would
    otherwise draw a bulletin due at start-up (a Monday morning, the 1st), and its stop would wait for it."""
    quiet = DigestSettings(reminders_enabled=False, weekly_enabled=False, monthly_enabled=False)
    await set_setting(session, key=DIGEST_KEY, value=quiet.to_json(), now=now, by=by)


async def make_ledger_database(path: Path, clock: FrozenClock) -> None:
    """A SQLite file created from the models holding the sample ledger (a template to clone)."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.create_all()
        summary = await import_ledger_files(db, clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
    finally:
        await db.dispose()


def make_ledger_template(path: Path) -> Path:
    """make_ledger_database, from synchronous code (runs its own event loop in a worker thread)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, make_ledger_database(path, FrozenClock(START))).result()
    return path


async def clone_database(db: Database, template: Path) -> None:
    """Copy a SQLite file into `db` (an in-memory database) with SQLite's backup API: milliseconds,
    where importing the ledger again would take most of a second."""
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        source = await aiosqlite.connect(template)
        try:
            await source.backup(raw.driver_connection)
        finally:
            await source.close()


async def build_core(settings: Settings, clock: FrozenClock, *, template: Path | None = None,
                     url: str = "sqlite+aiosqlite://", ledger: Path = SAMPLE_LEDGER) -> Core:
    """A Core on a fresh database: a copy of `template` if given (in-memory only), else created from the
    models with `ledger` (the sample ledger unless given) imported."""
    db = Database(url)
    if template is not None:
        await clone_database(db, template)
    else:
        await db.create_all()
        summary = await import_ledger_files(db, clock, [ledger], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
    return Core.build(settings, clock=clock, db=db)


@asynccontextmanager
async def sample_core(settings: Settings, clock: FrozenClock, template: Path) -> AsyncIterator[Core]:
    """build_core on a copy of the template, its database disposed of afterwards."""
    core = await build_core(settings, clock, template=template)
    try:
        yield core
    finally:
        await core.db.dispose()


class Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


StartableT = TypeVar("StartableT", bound=Startable)


@asynccontextmanager
async def running(harness: StartableT) -> AsyncIterator[StartableT]:
    """The harness started, and stopped afterwards."""
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


class ChannelHarness:
    """The database helpers of a channel harness: sessions, invites, the reports of a project."""

    core: Core
    clock: FrozenClock

    @property
    def bot_username(self) -> str:
        """Whom the invites are for (only Telegram shows it, in the invite link)."""
        return "diaodu_bot"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.core.db.session() as session:
            yield session

    async def invite(self, name: str, role: str = "liaison", *, ttl_hours: int = 72) -> str:
        """A fresh invite code for the only person of this name in the roster."""
        async with self.session() as session:
            found = await people.find_people_by_name(session, name=name)
            assert len(found) == 1, f"expected exactly one {name}, found {len(found)}"
            invite = await create_invite(
                session, person=found[0], role=role, now=self.clock.now(), ttl=timedelta(hours=ttl_hours),
                actor=TEST_ACTOR, bot_username=self.bot_username,
            )
        return invite.code

    async def reports(self, code: str = "ZD2026-001", *, withdrawn: bool | None = False) -> list[Report]:
        async with self.session() as session:
            query = select(Report).join(Project, Project.id == Report.project_id).where(Project.code == code)
            if withdrawn is not None:
                withdrawn_at = Report.withdrawn_at
                query = query.where(withdrawn_at.is_not(None) if withdrawn else withdrawn_at.is_(None))
            return list((await session.scalars(query.order_by(Report.id))).all())

    async def report_count(self) -> int:
        async with self.session() as session:
            return int(await session.scalar(select(func.count(Report.id))) or 0)


# --- Telegram ------------------------------------------------------------------------------------------

DONE_GROUP = JOURNAL_DONE + 1  # after every handler group of the channel, the journal's too
# What the bot sends that the fake may refuse (bad HTML, a bad keyboard) in most tests.
CHECKED_CALLS = ("sendMessage", "sendPhoto", "setMyCommands")


async def started(settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event, int]:
    """`diaodu run` (serve) in a task, once its HTTP server listens: the task, the event that stops it, and the
    port its HTTP server got (settings with HTTP_PORT=0: the system picks a free one, which nobody can take
    between picking and listening)."""
    from bot.app import serve

    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop=stop, listening=listening))
    await asyncio.wait({task, listening}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not listening.done():
        if task.done():
            task.result()  # the error it stopped with
        stop.set()
        await asyncio.wait_for(task, 30)
        raise AssertionError("serve() did not come up")
    return task, stop, listening.result()


async def serving(settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event, int]:
    """`started`, once its /healthz answers 200 too."""
    task, stop, port = await started(settings)
    async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
        assert response.status == 200, await response.text()
    return task, stop, port


def e2e_settings(fake: FakeBotAPI, **overrides: object) -> Settings:
    """Settings pointing python-telegram-bot at the fake, ignoring any .env file."""
    return harness_settings({
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "TELEGRAM_BOT_USERNAME": fake.username,
        "TELEGRAM_PROXY": None,
        "TELEGRAM_WEBHOOK_URL": None,
        "TELEGRAM_WEBHOOK_SECRET": None,
    }, overrides)


@dataclass
class Replies:
    """What the bot sent to one chat while handling one user action."""

    calls: list[Call]

    @property
    def messages(self) -> list[Call]:
        return [c for c in self.calls if c.method == "sendMessage" and c.ok]

    @property
    def texts(self) -> list[str]:
        return [c["text"] for c in self.messages]

    @property
    def text(self) -> str:
        """Every message's HTML, joined by blank lines."""
        return "\n\n".join(self.texts)

    @property
    def last(self) -> Call:
        assert self.messages, "the bot sent no message"
        return self.messages[-1]

    @property
    def buttons(self) -> list[str]:
        """Button labels of every message, in order."""
        return [label for call in self.messages for row in keyboard_labels(call) for label in row]

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text

    def __repr__(self) -> str:
        return f"Replies({self.texts!r})"


class TelegramHarness(ChannelHarness):
    """The real TelegramChannel and PTB Application, polling the fake Bot API."""

    def __init__(self, fake: FakeBotAPI, core: Core, settings: Settings, *, journal: Path | None = None) -> None:
        self.fake = fake
        self.core = core
        self.clock: FrozenClock = core.clock  # type: ignore[assignment]
        self.channel = TelegramChannel(settings, core.router)
        self.application = self.channel.application
        if journal is not None:  # the updates fetched journaled in that folder, as `diaodu run` does
            self.channel.journal = UpdateJournal.open(self.application, journal, core.clock)
        self.poller = JournaledPolling(self.application, self.channel.journal, self.channel.polls, timeout=1)
        self.errors: list[BaseException] = []
        self.processed: set[int] = set()
        self._waiters: set[asyncio.Future[None]] = set()
        self.application.add_handler(TypeHandler(Update, self._mark_done), group=DONE_GROUP)
        self.application.add_error_handler(self._record_error)

    # --- lifecycle -----------------------------------------------------------------------------------

    async def start(self, *, polling: bool = True) -> None:
        """Start like `diaodu run` does; with polling=False updates must be fed to update_queue."""
        await self.application.initialize()
        if self.channel.journal is not None:
            await self.channel.journal.resume()
        await self.application.start()
        if polling:
            await self.poller.start()

    async def stop(self) -> None:
        if self.poller.running:
            await self.poller.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        if self.channel.journal is not None:
            await self.channel.journal.close()

    def assert_nothing_failed(self, sends: Collection[str] = CHECKED_CALLS) -> None:
        """No handler raised, and the fake refused none of these calls (unless the test cleared them)."""
        refused = [c for c in self.fake.calls if c.method in sends and c.status == 400]
        assert not self.errors, f"errors while handling updates: {self.errors!r}"
        assert not refused, f"the Bot API refused: {[(c.method, c.error) for c in refused]}"

    async def _mark_done(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        self.processed.add(update.update_id)
        wake(self._waiters)

    async def _record_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            self.errors.append(context.error)

    async def wait_processed(self, update_id: int, timeout: float = 60.0) -> None:
        """Wait until the application has run every handler on this update (the timeout only guards against a
        hang: with several test processes sharing two CPUs, 5 s was not always enough for an ordinary update)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while update_id not in self.processed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"update {update_id} was not handled within {timeout}s; errors: {self.errors}"
                )
            await wait_for_wake(self._waiters, remaining)

    # --- acting as users -----------------------------------------------------------------------------

    async def _exchange(self, update: dict, chat_id: int, mark: int) -> Replies:
        await self.wait_processed(update["update_id"])
        return Replies([c for c in self.fake.calls[mark:] if c.matches(None, {"chat_id": chat_id})])

    async def send(self, user_id: int, text: str, *, chat_id: int | None = None,
                   thread_id: int | None = None) -> Replies:
        """A user types `text` (in a forum's topic with `thread_id`); returns what the bot sent back to that chat."""
        mark = len(self.fake.calls)
        update = self.fake.enqueue_text(user_id, text, chat_id=chat_id, thread_id=thread_id)
        return await self._exchange(update, user_id if chat_id is None else chat_id, mark)

    async def photo(self, user_id: int, caption: str = "", *, file_id: str | None = None) -> Replies:
        mark = len(self.fake.calls)
        update = self.fake.enqueue_photo(user_id, caption=caption, file_id=file_id)
        return await self._exchange(update, user_id, mark)

    async def message(self, user_id: int, fields: dict, *, chat_id: int | None = None) -> Replies:
        """A user sends a message made of `fields` (a sticker, a voice note, a document, a photo of an album,
        a forwarded text…, as the Bot API's Message carries them)."""
        mark = len(self.fake.calls)
        update = self.fake.text_update(user_id, "", chat_id=chat_id)
        del update["message"]["text"]
        update["message"].update(fields)
        self.fake.enqueue_update(update)
        return await self._exchange(update, user_id if chat_id is None else chat_id, mark)

    async def edit(self, user_id: int, text: str, *, chat_id: int | None = None) -> Replies:
        """The user edits a message they sent earlier (in their private chat unless chat_id is given) so that it
        reads `text`; returns what the bot sent back to that chat."""
        message = self.fake.text_update(user_id, text, chat_id=chat_id)["message"]
        mark = len(self.fake.calls)
        update = self.fake.enqueue_update({"edited_message": {**message, "edit_date": int(time.time())}})
        return await self._exchange(update, user_id if chat_id is None else chat_id, mark)

    async def press(self, user_id: int, label: str, *, chat_id: int | None = None) -> Replies:
        """The user presses the newest visible button with this label (in their private chat unless
        chat_id is given)."""
        mark = len(self.fake.calls)
        update = self.fake.enqueue_callback(user_id, label=label, chat_id=chat_id)
        return await self._exchange(update, user_id if chat_id is None else chat_id, mark)

    # --- the database --------------------------------------------------------------------------------

    @property
    def bot_username(self) -> str:
        return self.fake.username

    async def bind(self, user_id: int, name: str, role: str = "liaison") -> Replies:
        """Invite `name` and redeem the code as Telegram user `user_id`."""
        self.fake.user(user_id, first_name=name)
        code = await self.invite(name, role)
        replies = await self.send(user_id, f"/start {code}")
        assert "已绑定" in replies, replies
        return replies
