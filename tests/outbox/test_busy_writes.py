"""The outbox sender's own writes are tried again while the database is busy (``bot.services.busy_writes``);
``tests/e2e/test_busy_database.py`` holds a real SQLite lock for 10 s under `diaodu run`."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, ProgrammingError

from bot.services import busy_writes
from bot.services.busy_writes import persist


class Refusing:
    """A write the database refuses ``times`` times (a lock held past the wait), then takes."""

    def __init__(self, times: int, error: Exception | None = None) -> None:
        self.left = times
        self.calls = 0
        self.error = error or OperationalError("UPDATE outbox_messages …", {}, Exception("database is locked"))

    async def __call__(self) -> bool:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.error
        return True


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(busy_writes, "FIRST_WAIT", 0.01)


async def test_a_write_refused_while_the_database_is_busy_is_written_later() -> None:
    write = Refusing(3)
    assert await persist(write, what="test") is True
    assert write.calls == 4


async def test_past_its_patience_the_error_is_raised() -> None:
    write = Refusing(100)
    with pytest.raises(OperationalError):
        await persist(write, what="test", patience=0.05)
    assert 2 <= write.calls < 100


async def test_an_integrity_error_is_no_busy_database() -> None:
    write = Refusing(1, IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed")))
    with pytest.raises(IntegrityError):
        await persist(write, what="test")
    assert write.calls == 1


@pytest.mark.parametrize("error", [
    DataError("INSERT …", {}, Exception("invalid input syntax for type integer")),
    ProgrammingError("UPDATE …", {}, Exception("column \"x\" does not exist")),
    DBAPIError("UPDATE …", {}, Exception("some other refusal")),
])
async def test_a_write_that_is_wrong_is_not_tried_again(error: Exception) -> None:
    write = Refusing(1, error)
    with pytest.raises(DBAPIError):
        await persist(write, what="test")
    assert write.calls == 1


class PostgresRefusal(Exception):
    """What asyncpg's errors carry through SQLAlchemy: their SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["55P03", "40P01", "40001", "08006", "57P01"])
async def test_postgresql_busy_or_lost_is_tried_again(sqlstate: str) -> None:
    """PostgreSQL's lock timeout, deadlock, lost connection and shutdown come as a plain DBAPIError."""
    write = Refusing(2, DBAPIError("UPDATE …", {}, PostgresRefusal(sqlstate)))
    assert await persist(write, what="test") is True
    assert write.calls == 3


async def test_a_lost_connection_is_tried_again() -> None:
    write = Refusing(1, DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True))
    assert await persist(write, what="test") is True
    assert write.calls == 2
