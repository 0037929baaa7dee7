"""Direct statements: Core statements run on a unit of work's own connection without SQLAlchemy's per-call work.

The few statements every progress report runs (who is calling, the project and its figures, the report
and its audit entry) are small point reads and inserts. Through an ``AsyncSession`` each costs a greenlet
switch, an execution context, ORM loading and, on SQLite, a hop to the connection's thread and back:
several times the cost of the statement itself, and most of the bot's time per report.

A ``Direct`` wraps one Core statement (a ``select`` or an ``insert … returning``, with ``bindparam``s).
It is compiled once per dialect, with the bind and result processors SQLAlchemy would apply (so values go
in and come out exactly as through the session: aware datetimes, money as ``Decimal``, JSON). ``run``
executes a chain of them on an ``AsyncSession`` or on the router's ``storage.db.Unit`` (which then opens
no ORM session for them):

- SQLite: on the connection of the session or unit and so inside its transaction (which still commits or
  rolls back as usual), right away in the calling thread: a hop to the connection's thread and back (a
  wake-up of that thread, then of the event loop) costs several times what these statements do. The
  session's operations are sequential, so the connection's thread is idle meanwhile. Use ``Direct`` for
  small indexed statements only: the event loop waits while they run. It never waits for another connection
  there: in WAL mode readers never wait for writers; a chain that writes asks for SQLite's write lock
  without waiting and, when another connection holds it, runs in the connection's thread instead, where it
  waits as usual; and a commit made on the event loop never checkpoints the WAL (a copy into the database
  and a sync of the disk): after every ``INLINE_COMMITS_PER_CHECKPOINT`` of them the connection's thread
  runs a passive checkpoint (``storage.db._OneHopConnection.write_inline``);
- any other database (PostgreSQL): each statement through SQLAlchemy's ``execute`` as usual; asyncpg is
  already cheap per statement, and this keeps one code path for callers.

A unit of work's last chain of writes may also commit it (``run(unit, …, commit=True)``), on SQLite with
the writes instead of in another call when the unit ends. Whatever the unit does after that runs in a new
transaction, committed when it ends.

A step's parameters may be a function of the rows the earlier steps of the chain returned (e.g. an audit
entry naming the report just inserted). Rows come back as plain tuples; nothing enters the ORM's identity
map, so do not mix a direct write with ORM objects of the same rows in one unit of work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import SelectBase

from storage.db import Unit, WouldWait

Row = tuple[Any, ...]
Params = Mapping[str, Any] | Callable[[list[list[Row]]], Mapping[str, Any]]
_DRIVER_KEY = "direct.sqlite_connection"


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one dialect: SQL text, how to order and convert its parameters, and how to
    convert each result column."""

    sql: str
    compiled: Any
    reads_only: bool  # a SELECT
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]  # the values of the statement's own literal binds (e.g. the 0 of a coalesce)
    computed: bool  # a bind's value is computed when the statement runs: SQLAlchemy builds the parameters

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.computed:
            params = self.compiled.construct_params(params)
        fixed = self.fixed
        try:
            values = [params[name] if name in params else fixed[name] for name in self.names]
        except KeyError as missing:
            raise InvalidRequestError(f"A value is required for bind parameter {missing.args[0]!r}") from None
        return tuple(value if convert is None else convert(value)
                     for value, convert in zip(values, self.binds, strict=True))

    def row(self, raw: Sequence[Any]) -> Row:
        return tuple(value if convert is None else convert(value)
                     for value, convert in zip(raw, self.results, strict=True))


class Direct:
    """One Core statement, compiled once per dialect, for `run`; ``sqlite`` is the same statement written
    for SQLite where it needs its own (e.g. naming an index), with the same columns and parameters."""

    def __init__(self, statement: Executable, *, sqlite: Executable | None = None) -> None:
        for each in (statement, sqlite):
            if each is not None and not isinstance(each, SelectBase | UpdateBase):
                raise TypeError(f"not a select or a DML statement: {each!r}")
        self.statement = statement
        self.sqlite = statement if sqlite is None else sqlite
        self.returns_rows = isinstance(statement, SelectBase) or bool(statement.returning_column_descriptions)
        self._plans: dict[str, _Plan] = {}

    def plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        statement = self.sqlite if dialect.name == "sqlite" else self.statement
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        if isinstance(statement, SelectBase):
            types = [column.type for column in statement.selected_columns]
        else:
            types = [description["type"] for description in statement.returning_column_descriptions]
        results = tuple(type_.dialect_impl(dialect).result_processor(dialect, None) for type_ in types)
        own = [compiled.binds[name] for name in names]
        return _Plan(sql=compiled.string, compiled=compiled, reads_only=isinstance(statement, SelectBase),
                     names=names, binds=binds, results=results,
                     fixed={name: bind.value for name, bind in zip(names, own, strict=True)
                            if not bind.required and bind.callable is None},
                     computed=any(bind.callable is not None for bind in own))


@dataclass(frozen=True)
class Step:
    """One statement of a chain, with its parameters (or a function of the rows of the steps before)."""

    direct: Direct
    params: Params


def _params(step: Step, done: list[list[Row]]) -> Mapping[str, Any]:
    return step.params(done) if callable(step.params) else step.params


def _run_chain(connection: sqlite3.Connection, plans: list[_Plan], steps: Sequence[Step],
               commit: bool = False) -> list[list[Row]]:
    """In the SQLite connection's thread: every step in turn, rows converted; then the commit if asked."""
    done: list[list[Row]] = []
    for plan, step in zip(plans, steps, strict=True):
        cursor = connection.cursor()
        try:
            cursor.execute(plan.sql, plan.arguments(_params(step, done)))
            done.append([plan.row(raw) for raw in cursor.fetchall()] if cursor.description else [])
        finally:
            cursor.close()
    if commit:
        connection.commit()
    return done


async def _sqlite_connection(session: AsyncSession) -> Any:
    """The aiosqlite connection of the session's current transaction (looked up once per transaction)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_DRIVER_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    driver = await session.run_sync(_driver_connection)  # one switch to SQLAlchemy's greenlet, not two
    session.info[_DRIVER_KEY] = (session.sync_session.get_transaction(), driver)
    return driver


def _driver_connection(session: Session) -> Any:
    """The session's DBAPI connection (begins the transaction if none is open)."""
    return session.connection().connection.driver_connection


async def _flush_pending(session: AsyncSession) -> None:
    """What the ORM holds unwritten goes first, as before any query of the session (autoflush)."""
    sync = session.sync_session
    if sync.new or sync.deleted or sync.dirty:
        await session.flush()


async def run(target: AsyncSession | Unit, *steps: Step, commit: bool = False) -> list[list[Row]]:
    """Run the steps in order inside the transaction of `target` (a session, or a router's unit of work,
    whose ORM session is not opened for them); the rows of each (empty for no rows). With `commit` (a unit
    of work only), the unit's transaction is committed right after the steps (see above)."""
    if isinstance(target, Unit):
        if target.opened is not None:
            await _flush_pending(target.opened)
        if target.dialect.name == "sqlite":
            return await _on_sqlite(target.driver, target.dialect, steps, commit=commit)
        done = await _one_by_one(target.connection.execute, steps)
        if commit:
            await target.connection.commit()
        return done
    if commit:
        raise TypeError("commit=True is for a unit of work; a session commits when its block ends")
    await _flush_pending(target)
    dialect = target.get_bind().dialect
    if dialect.name == "sqlite":
        return await _on_sqlite(await _sqlite_connection(target), dialect, steps)
    return await _one_by_one(target.execute, steps)


async def _on_sqlite(driver: Any, dialect: Dialect, steps: Sequence[Step], *, commit: bool = False
                     ) -> list[list[Row]]:
    plans = [step.direct.plan(dialect) for step in steps]
    reads_only = all(plan.reads_only for plan in plans) and not (commit and driver.in_transaction)
    try:
        if reads_only:
            return driver.run_inline(_run_chain, plans, steps)
        done = driver.write_inline(_run_chain, plans, steps, commit)
    except WouldWait:  # another connection holds a lock: wait for it in the connection's thread
        return await driver.run_in_thread(_run_chain, plans, steps, commit)
    if driver.checkpoint_due():
        await driver.checkpoint()
    return done


async def _one_by_one(execute: Callable[..., Any], steps: Sequence[Step]) -> list[list[Row]]:
    done: list[list[Row]] = []
    for step in steps:
        result = await execute(step.direct.statement, dict(_params(step, done)))
        done.append([tuple(row) for row in result.all()] if step.direct.returns_rows else [])
    return done


async def rows(target: AsyncSession | Unit, direct: Direct, params: Mapping[str, Any]) -> list[Row]:
    """The rows of one statement."""
    return (await run(target, Step(direct, params)))[0]
