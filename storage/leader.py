"""Leadership: exactly one `diaodu run` process of a database runs the scheduler and the outbox sender.

Several processes may serve the same database (two machines behind a webhook, or a restart overlapping the
old process). Every one of them answers HTTP (health, metrics, webhook updates); only the leader runs the
periodic jobs, sends the outbox and, in polling mode, polls Telegram (which allows one poller per token).

PostgreSQL: the leader holds a session-level advisory lock (``pg_try_advisory_lock(LEADER_KEY)``) on a
dedicated connection that it keeps open; the lock lives exactly as long as that database session. The
others poll for the lock every ``poll_interval`` seconds. When the leader dies its connection closes,
PostgreSQL ends the session and releases the lock, and the next poll elects another process. A watchdog
on the leader checks every ``check_interval`` seconds (each check bounded by ``check_timeout``) that its
session still holds the lock; when the check fails (connection lost, session terminated, network
partition) the leader steps down: ``is_leader`` turns False and ``lost`` is set, and the caller stops its
duties. The session asks the server for TCP keepalives (10 s idle, 5 s interval, 3 probes), so that
PostgreSQL also gives up a vanished leader's lock within about half a minute; a leader cut off from the
database notices sooner (``check_interval`` + ``check_timeout``) and steps down first. Advisory locks are
per database, so two deployments on one server do not disturb each other. The lock needs a real session:
do not put the leader's connection through a transaction-pooling proxy.

SQLite (one machine): an exclusive ``flock`` on ``<database file>.leader``, held on an open file
descriptor; the kernel releases it when the process dies, however it dies. This is the same guarantee as
the advisory lock, costs nothing, and keeps two `diaodu run` on one file from both polling Telegram or
running the jobs. ``diaodu restore`` takes the same lock, so it refuses to restore under a running bot.
The lock file is never deleted (deleting a lock file races with processes opening it); the watchdog steps
down if somebody replaces it anyway. Without ``fcntl`` (Windows) and for in-memory databases every
process is simply its own leader (``AlwaysLeader``).

A take-over never sends a notice twice, and loses none silently. The sender commits each send's start
before making it, so the next leader (once the old claims' lease has run out, see
``bot.services.outbox``) sends again only the rows whose send had not started; a row whose send had
started but whose outcome was not recorded (the leader was killed mid-send, at most the sender's
``concurrency`` rows) is held as ``in_doubt`` for an admin to check and resend from ``/outbox``.
Leadership itself guarantees that two processes do not run the jobs and the sender at the same time,
except for the moment between a partitioned leader losing its lock and its watchdog noticing; the outbox
claims and the jobs' own keys make that overlap harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.clock import set_within
from storage.files import open_private

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# A stable signed 64-bit key derived from the application's name.
LEADER_KEY = int.from_bytes(hashlib.sha256(b"diaodu:leader").digest()[:8], "big", signed=True)
POLL_INTERVAL = 3.0
CHECK_INTERVAL = 5.0
CHECK_TIMEOUT = 5.0
_KEEPALIVES = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}


class Leadership(ABC):
    """Who leads. ``acquire`` waits until this process leads (True) or ``stop`` is set (False); ``lost`` is
    set when a leader loses its leadership involuntarily; ``release`` gives it up (idempotent)."""

    kind = "leadership"

    def __init__(self, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.poll_interval = poll_interval
        self._leader = False
        self.lost = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def acquire(self, stop: asyncio.Event) -> bool:
        if self._leader:
            return True
        self.lost.clear()
        announced = False
        while not stop.is_set():
            try:
                if await self._try_acquire():
                    self._leader = True
                    log.info("this process is now the leader (%s)", self.kind)
                    self._elected()
                    return True
                if not announced:
                    log.info("another process leads (%s); standing by", self.kind)
                    announced = True
            except Exception as error:  # noqa: BLE001 - the store may come back; keep trying
                log.warning("leader election failed (%s: %s); trying again", type(error).__name__, error)
                await self._reset()
            if await set_within(stop, self.poll_interval):
                break
        return False

    def _step_down(self, reason: str) -> None:
        if self._leader:
            log.error("lost leadership: %s; stopping the scheduler and the sender", reason)
        self._leader = False
        self.lost.set()

    def _elected(self) -> None:  # noqa: B027 - a hook, empty unless overridden
        """Hook: start whatever watches the leadership."""

    @abstractmethod
    async def _try_acquire(self) -> bool: ...

    async def _reset(self) -> None:  # noqa: B027 - a hook, empty unless overridden
        """Forget a broken connection or handle before trying again."""

    @abstractmethod
    async def release(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "leader": self._leader}


class AlwaysLeader(Leadership):
    """Every process leads (an in-memory database, or no file locks on this platform)."""

    kind = "single"

    async def _try_acquire(self) -> bool:
        return True

    async def release(self) -> None:
        self._leader = False


# ---------------------------------------------------------------- SQLite: a file lock


def leader_lock_path(database_file: Path | str) -> Path:
    """``<database file>.leader``: the file whose lock makes its holder the leader."""
    return Path(f"{database_file}.leader")


def _try_flock(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on ``path``, or None if another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = open_private(path, os.O_RDWR)
    if fcntl is None:  # pragma: no cover - Windows: no locking
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock for the block if nobody else does; yields whether it was taken."""
    fd = _try_flock(path)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            _unlock(fd)


class FileLeadership(Leadership):
    """Leadership among processes on one machine: an exclusive flock on a lock file."""

    kind = "file lock"

    def __init__(self, path: Path, *, poll_interval: float = POLL_INTERVAL,
                 check_interval: float = CHECK_INTERVAL) -> None:
        super().__init__(poll_interval=poll_interval)
        self.path = Path(path)
        self.check_interval = check_interval
        self._fd: int | None = None
        self._watchdog: asyncio.Task[None] | None = None

    async def _try_acquire(self) -> bool:
        fd = _try_flock(self.path)
        if fd is None:
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def _elected(self) -> None:
        self._watchdog = asyncio.create_task(self._watch(), name="leader-watchdog")

    def _still_ours(self) -> bool:
        if self._fd is None:
            return False
        try:
            return os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except OSError:
            return False

    async def _watch(self) -> None:
        while self._leader:
            await asyncio.sleep(self.check_interval)
            if self._leader and not self._still_ours():
                self._step_down(f"the lock file {self.path} was removed or replaced")
                return

    async def release(self) -> None:
        self._leader = False
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        fd, self._fd = self._fd, None
        if fd is not None:
            _unlock(fd)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "lock_file": self.path.name}


# ---------------------------------------------------------------- PostgreSQL: an advisory lock


class PostgresLeadership(Leadership):
    """Leadership among processes anywhere: a session-level advisory lock on a dedicated connection."""

    kind = "advisory lock"

    def __init__(self, url: str, *, key: int = LEADER_KEY, poll_interval: float = POLL_INTERVAL,
                 check_interval: float = CHECK_INTERVAL, check_timeout: float = CHECK_TIMEOUT,
                 connect_timeout: float = 10.0) -> None:
        super().__init__(poll_interval=poll_interval)
        self.url = url
        self.key = key
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self.connect_timeout = connect_timeout
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._watchdog: asyncio.Task[None] | None = None

    def _make_engine(self) -> AsyncEngine:
        connect_args: dict[str, Any] = {}
        if "+asyncpg" in self.url.split("://", 1)[0]:
            connect_args = {"timeout": self.connect_timeout,
                            "server_settings": {"application_name": "diaodu leader", **_KEEPALIVES}}
        return create_async_engine(self.url, poolclass=NullPool, connect_args=connect_args)

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            if self._engine is None:
                self._engine = self._make_engine()
            conn = await asyncio.wait_for(self._engine.connect().start(), self.connect_timeout + 1)
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    async def _scalar(self, sql: str, **params: Any) -> Any:
        conn = await self._connection()
        return await asyncio.wait_for(conn.scalar(text(sql), params), self.check_timeout)

    async def _try_acquire(self) -> bool:
        return bool(await self._scalar("SELECT pg_try_advisory_lock(:key)", key=self.key))

    async def holds_lock(self) -> bool:
        """Whether this session still holds the advisory lock (as pg_locks shows it)."""
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        return bool(await self._scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND classid::bigint = :high AND objid::bigint = :low "
            "AND objsubid = 1)", high=high, low=low))

    def _elected(self) -> None:
        self._watchdog = asyncio.create_task(self._watch(), name="leader-watchdog")

    async def _watch(self) -> None:
        while self._leader:
            await asyncio.sleep(self.check_interval)
            if not self._leader:
                return
            try:
                held = await asyncio.wait_for(self.holds_lock(), self.check_timeout)
                reason = "the session no longer holds the advisory lock"
            except Exception as error:  # noqa: BLE001 - any failure means we cannot prove we lead
                held = False
                reason = f"the leader's database connection failed ({type(error).__name__}: {error})"
            if not held:
                self._step_down(reason)
                await self._reset()
                return

    async def _reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:  # noqa: BLE001 - the connection is being thrown away
                with contextlib.suppress(Exception):
                    await conn.invalidate()

    async def release(self) -> None:
        was_leader, self._leader = self._leader, False
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        if was_leader and self._conn is not None:
            with contextlib.suppress(Exception):
                await self._scalar("SELECT pg_advisory_unlock(:key)", key=self.key)
        await self._reset()
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()


# ---------------------------------------------------------------- choosing and using one


def _sqlite_file(url: str) -> Path | None:
    _scheme, sep, rest = url.partition(":///")
    path = rest.split("?", 1)[0]
    if not sep or not path or ":memory:" in url or "mode=memory" in url:
        return None
    return Path(path)


def leadership_for(database_url: str, **options: float) -> Leadership:
    """The leadership fitting a database URL: advisory lock (PostgreSQL), file lock (SQLite file), or
    always-leader (in-memory SQLite, or no file locks on this platform)."""
    if database_url.startswith("postgres"):
        return PostgresLeadership(database_url, **options)
    if database_url.startswith("sqlite"):
        path = _sqlite_file(database_url)
        if path is not None and fcntl is not None:
            return FileLeadership(leader_lock_path(path), **options)
    return AlwaysLeader(poll_interval=options.get("poll_interval", POLL_INTERVAL))


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def lead(
    leadership: Leadership,
    stop: asyncio.Event,
    *,
    on_elected: Callable[[], Awaitable[None]],
    on_deposed: Callable[[], Awaitable[None]],
) -> None:
    """Serve as leader whenever possible until ``stop``: wait for leadership, ``on_elected()``, wait for
    ``stop`` or a lost leadership, ``on_deposed()``; after a loss, stand by for the next term.

    ``on_deposed`` runs after every ``on_elected`` (also when it raised); leadership is released at the end.
    """
    try:
        while not stop.is_set():
            if not await leadership.acquire(stop):
                break
            try:
                await on_elected()
                await _first_of(stop, leadership.lost)
            finally:
                await on_deposed()
            if not leadership.is_leader:
                await leadership.release()  # drop what is left of the lost term, then stand by
    finally:
        await leadership.release()
