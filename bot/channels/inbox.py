"""The inbox of a channel whose messages are confirmed to the sender before they are handled: every message is
written to a local journal first, so that a crash or a restart between the confirmation and the handling loses
nothing (the sender does not deliver a confirmed message again). WeCom's callback answers a message before it is
handled (``bot.channels.wecom.callback``, ``DATA_DIR/wecom-inbox``); Telegram's next getUpdates, or the webhook's
answer, confirms an update before it is handled (``bot.channels.telegram_polling``, ``DATA_DIR/telegram-inbox``).

- One journal per process, a file of JSON lines in a folder: "answered" (the message's key, its sender, when, its
  fields) before the confirmation, "sent" (how far its replies went out, a ``Progress``) after each message of
  them that reached the chat, "done" once its replies are all out (or handed to the outbox), or it has been handled
  otherwise. A process holds an exclusive ``flock`` on its own journal for as long as it runs.
- A message taken back after a stop or a crash whose replies had started to go out is answered with the rest only
  (the replies kept with it, ``Outcome.again``): the parts sent before are not sent again. Only the one message in
  flight when the process died may go twice: sent, and the line saying so not yet written. A "sent" line, like a
  "done" one, is an append (microseconds) with no ``fdatasync`` of its own: the sync that follows the next message
  answered takes it to the disk, so a stop or a kill loses none, and a power cut at most the last ones (those
  parts are then sent again).
- The answer waits for nothing but an append (one ``write``, microseconds, in the event loop), which survives
  the process being killed at any moment after it. An ``fdatasync`` in a thread of the inbox's own follows at
  once, not waited for (one at a time, each taking every line written meanwhile), so that the machine losing
  power loses at most the last few milliseconds' messages: the database's own commits promise no more
  (SQLite in WAL mode with ``synchronous=NORMAL``). It never waits for a lock: no other process writes this
  file, and the database is not asked.
- When nothing is left to handle the journal is emptied (truncated), so it holds about the messages under way.
  Under steady traffic, where something is always open, a journal past ``COMPACT_BYTES`` is rewritten, in the
  inbox's thread (the answers never wait for a sync): the messages still open go to a fresh file, locked and
  synced, and so do the lines the journal takes meanwhile (synced again), until none came: then it is renamed
  over the journal (the old file, whole, stays the journal until the rename; the folder is synced after it).
- At start, a process takes over every journal in the folder that no running process holds (its own earlier
  life, or another process of the same deployment that died): the messages answered there and not done are
  copied into its own journal, the old file deleted, and they are handed back (``Inbox.recovered``) in the order
  they were answered, to be handled before any new message. A process becoming the leader does the same
  (``Inbox.take_over``), and again every so often while it leads (``bot.channels.journals``), so that what a
  process that died while the others ran had taken in is not left waiting for the next start. A journal is taken
  by one process (its lock), and a message two journals hold (a process killed while it took one over) is taken
  with the replies gone furthest.
- A record is one line written at once; only a machine's crash can cut the last line of a journal (a write a full
  disk cut short is taken back), and a line that does not read is skipped. A message that cannot be written is
  not confirmed to its sender (``add`` raises): the sender delivers it again.
- ``diaodu backup`` keeps what the journals hold not done (``open_in``) beside the database copy, and ``diaodu
  restore`` puts it back as a journal no process holds, which the next start takes over (``bot.ops.inbox_backup``);
  its lines are marked restored (``Answered.restored``): not left by a process that died with them in hand.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from bot.channels.base import Progress
from bot.channels.journal_records import (
    FOLDERS,
    SUFFIX,
    Answered,
    gather,
    journal_lines,
    open_in,
    outstanding,
    record_line,
    sent_line,
)

if TYPE_CHECKING:
    from bot.domain.messages import Outcome

log = logging.getLogger(__name__)

__all__ = ["COMPACT_BYTES", "FOLDERS", "SUFFIX", "Answered", "Inbox", "journal_lines", "open_in", "outstanding"]

COMPACT_BYTES = 1 << 20  # a journal past this, with messages still open, is rewritten with only those
_datasync = getattr(os, "fdatasync", os.fsync)


def _read(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_there(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (another process may have taken it over and deleted it)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _adopt(fd: int, taken: list[tuple[Path, int]], found: list[Answered]) -> None:
    """Write what the journals ``taken`` (locked) hold not done, ``found``, to the journal ``fd`` and on the disk,
    then delete them (a process killed in between leaves them in both: the next one takes each over once)."""
    try:
        if found:
            os.write(fd, journal_lines(found))
            _datasync(fd)
        for old, _old_fd in taken:
            old.unlink(missing_ok=True)
    finally:
        for _old, old_fd in taken:
            os.close(old_fd)


class _GivenUp(Exception):
    """A rewrite of the journal given up: the journal was emptied, or let go, meanwhile."""


class Inbox:
    """This process's journal of the messages answered and not yet handled (see the module's docstring)."""

    def __init__(self, folder: Path, fd: int, path: Path, recovered: list[Answered], *,
                 name: str = "WeCom inbox") -> None:
        self.folder = folder
        self.name = name  # what the log calls it
        self.path = path
        self.recovered = recovered
        self._fd = fd
        self._open: set[str] = {a.key for a in recovered}
        self._written = 0
        self._synced = 0
        self._kept = 0  # the bytes the journal held when last rewritten
        self._syncing: asyncio.Future[None] | None = None
        self._compacting: asyncio.Task[None] | None = None  # the journal being rewritten (``_compact``)
        self._copy: list[bytes] | None = None  # the lines written meanwhile, for the fresh file too
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=folder.name)

    @classmethod
    def open(cls, folder: Path, *, name: str = "WeCom inbox") -> Inbox:
        """Claim a new journal in ``folder`` and take over those no running process holds (``name``: what the log
        calls the inbox)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = f"{time.time_ns()}-{os.getpid()}"
        fresh = folder / (stem + ".new")  # not a journal until locked: no other process takes it over meanwhile
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = folder / (stem + SUFFIX)
            os.rename(fresh, path)
            taken, recovered = cls._take_over(folder, path)
            _adopt(fd, taken, recovered)
        except BaseException:
            os.close(fd)
            raise
        if recovered:
            log.warning("%s: %d messages answered before a restart and not handled; handling them now",
                        name, len(recovered))
        return cls(folder, fd, path, recovered, name=name)

    @staticmethod
    def _take_over(folder: Path, own: Path) -> tuple[list[tuple[Path, int]], list[Answered]]:
        """The journals of ``folder`` no running process holds, locked, and what they hold not done, in the order
        it was answered."""
        taken: list[tuple[Path, int]] = []
        found: dict[str, Answered] = {}
        for path in folder.glob("*.new"):  # a process killed while it claimed its journal left it, empty
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            # (a minute old: not one another process starting now has made and not locked yet)
            if time.time() - os.fstat(fd).st_mtime > 60 and _lock(fd) and _still_there(fd, path):
                path.unlink(missing_ok=True)
            os.close(fd)
        for path in sorted(folder.glob("*" + SUFFIX)):
            if path == own:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            if not _lock(fd) or not _still_there(fd, path):
                os.close(fd)
                continue
            taken.append((path, fd))
            for answered in outstanding(_read(fd)):
                gather(found, answered)
        return taken, sorted(found.values(), key=lambda a: a.at)

    def take_over(self) -> list[Answered]:
        """Take over the journals no running process holds now (of a process that died while this one ran), as
        ``open`` does at start: what they hold not done is written to this journal and returned, in the order it
        was answered, to be handled."""
        if self._fd < 0:
            return []
        taken, found = self._take_over(self.folder, self.path)
        found = [a for a in found if a.key not in self._open]
        _adopt(self._fd, taken, found)
        if found:
            self._open.update(a.key for a in found)
            self._written += len(found)
            self._synced = self._written  # (synced by _adopt, with everything written before them)
            log.warning("%s: %d messages answered by a process that died and not handled; handling them now",
                        self.name, len(found))
        return found

    # -- writing

    def add(self, key: str, userid: str, fields: dict[str, str], *, at: float) -> None:
        """Write that the message was answered (raises OSError when it could not be written whole)."""
        self._append(record_line({"k": key, "u": userid, "t": at, "f": fields}))
        self._open.add(key)
        self._written += 1

    @property
    def closed(self) -> bool:
        """Whether the journal was let go (``close``): nothing can be written to it any more."""
        return self._fd < 0

    def sent(self, key: str, progress: Progress, *, of: int) -> None:
        """Write how far the replies to an open message went out (``of``: how many there are); with all of them
        out, the message is done. Nothing waits for the disk (see the module's docstring)."""
        if progress.replies >= of:
            self.done(key)
            return
        if key not in self._open or self.closed:
            return
        try:
            self._append(sent_line(key, progress))
        except OSError:  # sent again after a crash at worst
            log.warning("%s: could not write how far the replies to %s went", self.name, key, exc_info=True)

    def starting(self, key: str, before: Progress, outcome: Outcome) -> Progress | None:
        """Where the replies ``outcome`` to message ``key`` go out from: where they stopped (``before``) when they
        are the replies kept with it (``Outcome.again``), else from the first (None). A message handled anew after
        its replies had started to go out is written so: how far those went counts for none of these (kept, they
        would be resumed from there after another crash)."""
        if outcome.again:
            return before
        if before != Progress() and outcome.replies:
            self.sent(key, Progress(), of=len(outcome.replies))
        return None

    def done(self, key: str) -> None:
        """Write that the message was handled (nothing for one not open, or done already); with nothing left open,
        empty the journal, and past ``COMPACT_BYTES`` rewrite it with only the messages still open (in the inbox's
        thread: the answers do not wait for it)."""
        if key not in self._open or self.closed:
            return
        self._open.discard(key)
        try:
            if self._open:
                self._append(record_line({"d": key}))
            else:
                os.ftruncate(self._fd, 0)
                self._kept = 0
                self._copy = None  # a rewrite under way has nothing left to keep: given up
        except OSError:  # handled twice after a crash at worst: the router's record of it holds
            log.warning("%s: could not write that %s was handled", self.name, key, exc_info=True)
            return
        size = os.fstat(self._fd).st_size if self._open else 0
        # (the open ones alone that large: not at each one)
        if size > COMPACT_BYTES and size > 2 * self._kept and self._compacting is None:
            try:
                self._compacting = asyncio.get_running_loop().create_task(self._compact())
            except RuntimeError:  # no event loop (a tool writing a journal): tried again at the next message done
                pass

    async def _compact(self) -> None:
        """Rewrite the journal with only the messages still open. The fresh file is written and synced in the
        inbox's thread while the journal takes new lines; those go to the fresh file too, synced again, until none
        came meanwhile: then, with nothing awaited in between, it is renamed over the journal and written from then
        on (the old file, whole, stays the journal until the rename; the folder is synced after it)."""
        loop = asyncio.get_running_loop()
        copy: list[bytes] = []
        self._copy = copy  # what ``_append`` writes from now on, to be written to the fresh file too
        fresh = self.path.with_name(self.path.stem + "-compact.new")  # cleared by the next start if left
        fd = -1
        try:
            fd, kept = await loop.run_in_executor(self._thread, self._rewrite, fresh, frozenset(self._open))
            while copy and self._copy is copy:
                lines = b"".join(copy)
                copy.clear()
                if os.write(fd, lines) != len(lines):
                    raise OSError(f"{self.name}: the rewritten journal could not be written whole")
                kept += len(lines)
                await loop.run_in_executor(self._thread, _datasync, fd)
            if self._copy is not copy or self.closed:  # emptied or let go meanwhile: nothing to rewrite
                raise _GivenUp
            os.rename(fresh, self.path)
        except BaseException as error:
            if fd >= 0:
                os.close(fd)
            fresh.unlink(missing_ok=True)
            if isinstance(error, OSError):  # the journal as it was stays whole: tried again at the next message done
                log.warning("%s: could not rewrite the journal", self.name, exc_info=True)
            elif not isinstance(error, _GivenUp):
                raise
            return
        finally:
            if self._copy is copy:
                self._copy = None
            self._compacting = None
        old, self._fd = self._fd, fd
        self._synced = self._written
        self._kept = kept
        # its lock with it: the file is no journal any more (a process that takes it over sees that); once a sync
        # under way on it in the inbox's thread is over
        if self._syncing is None:
            os.close(old)
        else:
            self._syncing.add_done_callback(lambda _sync: os.close(old))
        await loop.run_in_executor(self._thread, self._sync_folder)

    def _rewrite(self, fresh: Path, still_open: frozenset[str]) -> tuple[int, int]:
        """(In the inbox's thread.) The fresh file holding the messages ``still_open`` as the journal has them, with
        how far their replies went, locked and on the disk; its descriptor and size."""
        with open(self.path, "rb") as journal:
            still = [a for a in outstanding(journal.read()) if a.key in still_open]
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = journal_lines(still)
            if os.write(fd, data) != len(data):
                raise OSError(f"{self.name}: the rewritten journal could not be written whole")
            _datasync(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd, len(data)

    def _sync_folder(self) -> None:
        """(In the inbox's thread.) The rename, on the disk: a power cut does not leave the fresh file under its
        ".new" name."""
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        except OSError:
            log.warning("%s: could not sync the inbox folder", self.name, exc_info=True)
        finally:
            os.close(folder)

    def _append(self, line: bytes) -> None:
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: the line cut taken back (or ended), so that the next one reads
            try:
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
            except OSError:
                os.write(self._fd, b"\n")
            raise OSError(f"{self.name}: {written} of {len(line)} bytes written")
        if self._copy is not None:  # a rewrite under way: the fresh file takes it too
            self._copy.append(line)

    def sync_soon(self) -> None:
        """Have what was written reach the disk, not waiting for it: one ``fdatasync`` at a time in the inbox's
        thread, the next one taking everything written meanwhile."""
        if self._syncing is None and self._synced < self._written:
            self._syncing = asyncio.ensure_future(self._sync())

    async def flush(self) -> None:
        """Until a rewrite of the journal under way is over and every record written so far is on the disk (or
        syncing it failed, which is logged)."""
        if self._compacting is not None:
            await asyncio.shield(self._compacting)
        target = self._written
        while self._synced < target and self._fd >= 0:
            self.sync_soon()
            if self._syncing is None:
                return
            await asyncio.shield(self._syncing)

    async def _sync(self) -> None:
        try:
            while self._synced < self._written and self._fd >= 0:
                upto = self._written
                await asyncio.get_running_loop().run_in_executor(self._thread, _datasync, self._fd)
                self._synced = max(self._synced, upto)
        except OSError:
            self._synced = self._written  # not tried again for these: the next write tries anew
            log.warning("%s: could not sync the journal to the disk", self.name, exc_info=True)
        finally:
            self._syncing = None

    async def close(self) -> None:
        """Release the journal: deleted when nothing is left open, else kept for the next start."""
        if self._fd < 0:
            return
        await self.flush()
        if not self._open:
            self.path.unlink(missing_ok=True)
        else:
            log.warning("%s: %d messages answered and not handled, kept for the next start in %s",
                        self.name, len(self._open), self.path)
        os.close(self._fd)  # and with it the lock: the next process to start takes the journal over
        self._fd = -1
        self._thread.shutdown(wait=False)
