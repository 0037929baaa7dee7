"""Two instances of the WeCom app on one database, as behind one callback URL: they share nothing in memory.

Each instance has its own core, database engine, callback channel and transports; all they share is the
database (PostgreSQL on a database of its own, and a SQLite file). A message posted to both is acted on
once, a numbered list shown by one is answered on the other, a restart remembers what was seen, and the
group robot's 20 messages a minute and a member's 30 a minute hold over both.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import Core
from bot.channels.base import RetryLater
from bot.channels.wecom.robot import ROBOT_PER_MINUTE, WeComRobotTransport
from bot.channels.wecom.transport import MEMBER_PER_MINUTE
from bot.clock import FrozenClock
from bot.config import Settings
from bot.domain.messages import Reply
from bot.services.ledger_import import import_ledger_files
from storage.db import Database
from storage.models import Problem, Report
from tests.databases import database_of_its_own
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, running
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, WeComHarness, wecom_settings

CODE = "ZD2026-001"


@asynccontextmanager
async def shared_url(backend: str, tmp_path: Path, template: Path, clock: FrozenClock) -> AsyncIterator[str]:
    """A database holding the sample ledger that several engines can open: a SQLite file, or a PostgreSQL
    database of its own."""
    if backend == "sqlite":
        path = tmp_path / "shared.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with database_of_its_own("wecom_two") as url:
        db = Database(url)
        try:
            await db.create_all()
            summary = await import_ledger_files(db, clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
            assert not summary.issues
        finally:
            await db.dispose()
        yield url


@asynccontextmanager
async def instance(url: str, settings: Settings, fake: FakeWeCom, clock: FrozenClock) -> AsyncIterator[WeComHarness]:
    """One app instance: its own engine, core and channel, serving the callback on a port of its own."""
    core = Core.build(settings, clock=clock, db=Database(url))
    try:
        async with running(WeComHarness(fake, core, settings)) as harness:
            yield harness
    finally:
        await core.db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def shared(request: pytest.FixtureRequest, tmp_path: Path, ledger_template: Path,
                 frozen_clock: FrozenClock) -> AsyncIterator[str]:
    async with shared_url(request.param, tmp_path, ledger_template, frozen_clock) as url:
        yield url


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as fake:
        yield fake


@pytest.fixture
async def pair(shared: str, fake: FakeWeCom, frozen_clock: FrozenClock) -> AsyncIterator[tuple[WeComHarness, ...]]:
    settings = wecom_settings(fake, DATABASE_URL=shared)
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(instance(shared, settings, fake, frozen_clock))
        two = await stack.enter_async_context(instance(shared, settings, fake, frozen_clock))
        await one.bind(HAO, "郝芳", "liaison")
        yield one, two
        assert one.channel.stats["failed"] == 0 and two.channel.stats["failed"] == 0


async def count(harness: WeComHarness, model: type) -> int:
    async with harness.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_same_signed_message_posted_to_both_is_stored_once(
    pair: tuple[WeComHarness, WeComHarness], fake: FakeWeCom
) -> None:
    one, two = pair
    message = fake.text_xml(HAO, f"/report {CODE} 1.2亿 主体结构完成60%")
    before = await count(one, Report)
    query, body = fake.envelope(message)

    assert await one.post(query=query, body=body) == (200, "")
    assert await two.post(query=query, body=body) == (200, "")  # the same signed request, at the other process

    assert await count(one, Report) == before + 1
    assert (one.channel.stats["accepted"], two.channel.stats["accepted"]) == (1 + 1, 0)  # bind, report
    assert two.channel.stats["duplicate"] == 1
    assert len([i for i in one.spy.handled + two.spy.handled if "/report" in (i.text or "")]) == 1


async def test_a_message_replayed_after_a_restart_is_not_acted_on(
    shared: str, fake: FakeWeCom, frozen_clock: FrozenClock
) -> None:
    settings = wecom_settings(fake, DATABASE_URL=shared)
    query, body = fake.envelope(fake.text_xml(HAO, f"/report {CODE} 1.2亿 主体结构完成60%"))
    async with instance(shared, settings, fake, frozen_clock) as before_restart:
        await before_restart.bind(HAO, "郝芳", "liaison")
        assert await before_restart.post(query=query, body=body) == (200, "")
        stored = await count(before_restart, Report)
    async with instance(shared, settings, fake, frozen_clock) as after_restart:
        assert await after_restart.post(query=query, body=body) == (200, "")
        assert after_restart.channel.stats["duplicate"] == 1 and after_restart.spy.handled == []
        assert await count(after_restart, Report) == stored


async def test_a_guided_issue_started_on_one_process_is_answered_on_the_other(
    pair: tuple[WeComHarness, WeComHarness],
) -> None:
    one, two = pair
    await one.send(HAO, "问题")
    categories = await one.press(HAO, f"{CODE} 城北高速连接线")
    assert categories.cards == [] and "[2] 征地拆迁" in categories.text  # a numbered list, shown by one

    asked = await two.send(HAO, "2")  # answered on the other
    assert two.spy.handled[-1].callback_data == "iss:c:1"
    assert "征地拆迁" in asked.text
    described = await one.send(HAO, "还有12户未签约")
    assert described.buttons == ["完成(不再上传照片)", "取消"]
    units = await two.press(HAO, "完成(不再上传照片)")
    assert "请选择责任单位" in units.text
    summary = await one.press(HAO, "牵头单位:区住建局")
    assert "责任单位:区住建局" in summary.text and "问题:还有12户未签约" in summary.text
    raised = await two.press(HAO, "确认")
    assert "W0001" in raised.text
    assert await count(one, Problem) == 1


async def test_a_numbered_list_survives_a_restart(shared: str, fake: FakeWeCom, frozen_clock: FrozenClock) -> None:
    settings = wecom_settings(fake, DATABASE_URL=shared)
    async with instance(shared, settings, fake, frozen_clock) as first:
        await first.bind(HAO, "郝芳", "liaison")
        await first.send(HAO, "问题")
        await first.press(HAO, f"{CODE} 城北高速连接线")
    async with instance(shared, settings, fake, frozen_clock) as restarted:
        asked = await restarted.send(HAO, "2")
        assert restarted.spy.handled[-1].callback_data == "iss:c:1"
        assert "征地拆迁" in asked.text


async def test_the_group_robots_window_is_counted_over_both(
    pair: tuple[WeComHarness, WeComHarness], fake: FakeWeCom
) -> None:
    one, two = pair
    robots = [WeComRobotTransport.from_settings(h.settings, memory=h.channel.memory, max_wait=0.0)
              for h in pair]
    assert all(r is not None for r in robots)
    name = next(iter(fake.robots))
    try:
        for n in range(ROBOT_PER_MINUTE):  # alternately from each process
            await robots[n % 2].send(name, Reply(html=f"第{n + 1}条"))  # type: ignore[union-attr]
        with pytest.raises(RetryLater) as raised:
            await robots[0].send(name, Reply(html="第21条"))  # type: ignore[union-attr]
        assert 0 < raised.value.after_seconds <= 62
        with pytest.raises(RetryLater):
            await robots[1].send(name, Reply(html="第21条"))  # type: ignore[union-attr]
        assert len(fake.robot_messages(name)) == ROBOT_PER_MINUTE
        one.clock.advance(seconds=63)  # a minute later (on the clock every process reads) there is room
        await robots[1].window.acquire(name, ROBOT_PER_MINUTE, max_wait=0.0)  # type: ignore[union-attr]
    finally:
        for robot in robots:
            await robot.close()  # type: ignore[union-attr]
    assert two.channel.stats["failed"] == 0


async def test_a_members_thirty_a_minute_are_counted_over_both(
    pair: tuple[WeComHarness, WeComHarness], fake: FakeWeCom
) -> None:
    """Direct replies go out from whichever process WeCom posted the message to, the outbox from the leader:
    together they stay within the 30 messages a minute WeCom lets an app send one member."""
    one, two = pair
    already = len(fake.sent_to(HAO))  # the welcome on binding counts too
    for n in range(MEMBER_PER_MINUTE - already):  # alternately from each process
        await pair[n % 2].channel.transport.deliver(HAO, Reply(html=f"第{n + 1}条"), max_wait=0.0)
    for harness in pair:
        with pytest.raises(RetryLater) as raised:
            await harness.channel.transport.deliver(HAO, Reply(html="多出的一条"), max_wait=0.0)
        assert 0 < raised.value.after_seconds <= 62
    assert len(fake.sent_to(HAO)) == MEMBER_PER_MINUTE
    one.clock.advance(seconds=63)  # a minute later (on the clock every process reads) there is room
    await two.channel.transport.deliver(HAO, Reply(html="一分钟后"), max_wait=0.0)
    assert len(fake.sent_to(HAO)) == MEMBER_PER_MINUTE + 1
