"""The outbox sender's own writes are tried again while the database is busy (``bot.services.busy_writes``);
``tests/e2e/test_busy_database.py`` holds a real SQLite lock for 10 s under `diaodu run`."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

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
