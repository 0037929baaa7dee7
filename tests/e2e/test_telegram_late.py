"""`diaodu run` while the Telegram Bot API does not answer at start-up: WeCom, the scheduled jobs and the outbox
sender start at once; Telegram's notices are held as a channel fault (no try counted, nothing failed) and go out
once the Bot API answers. The fake Bot API and the fake WeCom server over HTTP, serve() as `diaodu run` runs."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import ClientSession
from sqlalchemy import select

from bot.config import Settings
from bot.domain.messages import Reply
from bot.render import Renderer
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from tests.e2e.harness import e2e_settings, serving
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWeCom
from tests.polling import until

HAO_TELEGRAM = 1001
HAO_WECOM = "HaoFang"


@pytest.fixture
def unfrozen_heap() -> Iterator[None]:
    """serve() freezes the garbage collector's view of the heap; give the test process its collector back."""
    gc.unfreeze()
    yield
    gc.unfreeze()


async def both_channels(fake_api: FakeBotAPI, wecom: FakeWeCom, tmp_path: Path) -> Settings:
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    return e2e_settings(
        fake_api,
        DATABASE_URL=url,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=0,
        WECOM_CORP_ID=wecom.corp_id,
        WECOM_AGENT_ID=wecom.agent_id,
        WECOM_SECRET=wecom.secret,
        WECOM_TOKEN=wecom.callback_token,
        WECOM_AES_KEY=wecom.aes_key,
        WECOM_API_BASE=wecom.base_url,
    )


async def rows(db: Database, channel: str) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == channel))).all())


async def health(port: int) -> dict[str, object]:
    async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
        return await response.json()


async def test_wecom_and_the_jobs_do_not_wait_for_an_unreachable_bot_api(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None
) -> None:
    async with FakeWeCom() as wecom:
        wecom.add_user(HAO_WECOM)
        settings = await both_channels(fake_api, wecom, tmp_path)
        db = Database(settings.database_url)
        try:
            async with db.session() as session:
                now = datetime.now(UTC)
                await outbox.enqueue_for_chat(
                    session,
                    channel="wecom",
                    chat_id=HAO_WECOM,
                    reply=Reply(html="企业微信通知"),
                    key="wecom-1",
                    now=now,
                )
                await outbox.enqueue_for_chat(
                    session,
                    channel="telegram",
                    chat_id=str(HAO_TELEGRAM),
                    reply=Reply(html="Telegram通知"),
                    key="telegram-1",
                    now=now,
                )
            fake_api.inject_fault("getMe", status=502)  # the Bot API (or its proxy) is down until cleared
            task, stop, port = await serving(settings)
            try:
                await wecom.wait_for("message/send", timeout=15)  # WeCom does not wait for Telegram
                assert "企业微信通知" in str(wecom.sent_to(HAO_WECOM))
                async def faulted() -> bool:
                    return "channel_faults" in await health(port)

                await until(faulted, "the Telegram notice to meet the fault", 10)  # held, not failed
                report = await health(port)
                assert report["scheduler"] == "running" and report["sender"] == "running"
                assert report["channel_faults"]["telegram"]["reason"] == "unreachable"  # type: ignore[index]
                # The gate is told of the fault before the row is handed back: wait for the hand-back.
                async def handed_back() -> bool:
                    return [row.state for row in await rows(db, "telegram")] != ["sending"]

                await until(handed_back, "the Telegram notice handed back after the fault")
                [held] = await rows(db, "telegram")
                assert (held.state, held.attempts) == ("pending", 0)
                assert fake_api.calls_of("getMe", ok=True) == [] and fake_api.calls_of("sendMessage") == []
                assert not task.done()

                fake_api.clear_faults("getMe")  # Telegram answers: it comes in, and its notice goes out at once
                [sent] = await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, timeout=30)
                assert sent["text"] == "Telegram通知"
                async def recorded() -> bool:
                    return [row.state for row in await rows(db, "telegram")] == ["sent"]

                await until(recorded, "the Telegram notice recorded as sent", 5)
                [done] = await rows(db, "telegram")
                assert (done.state, done.attempts) == ("sent", 1)
                assert "channel_faults" not in await health(port)
                fake_api.enqueue_text(HAO_TELEGRAM, "/help")  # and polling started with it
                [_notice, reply] = await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, count=2, timeout=15)
                assert "/start" in reply["text"]
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
        finally:
            await db.dispose()


async def test_a_token_refused_once_the_bot_api_answers_still_stops_the_bot(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None
) -> None:
    """Unreachable first, then the Bot API answers 401: a configuration error (exit status 78), as at once."""
    from bot.app import ConfigurationError

    async with FakeWeCom() as wecom:
        settings = await both_channels(fake_api, wecom, tmp_path)
        fake_api.inject_fault("getMe", status=502, times=1)
        task, _stop, _port = await serving(settings)
        fake_api.token_revoked = True
        with pytest.raises(ConfigurationError) as refused:
            await asyncio.wait_for(task, 30)
        assert refused.value.reason == "telegram_token"


def test_the_admins_are_told_why_telegram_holds_its_notices() -> None:
    since = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    told = Renderer().render(
        "channel_fault", kind="down", channel="telegram", reason="unreachable", since=since, ip=None
    )
    assert "连不上 Telegram 服务器" in told and "配置有误" not in told
