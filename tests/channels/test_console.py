"""The console channel: scripted input through the real router, buttons as numbers, notices shown."""

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import Core
from bot.channels.console import bind_console, chat
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.services.ledger_import import import_ledger_files
from storage import people
from storage.audit import Actor
from storage.db import Database

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo" / "projects_sample.xlsx"


async def _core() -> Core:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    clock = FrozenClock(datetime(2026, 11, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    await import_ledger_files(db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"))
    return Core.build(load_settings(DATABASE_URL="sqlite+aiosqlite://"), clock=clock, db=db)


async def _console(core: Core, name: str, lines: list[str]) -> list[str]:
    async with core.db.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
    external_id = await bind_console(core.db, person, now=core.clock.now())
    feed: Iterator[str] = iter(lines)
    out: list[str] = []

    async def read_line(_prompt: str) -> str | None:
        return next(feed, None)

    await chat(core.router, external_id, name, read_line, out.append)
    return out


async def test_guided_report_with_numbered_buttons_is_stored() -> None:
    core = await _core()
    out = await _console(core, "郝芳", ["/report", "1", "850万", "桩基完成", "1", "1", "/project ZD2026-001"])
    assert "[1] ZD2026-001 城北高速连接线" in out[1]
    assert "[1] 确认  [2] 修改  [3] 取消" in out[5]
    assert "已记录填报：本期完成投资 850万 = 850.0 万元" in out[6]
    assert "年度累计完成：26,901.0 万元" in out[7]


async def test_a_number_without_buttons_is_just_text() -> None:
    core = await _core()
    out = await _console(core, "郝芳", ["3"])
    assert "没有看懂" in out[1]


async def test_notices_for_the_console_person_are_shown_once() -> None:
    core = await _core()
    await _console(core, "赵芳", [])  # binds 赵芳's console account
    await _console(core, "郝芳", ["/issue ZD2026-001 用地 还有12户未签约"])
    first = await _console(core, "赵芳", [])
    assert "【通知】" in first[1] and "新问题交办" in first[1] and "[1] 受理" in first[1]
    again = await _console(core, "赵芳", [])
    assert len(again) == 1  # only the greeting: the notice was taken


async def test_cancel_leaves_a_guided_flow_and_says_so() -> None:
    core = await _core()
    out = await _console(core, "郝芳", ["/report", "/cancel", "/cancel"])
    assert out[2].strip() == "已取消。"
    assert "当前没有进行中的操作" in out[3]


@pytest.mark.handler_failures
async def test_a_report_that_cannot_be_written_in_time_is_answered_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "console.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url, lock_wait=0.3)  # a write waits at most 0.3 s for the lock
    await db.create_all()
    clock = FrozenClock(datetime(2026, 11, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    await import_ledger_files(db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"))
    core = Core.build(load_settings(DATABASE_URL=url), clock=clock, db=db)
    await _console(core, "郝芳", [])  # binds the console account
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing, past the bound
        async with core.db.session() as session:
            [person] = await people.find_people_by_name(session, name="郝芳")
        feed = iter(["/report ZD2026-001 850 桩基完成"])
        failed: list[str] = []

        async def read_line(_prompt: str) -> str | None:
            return next(feed, None)

        await chat(core.router, f"person-{person.id}", "郝芳", read_line, failed.append)
        holder.execute("ROLLBACK")
        saved = await _console(core, "郝芳", ["/report ZD2026-001 850 桩基完成"])
    finally:
        holder.close()
        await db.dispose()
    assert "没有处理成功" in failed[1] and "未保存" in failed[1]
    assert "已记录填报" in saved[1]


async def test_odd_input_is_answered_and_the_session_goes_on() -> None:
    core = await _core()
    out = await _console(core, "赵芳", ["/accept ²", "/accept W99999999999999999999", "/issue W2147483648", "/mine"])
    assert len(out) == 5 and all("没有处理成功" not in line for line in out)
    assert "ZD2026" in out[4]


async def test_the_session_outlives_an_error_outside_the_router(monkeypatch: pytest.MonkeyPatch) -> None:
    core = await _core()
    handle = core.router.handle
    calls = 0

    async def failing_once(msg):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return await handle(msg)

    monkeypatch.setattr(core.router, "handle", failing_once)
    out = await _console(core, "郝芳", ["/mine", "/mine"])
    assert "没有处理成功" in out[1]
    assert "ZD2026-001" in out[2]


async def test_a_hint_after_the_numbered_buttons_asks_for_the_number_and_they_still_pick() -> None:
    """The console numbers every button: words typed instead are answered to reply with the number, and the
    numbers still pick."""
    core = await _core()
    out = await _console(core, "郝芳", ["/report", "城北", "1"])
    assert "[1] ZD2026-001 城北高速连接线" in out[1]
    assert "请回复上面列表中的序号选择项目" in out[2] and "点击" not in out[2], out[2]
    assert "ZD2026-001" in out[3] and "本期完成投资" in out[3], out[3]
