"""`diaodu run` in webhook mode noticing what Telegram alone sees: updates it cannot deliver to the webhook (the
reverse proxy down), a Bot API that does not answer getWebhookInfo. The admins hear of each once on WeCom,
``/readyz`` names it, and once it is over they hear that once too; the messages Telegram kept are delivered and
answered. The fake Bot API delivers to the webhook over HTTP as Telegram does, serve() as `diaodu run` runs it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.channels import telegram_serving
from tests.e2e.test_telegram_late import unfrozen_heap  # noqa: F401 - a fixture
from tests.e2e.test_telegram_watch import _ok, ready, served, told, told_times
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until

HAO_TELEGRAM = 1001
HOOK = "https://bot.example.org/telegram/hook"
WEBHOOK = {"telegram_webhook_url": HOOK, "telegram_webhook_secret": SecretStr("s3cret")}


@pytest.fixture
def quick_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher looks every 0.1 s (30 s in service)."""
    monkeypatch.setattr(telegram_serving, "WATCH_EVERY", 0.1)


async def webhook_served(fake_api: FakeBotAPI, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the webhook is registered and /readyz is 200, an outage of half a second is told (two minutes in
    service: not before, so that a loaded machine slow to start tells nothing)."""
    await fake_api.wait_for("setWebhook", timeout=30)
    await until(lambda: _ok(port), "/readyz 200")
    monkeypatch.setattr(telegram_serving, "UNREACHABLE_GRACE", 0.5)


async def test_a_webhook_telegram_cannot_deliver_to_is_told_once_and_its_end_too(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_look: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    async with served(fake_api, tmp_path, **WEBHOOK) as bot:
        wecom, port, task = bot.wecom, bot.port, bot.task
        fake_api.webhook_redirect = f"http://127.0.0.1:{port}"  # the reverse proxy in front of the bot
        await webhook_served(fake_api, port, monkeypatch)
        mark = len(fake_api.calls)
        fake_api.enqueue_text(HAO_TELEGRAM, "/help")  # delivered to the webhook and answered
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, since=mark, timeout=30)
        assert "/start" in reply["text"]

        fake_api.webhook_redirect = "http://127.0.0.1:9"  # the proxy down: nothing listens there
        mark = len(fake_api.calls)
        fake_api.enqueue_text(HAO_TELEGRAM, "/help")
        await until(told_times(wecom, 1), "the admins told on WeCom")
        assert "收不到成员发来的消息" in told(wecom)[-1] and "Connection refused" in told(wecom)[-1]
        status, report = await ready(port)
        assert status == 503
        assert report["receiving_faults"]["telegram"]["reason"] == "webhook_failing"  # type: ignore[index]
        assert "channel_faults" not in report  # what the bot sends still goes: nothing is held
        await asyncio.sleep(1.0)
        assert len(told(wecom)) == 1  # once per outage
        assert not fake_api.calls_of("sendMessage", since=mark, chat_id=HAO_TELEGRAM)

        fake_api.webhook_redirect = f"http://127.0.0.1:{port}"  # the proxy back: Telegram delivers what it kept
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, since=mark, timeout=30)
        assert "/start" in reply["text"]
        await until(told_times(wecom, 2), "the admins told it receives again")
        assert "已恢复接收消息" in told(wecom)[-1]
        await until(lambda: _ok(port), "/readyz 200")
        assert not task.done()


async def test_a_bot_api_that_stops_answering_in_webhook_mode_is_told_without_a_notice_due(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_look: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    async with served(fake_api, tmp_path, **WEBHOOK) as bot:
        wecom, port = bot.wecom, bot.port
        fake_api.webhook_redirect = f"http://127.0.0.1:{port}"
        await webhook_served(fake_api, port, monkeypatch)
        fake_api.inject_fault("getWebhookInfo", status=502)  # the proxy in front of the Bot API fails
        await until(told_times(wecom, 1), "the admins told on WeCom")
        assert "连不上 Telegram 服务器" in told(wecom)[-1]
        status, report = await ready(port)
        assert status == 503 and report["channel_faults"]["telegram"]["reason"] == "unreachable"  # type: ignore[index]
        fake_api.clear_faults("getWebhookInfo")
        await until(told_times(wecom, 2), "the admins told it works again")
        await until(lambda: _ok(port), "/readyz 200")


async def test_one_good_look_in_the_middle_of_an_outage_tells_neither_its_end_nor_a_new_one(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_look: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The Bot API answering one getWebhookInfo in an outage is no end of it: the admins used to hear "works
    again" and, a grace later, "cannot reach Telegram" once more (the gate told it recovered, then down anew).
    They hear of the end once it answers at HEALED_LOOKS looks in a row."""
    async with served(fake_api, tmp_path, **WEBHOOK) as bot:
        wecom, port = bot.wecom, bot.port
        fake_api.webhook_redirect = f"http://127.0.0.1:{port}"
        await webhook_served(fake_api, port, monkeypatch)
        fake_api.inject_fault("getWebhookInfo", status=502)
        await until(told_times(wecom, 1), "the admins told on WeCom")
        status, report = await ready(port)
        assert status == 503
        down_since = report["channel_faults"]["telegram"]["since"]  # type: ignore[index]

        mark = len(fake_api.calls)
        fake_api.inject_fault("getWebhookInfo", status=502, after=1)  # one look answered, the outage goes on
        looks = await fake_api.wait_for("getWebhookInfo", since=mark, timeout=30)
        assert looks[0].ok
        await fake_api.wait_for("getWebhookInfo", count=15, since=mark, ok=False, timeout=30)  # past the grace
        status, report = await ready(port)
        assert status == 503  # down all along: neither recovered nor down anew since
        assert report["channel_faults"]["telegram"]["since"] == down_since  # type: ignore[index]

        fake_api.clear_faults("getWebhookInfo")
        await until(told_times(wecom, 2), "the admins told it works again")
        assert "已恢复发送" in told(wecom)[-1]
        await until(lambda: _ok(port), "/readyz 200")


async def test_a_look_the_bot_api_does_not_answer_breaks_the_run_of_looks_the_webhook_receives_in(
    fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, quick_look: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A look finding the webhook receiving and the next one, which the Bot API did not answer (so found
    nothing), are no two looks in a row: the admins used to hear 「已恢复接收消息」 while getWebhookInfo failed, on
    one good look in the middle of an outage. They hear it once the webhook is seen receiving at HEALED_LOOKS
    answered looks in a row."""
    async with served(fake_api, tmp_path, **WEBHOOK) as bot:
        wecom, port = bot.wecom, bot.port
        fake_api.webhook_redirect = f"http://127.0.0.1:{port}"
        await webhook_served(fake_api, port, monkeypatch)
        fake_api.webhook_redirect = "http://127.0.0.1:9"  # the proxy down
        mark = len(fake_api.calls)
        fake_api.enqueue_text(HAO_TELEGRAM, "/help")
        await until(told_times(wecom, 1), "the admins told the webhook does not receive")
        assert "收不到成员发来的消息" in told(wecom)[-1]
        fake_api.inject_fault("getWebhookInfo", status=502)  # the Bot API's proxy down too
        await until(told_times(wecom, 2), "the admins told Telegram cannot be reached")
        assert "连不上 Telegram 服务器" in told(wecom)[-1]

        fake_api.webhook_redirect = f"http://127.0.0.1:{port}"  # the webhook's proxy back: what was kept arrives
        await fake_api.wait_for("sendMessage", chat_id=HAO_TELEGRAM, since=mark, timeout=30)
        mark = len(fake_api.calls)
        fake_api.inject_fault("getWebhookInfo", status=502, after=1)  # one look answered, the outage goes on
        looks = await fake_api.wait_for("getWebhookInfo", since=mark, timeout=30)
        assert looks[0].ok
        await fake_api.wait_for("getWebhookInfo", count=10, since=mark, ok=False, timeout=30)  # past the grace
        status, report = await ready(port)
        assert status == 503 and "telegram" in report["channel_faults"]  # type: ignore[operator]
        assert report["receiving_faults"]["telegram"]["reason"] == "webhook_failing"  # type: ignore[index]
        await asyncio.sleep(0.5)  # the notices written meanwhile, if any, sent
        assert len(told(wecom)) == 2  # neither receiving again nor working again: one good look is no end

        mark = len(fake_api.calls)
        fake_api.clear_faults("getWebhookInfo")
        await until(told_times(wecom, 4), "the admins told it works and receives again")
        assert "已恢复发送" in told(wecom)[2] and "已恢复接收消息" in told(wecom)[3]
        assert len(fake_api.calls_of("getWebhookInfo", since=mark, ok=True)) >= 2  # not at the first look
        await until(lambda: _ok(port), "/readyz 200")
