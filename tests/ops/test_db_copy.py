"""`diaodu db copy`: a district's whole database moved from SQLite to PostgreSQL (and back), row for row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.__main__ import main
from bot.app import Core
from bot.cli.common import CliError
from bot.cli.db_copy import copy_database, written_since
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.services.ledger_import import import_ledger_files
from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.db_copy import row_counts_at
from storage.migrate import upgrade
from storage.models import Base

from .helpers import SAMPLE, START, console_account, say, scratch_postgres


def _settings(url: str):  # type: ignore[no-untyped-def]
    return load_settings(DATABASE_URL=url, _env_file=None)


@pytest.fixture
async def district(tmp_path: Path) -> AsyncIterator[str]:
    """A SQLite file with the sample ledger, reports on two days, a problem accepted by its unit: its URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'district.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    clock = FrozenClock(START)
    core = Core.build(_settings(url), clock=clock)
    try:
        imported = await import_ledger_files(core.db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"))
        assert not imported.issues
        liaison, unit = await console_account(core, "郝芳"), await console_account(core, "赵芳")
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 850万 桩基完成")
        clock.advance(days=1)
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 120万 承台施工")
        assert "W0001" in await say(core, liaison, "/issue ZD2026-001 用地 还有12户未签约")
        assert "受理" in await say(core, unit, "/accept W0001")
    finally:
        await core.db.dispose()
    yield url


def _same(value: object) -> object:
    """A value as both databases give it back: instants in UTC, amounts as decimals."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


async def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return {t.name: [tuple(_same(v) for v in row) for row in
                             await conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables
                    if t.name != "ledger_marks"}  # counters of statements (storage.ledger_marks), not data
    finally:
        await db.dispose()


async def test_a_sqlite_district_copied_to_postgresql_and_back_is_the_same_row_for_row_and_goes_on_working(
        district: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = await _rows(district)
    assert before["reports"] and before["problem_events"] and before["report_sums"] and before["audit_log"]
    async with scratch_postgres(migrate=False) as pg:  # the copy brings the empty target to the schema itself
        assert await copy_database(_settings(district), pg) == 0
        said = capsys.readouterr().out
        assert "项目 42 个" in said and "填报 2 条" in said and "问题 1 个" in said and "核对一致" in said
        assert await _rows(pg) == before  # the yearly sums too, built by the target's triggers

        # the copy is the district's database now: the next rows get new ids, the year's total goes on
        clock = FrozenClock(START.replace(day=START.day + 4))
        core = Core.build(_settings(pg), clock=clock)
        try:
            liaison = await console_account(core, "郝芳")
            reply = await say(core, liaison, "/report ZD2026-001 30万 承台完成")
            # the ledger's 26,051.0 before November, 850 + 120 in the copy, 30 now
            assert "已记录填报" in reply and "年度累计完成：27,051.0 万元" in reply
            assert "W0002" in await say(core, liaison, "/issue ZD2026-001 资金 进度款未到位")
        finally:
            await core.db.dispose()
        after_pg = await _rows(pg)

        back = f"sqlite+aiosqlite:///{tmp_path / 'back.sqlite3'}"
        assert await copy_database(_settings(pg), back) == 0
        assert await _rows(back) == after_pg


async def test_a_target_holding_rows_is_refused_and_left_as_it_was(district: str, tmp_path: Path) -> None:
    other = f"sqlite+aiosqlite:///{tmp_path / 'other.sqlite3'}"
    assert await copy_database(_settings(district), other) == 0
    before = await _rows(other)
    with pytest.raises(CliError) as refused:
        await copy_database(_settings(district), other)
    assert refused.value.reason == "copy_target_not_empty" and refused.value.context["rows"] == sum(
        len(rows) for rows in before.values())
    assert await _rows(other) == before
    assert (await row_counts_at(other))["reports"] == 2


async def test_a_target_that_is_not_a_new_database_is_refused_untouched(district: str, tmp_path: Path) -> None:
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'another_app.sqlite3'}")
    try:
        async with other.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)"))
        with pytest.raises(CliError) as refused:
            await copy_database(_settings(district), other.url)
        assert refused.value.reason == "copy_target_not_new"
        async with other.engine.connect() as conn:  # not migrated: diaodu's tables were not created there
            names = [r[0] for r in await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
        assert names == ["orders"]
    finally:
        await other.dispose()


async def test_rows_postgresql_refuses_are_said_by_table_and_nothing_is_written(district: str) -> None:
    source = Database(district)
    try:  # SQLite does not hold a name to its column's length; PostgreSQL does
        async with source.engine.begin() as conn:
            await conn.execute(text("UPDATE people SET name = :long WHERE id = 1"), {"long": "张" * 300})
    finally:
        await source.dispose()
    async with scratch_postgres(migrate=False) as pg:
        with pytest.raises(CliError) as refused:
            await copy_database(_settings(district), pg)
        assert refused.value.reason == "copy_failed" and refused.value.context["table"] == "people"
        assert sum((await row_counts_at(pg)).values()) == 0


async def test_rows_the_bot_wrote_during_the_copy_are_reported(district: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    counts = await row_counts_at(district)  # as the copy counts the source after copying
    assert (counts["reports"], counts["problems"]) == (2, 1)  # the district's rows, counted
    assert await written_since(district, counts) == 0
    assert capsys.readouterr().out == ""
    db = Database(district)  # the bot goes on: one more entry in the audit trail
    try:
        async with db.session() as session:
            await audit.record(session, actor=Actor(label="项目办", channel="console"), at=START,
                               action="group.add", object_type="group", object_key="-100123")
    finally:
        await db.dispose()
    assert await written_since(district, counts) == 1
    assert "又有 1 行数据变化" in capsys.readouterr().out


def test_the_command_refuses_a_url_it_cannot_use_in_chinese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///data/diaodu.sqlite3")
    assert main(["db", "copy", "--to", "postgresql://bot:TopSecret99@10.0.0.5/diaodu"]) == 1
    said = capsys.readouterr().err
    assert "不是可用的目标库地址" in said and "TopSecret99" not in said and "postgresql://bot:***@10.0.0.5" in said
    assert main(["db", "copy", "--to", "sqlite+aiosqlite:///data/diaodu.sqlite3"]) == 1
    assert "就是 DATABASE_URL 所指的库" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["db", "copy"])
    assert usage.value.code == 2 and "缺少必填参数：--to" in capsys.readouterr().err
