"""Telegram updates journaled before Telegram is told they were received, so that a crash loses none.

Telegram forgets an update once the next getUpdates' offset (or the webhook's 200) confirms it, and
python-telegram-bot's ``Updater`` confirms a batch as soon as it has fetched it, before it is handled. Here:

- :class:`JournaledPolling` fetches with ``Bot.get_updates`` in a loop of its own: each batch is appended to the
  process's journal (``bot.channels.inbox``, ``DATA_DIR/telegram-inbox``) before the next getUpdates confirms
  it, then put on the application's ``update_queue``. Like the ``Updater``: every update type is asked for, a
  webhook left registered is deleted at start, a passing failure is tried again with a growing pause, a refused
  token ends the loop (``PollWatch.refused``; ``bot.channels.telegram_serving`` starts it again once the token is
  accepted), and a clean stop confirms what was fetched. A batch the journal cannot write (a full disk) is neither
  handled nor confirmed: asked for again after a pause, as after a failure, Telegram delivering it again.
- :class:`UpdateJournal` writes an update (polling's, or the webhook's before its 200), how far the replies to it
  went out after each message of them that reached the chat (``sent``), and marks it done once they are all out
  (``answered``) or every handler group has seen it (a handler in the last group, :data:`DONE_GROUP`); at start it
  puts what the journal holds not done on the queue before anything new, each recovered update counting for the
  moment it was fetched (``Incoming.answered_at``; its kept replies, if it was stored before the crash, go out at
  once, those that went out before left out: ``start``; not those of one put back by ``diaodu restore``). Once
  closed, it takes nothing more (``closed``: the webhook then refuses updates, which Telegram delivers again
  later). A process becoming the leader takes over, likewise, the journals of processes that died while it ran
  (``UpdateJournal.take_over``), before it polls. Polling starts past the updates recovered from a process that
  died (``UpdateJournal.next_offset``): the batch it journaled and died before confirming, delivered again, would
  be handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import Progress
from bot.channels.inbox import FOLDERS, Answered, Inbox
from bot.channels.telegram_updates import PollWatch
from bot.clock import Clock
from bot.domain.messages import Outcome

log = logging.getLogger(__name__)

FOLDER = FOLDERS["telegram"]  # the folder of DATA_DIR holding the journals of updates fetched
DONE_GROUP = 1_000_000  # the handler group after every other: an update reaching it has been handled
POLL_TIMEOUT = 10  # seconds a getUpdates waits for an update (long polling), as the Updater's default
PAUSE_MAX = 30.0  # seconds between two tries, at most, while getUpdates fails
# seconds Telegram keeps an update not confirmed: one fetched longer ago is not delivered again (and after a week
# without updates Telegram picks the next update_id at random: an old one says nothing of the ids to come)
KEPT_BY_TELEGRAM = 24 * 3600


class UpdateJournal:
    """The journal of the updates fetched and not yet handled (see the module's docstring)."""

    def __init__(self, application: Application, inbox: Inbox, clock: Clock) -> None:
        self.application = application
        self.inbox = inbox
        self.clock = clock  # when an update was fetched: the day a recovered one counts for
        self.fetched_at: dict[int, datetime] = {}  # the updates recovered after a restart: when they were fetched
        self.went: dict[int, Progress] = {}  # … and how far their replies went before
        self.restored: set[int] = set()  # those of them put back by `diaodu restore` (``Answered.restored``)
        # past the updates a process that died fetched lately: Telegram may deliver them again (the next getUpdates
        # that would have confirmed them never came); None: no such update
        self.next_offset: int | None = None
        application.add_handler(TypeHandler(Update, self._handled), group=DONE_GROUP)

    @classmethod
    def open(cls, application: Application, folder: Path, clock: Clock) -> UpdateJournal:
        """This process's journal in ``folder`` (raises OSError when the folder cannot be written)."""
        return cls(application, Inbox.open(folder, name="Telegram inbox"), clock)

    def add(self, updates: Sequence[Update]) -> bool:
        """Write that ``updates`` were fetched (now); whether all of them were written (one that cannot be, a full
        disk, is logged: neither polling nor the webhook confirms it to Telegram)."""
        at = self.clock.now().timestamp()
        kept = True
        for update in updates:
            chat = update.effective_chat
            try:
                self.inbox.add(str(update.update_id), str(chat.id) if chat else "",
                               {"update": json.dumps(update.to_dict(), ensure_ascii=False)}, at=at)
            except OSError:  # nor those after it: what a journal holds of a batch is always its first ones
                kept = False
                log.error("Telegram inbox: could not write update %s", update.update_id, exc_info=True)
                break
        self.inbox.sync_soon()
        return kept

    def answered_at(self, update: Update) -> datetime | None:
        """When an update recovered after a restart was fetched (None for one handled as it comes)."""
        return self.fetched_at.get(update.update_id)

    def died_with(self, update: Update) -> bool:
        """Whether a process that died had fetched this update recovered after a restart and not handled it (not
        one put back by `diaodu restore`): its kept replies, if any, may never have gone out."""
        return update.update_id in self.fetched_at and update.update_id not in self.restored

    @property
    def closed(self) -> bool:
        """Whether the journal was let go (at shutdown): an update taken now would be in memory only."""
        return self.inbox.closed

    def start(self, update: Update) -> Progress:
        """How far the replies to an update recovered after a restart went out before (nothing for another)."""
        return self.went.get(update.update_id, Progress())

    def starting(self, update: Update, outcome: Outcome) -> Progress | None:
        """Where the replies ``outcome`` to ``update`` go out from (``Inbox.starting``)."""
        return self.inbox.starting(str(update.update_id), self.start(update), outcome)

    def sent(self, update: Update, progress: Progress, *, of: int) -> None:
        """Write how far the ``of`` replies to ``update`` went out; with all of them out, it is done."""
        self.inbox.sent(str(update.update_id), progress, of=of)

    def answered(self, update: Update) -> None:
        """The replies to ``update`` are out (or handed to the outbox): done, not handled again after a restart."""
        self.inbox.done(str(update.update_id))

    async def resume(self) -> int:
        """Put the updates fetched before a restart and not handled on the queue, in the order fetched; how many."""
        count = await self._hand_back(self.inbox.recovered)
        self.inbox.recovered = []
        return count

    async def take_over(self) -> int:
        """Put on the queue the updates of the journals of processes that died while this one ran (when it becomes
        the leader, before it polls); how many."""
        return await self._hand_back(self.inbox.take_over())

    async def _hand_back(self, recovered: Sequence[Answered]) -> int:
        bot = self.application.bot
        count = 0
        for answered in recovered:
            try:
                update = Update.de_json(json.loads(answered.fields["update"]), bot)
            except Exception:  # whatever PTB raises on data it cannot read: nothing to handle, done
                log.error("Telegram inbox: skipped update %s, which could not be read", answered.key, exc_info=True)
                self.inbox.done(answered.key)
                continue
            self.fetched_at[update.update_id] = datetime.fromtimestamp(answered.at, UTC)
            self.went[update.update_id] = answered.sent
            if answered.restored:
                self.restored.add(update.update_id)
            elif self.clock.now().timestamp() - answered.at < KEPT_BY_TELEGRAM:
                self.next_offset = max(self.next_offset or 0, update.update_id + 1)
            await self.application.update_queue.put(update)
            count += 1
        return count

    async def _handled(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        self.fetched_at.pop(update.update_id, None)
        self.went.pop(update.update_id, None)
        self.restored.discard(update.update_id)
        self.inbox.done(str(update.update_id))

    async def close(self) -> None:
        await self.inbox.close()


class JournaledPolling:
    """Polling Telegram with ``Bot.get_updates``, each batch journaled before it is confirmed."""

    def __init__(self, application: Application, journal: UpdateJournal | None, watch: PollWatch, *,
                 timeout: int = POLL_TIMEOUT, poll_interval: float = 0.0) -> None:
        self.application = application
        self.journal = journal
        self.watch = watch
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.offset: int | None = None  # the next update_id to ask for: the ones before it are confirmed
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Started and not stopped (still so once the loop ended on a refused token, as the ``Updater``)."""
        return self._task is not None

    async def start(self) -> None:
        """Start polling (in a task of its own: nothing here waits for the Bot API)."""
        if self.running:
            return
        self._task = asyncio.create_task(self._loop(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling and confirm what was fetched (each is journaled and queued). A loop that ended on a
        refused token raises ``InvalidToken`` here, as the ``Updater`` does."""
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # raises InvalidToken when polling ended on it
        if self.offset is not None:
            try:
                await self.application.bot.get_updates(offset=self.offset, limit=1, timeout=0)
            except TelegramError:  # the next start asks for them again: handled once all the same (their keys)
                log.info("could not confirm the last Telegram updates fetched", exc_info=True)

    async def _loop(self) -> None:
        bot = self.application.bot
        pause = 0.0
        hook_deleted = False
        if self.journal is not None and self.journal.next_offset is not None:
            # a batch a process that died fetched and journaled, not confirmed by the getUpdates that did not come:
            # Telegram would deliver it again, to be handled twice (a reply sent twice); asked past it, it is confirmed
            self.offset = max(self.offset or 0, self.journal.next_offset)
        while True:
            try:
                if not hook_deleted:  # a webhook left registered: getUpdates would be refused
                    hook_deleted = await bot.delete_webhook()
                updates = await bot.get_updates(offset=self.offset, timeout=self.timeout,
                                                allowed_updates=Update.ALL_TYPES)
            except InvalidToken:
                self.watch.token_refused()  # (told by the getUpdates request already, not by deleteWebhook)
                log.error("Telegram polling stopped: the bot token was refused")
                raise
            except RetryAfter as exc:
                wait = exc.retry_after
                await asyncio.sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait))
                continue
            except TelegramError as exc:  # the network, a timeout, a 5xx answer, a conflict
                if not hook_deleted:  # (the getUpdates request tells the watch of its own failures)
                    self.watch.failed()
                pause = 1.0 if pause == 0 else min(PAUSE_MAX, pause * 1.5)
                log.warning("Telegram polling: %s; trying again in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                continue
            except Exception:
                pause = 1.0 if pause == 0 else min(PAUSE_MAX, pause * 1.5)
                log.exception("Telegram polling failed; trying again in %.1f s", pause)
                await asyncio.sleep(pause)
                continue
            if updates and self.journal is not None and not self.journal.add(updates):  # before the next getUpdates
                # not kept (a full disk): not confirmed either, so that Telegram delivers them again, asked anew later
                pause = 1.0 if pause == 0 else min(PAUSE_MAX, pause * 1.5)
                log.error("Telegram polling: updates not journaled, not confirmed; asking again in %.1f s", pause)
                await asyncio.sleep(pause)
                continue
            pause = 0.0
            if updates:
                for update in updates:
                    await self.application.update_queue.put(update)
                self.offset = updates[-1].update_id + 1
            if self.poll_interval:
                await asyncio.sleep(self.poll_interval)
