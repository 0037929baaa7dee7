"""`diaodu run` noticing Telegram's troubles while no notice is due: a Bot API that does not answer at start-up,
polling that fails, a token refused while polling; and a Bot API that fails every send while polling works. The
admins hear of it once on WeCom, ``/readyz`` names it, and once Telegram works again they hear that once too; a
token accepted again gets polling going again. The fake Bot API and the fake WeCom server over HTTP, serve() as
`diaodu run` runs it.

``SENDS_FAILING_REAL=1`` runs the sends failing on the service's timings (the fault after two minutes, the first
probe 30 s after it) and prints when the admins were told and when the notices went out (run with ``-s``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.channels import telegram_serving
from bot.domain.messages import Reply
from bot.services import channel_breaker, send_streaks
from storage import outbox, people
from storage.db import Database
from storage.models import Person, PersonRole
from tests.e2e.harness import serving
from tests.e2e.test_telegram_late import both_channels, rows, unfrozen_heap  # noqa: F401 - a fixture
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWeCom
from tests.polling import until

ADMIN_WECOM = "XiangMuBan"
HAO_TELEGRAM = 1001
SENDS_FAILING_REAL = bool(os.environ.get("SENDS_FAILING_REAL"))


@pytest.fixture
def quick_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher looks every 0.1 s and tells an outage of half a second (two minutes and 30 s in service)."""
    monkeypatch.setattr(telegram_serving, "WATCH_EVERY", 0.1)
    monkeypatch.setattr(telegram_serving, "UNREACHABLE_GRACE", 0.5)


async def add_admin(settings_url: str) -> None:
    """An admin of the 项目办 with a WeCom account only (so the news of Telegram reaches them)."""
    db = Database(settings_url)
    try:
        async with db.session() as session:
            now = datetime.now(UTC)
            admin = Person(name="项目办管理员", created_at=now)
            session.add(admin)
            await session.flush()
            session.add(PersonRole(person_id=admin.id, role="admin"))
            await people.bind_account(session, person=admin, channel="wecom", external_id=ADMIN_WECOM,
                                      chat_id=ADMIN_WECOM, display_name=None, now=now)
    finally:
        await db.dispose()


@dataclass
class Served:
    """serve() running on both channels: the fake WeCom, the port of its HTTP server, its task."""

    wecom: FakeWeCom
    port: int
    task: asyncio.Task[None]


@asynccontextmanager
async def served(fake_api: FakeBotAPI, tmp_path: Path, **update: object) -> AsyncIterator[Served]:
    """`diaodu run` serving Telegram (the fake Bot API) and WeCom (a fake WeCom knowing the admin) on a migrated
    SQLite file, with an admin of the 项目办 on WeCom only, and the settings ``update`` gives (a webhook's);
    stopped afterwards (raising what it stopped with)."""
    async with FakeWeCom() as wecom:
        wecom.add_user(ADMIN_WECOM)
        settings = (await both_channels(fake_api, wecom, tmp_path)).model_copy(update=update)
        await add_admin(settings.database_url)
        task, stop, port = await serving(settings)
        try:
            yield Served(wecom, port, task)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def ready(port: int) -> tuple[int, dict[str, object]]:
    async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/readyz") as response:
        return response.status, await response.json()


def told(wecom: FakeWeCom) -> list[str]:
    return [str(message) for message in wecom.sent_to(ADMIN_WECOM)]


def told_times(wecom: FakeWeCom, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(told(wecom)) == count

    return check


async def test_a_token_refused_while_polling_is_told_once_and_polling_comes_back_with_it(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_watch: None  # noqa: F811
) -> None:
    async with served(fake_api, tmp_path) as bot:
        wecom, port = bot.wecom, bot.port
        before = await polling(fake_api, wecom, port)
        fake_api.token_revoked = True  # the token reset in @BotFather: polling stops on the 401
        await until(told_times(wecom, before + 1), "the admins told on WeCom")
        assert "Telegram" in told(wecom)[-1]
        status, report = await ready(port)
        assert status == 503 and report["channel_faults"]["telegram"]["reason"] == "bad_token"  # type: ignore[index]
        await asyncio.sleep(1.0)
        assert len(told(wecom)) == before + 1  # once per outage

        fake_api.token_revoked = False  # the old token restored: polling starts again
        await until(told_times(wecom, before + 2), "the admins told it works again")
        await until(lambda: _ok(port), "/readyz 200")  # not read once: the notice is no signal of /readyz
        mark = len(fake_api.calls)
        fake_api.enqueue_text(HAO_TELEGRAM, "/help")
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, since=mark, timeout=30)
        assert "/start" in reply["text"]
        assert not bot.task.done()


async def test_a_bot_api_unreachable_at_start_up_is_told_without_a_notice_due(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_watch: None  # noqa: F811
) -> None:
    fake_api.inject_fault("getMe", status=502)
    async with served(fake_api, tmp_path) as bot:
        wecom, port = bot.wecom, bot.port
        await until(told_times(wecom, 1), "the admins told on WeCom")
        assert "连不上 Telegram 服务器" in told(wecom)[0]
        status, report = await ready(port)
        assert status == 503 and report["channel_faults"]["telegram"]["reason"] == "unreachable"  # type: ignore[index]
        fake_api.clear_faults("getMe")
        await until(told_times(wecom, 2), "the admins told it works again")
        await until(lambda: _ok(port), "/readyz 200")


async def polling(fake_api: FakeBotAPI, wecom: FakeWeCom, port: int) -> int:
    """Once polling runs and /readyz is 200: how many notices the admins got so far (a loaded machine may take
    longer than the test's half-second grace to reach the fake at start-up: then they heard of it, and of its
    end)."""
    await fake_api.wait_for("getUpdates", timeout=30)
    await until(lambda: _ok(port), "/readyz 200")
    while True:
        count = len(told(wecom))
        await asyncio.sleep(1.0)  # a notice of start-up still on its way
        if count in (0, 2) and len(told(wecom)) == count:
            return count


async def _ok(port: int) -> bool:
    return (await ready(port))[0] == 200


async def test_polling_that_stops_reaching_the_bot_api_is_told_once_and_its_end_too(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_watch: None  # noqa: F811
) -> None:
    async with served(fake_api, tmp_path) as bot:
        wecom, port = bot.wecom, bot.port
        before = await polling(fake_api, wecom, port)
        fake_api.inject_fault("getUpdates", status=502)  # the proxy in front of the Bot API fails
        await until(told_times(wecom, before + 1), "the admins told on WeCom")
        assert "连不上 Telegram 服务器" in told(wecom)[-1]
        assert (await ready(port))[0] == 503
        fake_api.clear_faults("getUpdates")
        await until(told_times(wecom, before + 2), "the admins told it works again")
        await until(lambda: _ok(port), "/readyz 200")
        await asyncio.sleep(0.5)
        assert len(told(wecom)) == before + 2


async def test_a_bot_api_failing_every_send_while_polling_works_is_told_once_and_its_end_too(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_watch: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """sendMessage answering 502 while getUpdates and getMe answer: after the grace (half a second here, two minutes
    in service) /readyz names it, the admins hear it once on WeCom, the notices are held, not failed; once sends get
    through, each goes out once and the admins hear that once."""
    if not SENDS_FAILING_REAL:
        monkeypatch.setattr(send_streaks, "GRACE", timedelta(seconds=0.5))
        monkeypatch.setattr(channel_breaker, "probe_interval", lambda probes, **_: timedelta(seconds=0.5))
    wait = 600 if SENDS_FAILING_REAL else 60
    async with served(fake_api, tmp_path) as bot:
        wecom, port = bot.wecom, bot.port
        before = await polling(fake_api, wecom, port)
        fake_api.inject_fault("sendMessage", status=502)  # a proxy before the Bot API failing sends only
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}")  # test_telegram_late.both_channels'
        try:
            async with db.session() as session:  # two notices: one failing alone is no fault of the channel
                for n in (1, 2):
                    await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(HAO_TELEGRAM),
                                                  reply=Reply(html=f"Telegram通知{n}"), key=f"telegram-{n}",
                                                  now=datetime.now(UTC))
            await until(told_times(wecom, before + 1), "the admins told on WeCom", wait)
            failing = fake_api.calls_of("sendMessage", ok=False)
            tries = sorted(row.attempts for row in await rows(db, "telegram"))
            assert "发出的消息已连续几分钟全部失败" in told(wecom)[-1] and "收消息" not in told(wecom)[-1]
            status, report = await ready(port)
            assert status == 503
            assert report["channel_faults"]["telegram"]["reason"] == "sends_failing"  # type: ignore[index]
            assert "channel telegram down: sends_failing" in report["problems"]  # type: ignore[operator]
            assert fake_api.calls_of("getUpdates", ok=True) and fake_api.calls_of("sendMessage", ok=True) == []
            for row in await rows(db, "telegram"):
                assert row.state in ("pending", "sending"), (row.state, row.attempts, row.last_error)
            await asyncio.sleep(1.5)  # probes and a trial meeting the 502 again tell nobody again
            assert len(told(wecom)) == before + 1 and (await ready(port))[0] == 503

            fake_api.clear_faults("sendMessage")
            mended = time.monotonic()  # the clock the fakes stamp their calls with
            sent = await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, ok=True, count=2, timeout=wait)
            assert sorted(call["text"] for call in sent) == ["Telegram通知1", "Telegram通知2"]
            await until(told_times(wecom, before + 2), "the admins told it works again", wait)
            assert "已恢复发送" in told(wecom)[-1]
            if SENDS_FAILING_REAL:
                down_at, up_at = (call.at for call in wecom.calls_of("message/send", ok=True)[-2:])
                print(f"\nsends failing: the admins told {down_at - failing[0].at:.0f} s after the first failed send "
                      f"(tries of the notices by then: {tries}); once sends worked, the notices went out "
                      f"{', '.join(f'{call.at - mended:.0f}' for call in sent)} s later, the admins told of the end "
                      f"{up_at - mended:.0f} s later")
            await until(lambda: _ok(port), "/readyz 200")
            await asyncio.sleep(0.5)
            assert len(told(wecom)) == before + 2
            assert len(fake_api.calls_of("sendMessage", ok=True, chat_id=HAO_TELEGRAM)) == 2
            assert [r.state for r in await rows(db, "telegram")] == ["sent", "sent"]
        finally:
            await db.dispose()
