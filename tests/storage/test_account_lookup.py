"""WeCom userids match whatever their case: accounts are looked up by ``lower(external_id)``
(``storage.people.same_id``), and the index of the folded id (``storage.models.FOLDED_ID_INDEX``) serves those
lookups: the planner of each backend says so of the statements the lookups really send. SQLite and PostgreSQL,
with a district's worth of accounts and the planner's statistics gathered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, insert, text

from storage import people
from storage.db import Database
from storage.models import FOLDED_ID_INDEX, ChatAccount

from .factories import NOW, build_world


async def add_accounts(db: Database, person_id: int, count: int = 1500) -> None:
    """`count` WeCom accounts (userids ZhangSan0000…) and as many Telegram ones, with the planner's statistics."""
    rows = [{"person_id": person_id, "channel": channel, "external_id": f"{prefix}{n:04d}",
             "chat_id": f"{prefix}{n:04d}", "created_at": NOW}
            for channel, prefix in (("wecom", "ZhangSan"), ("telegram", "7")) for n in range(count)]
    async with db.session() as session:
        await session.execute(insert(ChatAccount), rows)
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


async def statements_of(db: Database, lookup: Callable[[], Awaitable[Any]]) -> list[tuple[str, Any]]:
    """The SELECTs of chat_accounts (statement and parameters, as sent to the driver) that `lookup` runs."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "chat_accounts" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await lookup()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    return sent


async def plan(db: Database, statement: str, parameters: Any) -> str:
    """What the backend's planner does with the statement, as it words it."""
    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    async with db.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


async def folded_lookup_plans(db: Database) -> list[str]:
    """The plans of every lookup of a WeCom account by its userid, spelled in another case."""
    async def find() -> None:
        async with db.session() as session:
            account = await people.get_account(session, channel="wecom", external_id="zhangsan0007")
            assert account is not None and account.external_id == "ZhangSan0007"

    async def caller() -> None:
        async with db.session() as session:
            found = await people.get_caller(session, channel="wecom", external_id="ZHANGSAN0042",
                                            chat_id="ZHANGSAN0042", message_key="m-1")
            assert found.external_id == "ZhangSan0042"

    sent = [*await statements_of(db, find), *await statements_of(db, caller)]
    assert len(sent) == 2 and all("lower(" in statement for statement, _ in sent), sent
    return [await plan(db, statement, parameters) for statement, parameters in sent]


async def test_wecom_lookups_by_a_userid_in_any_case_use_the_folded_id_index(db: Database) -> None:
    world = await build_world(db, NOW)
    await add_accounts(db, world.liaison)
    for found in await folded_lookup_plans(db):
        assert FOLDED_ID_INDEX.name in found, found
