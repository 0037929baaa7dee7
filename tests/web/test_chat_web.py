"""/web in the chat: a one-time link (a button in Telegram, where a link in the text would be fetched for a
preview and used up; the text in WeCom), a Mini App button over https, the explanation when the pages are
not configured, and the buttons under /rank and /project."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bot.clock import FrozenClock
from tests.e2e.harness import TelegramHarness, e2e_settings, running, sample_core
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import WeComHarness, wecom_settings

PUBLIC = "https://dd.example.gov.cn"


def buttons(replies) -> list[dict]:  # type: ignore[no-untyped-def]
    return [b for call in replies.messages for row in (call.params.get("reply_markup") or {}).get(
        "inline_keyboard", []) for b in row]


async def test_web_in_telegram(fake_api: FakeBotAPI, frozen_clock: FrozenClock, ledger_template: Path) -> None:
    settings = e2e_settings(fake_api, WEB_PUBLIC_URL=PUBLIC)
    async with sample_core(settings, frozen_clock, ledger_template) as core:
        async with running(TelegramHarness(fake_api, core, settings)) as tg:
            await tg.bind(1001, "郝芳")
            replies = await tg.send(1001, "/web")
            assert "10 分钟内有效" in replies and "/web/login" not in replies.text  # not in the text
            link, mini_app = buttons(replies)
            assert urlsplit(link["url"]).path == "/web/login" and link["url"].startswith(PUBLIC)
            assert mini_app["web_app"]["url"] == f"{PUBLIC}/web/tg?next=/web/"
            again = buttons(await tg.send(1001, "/web"))[0]["url"]
            assert again != link["url"]  # a new link each time
            project = await tg.send(1001, "/project ZD2026-001")
            assert "在驾驶舱中查看" in project.buttons
            pressed = await tg.press(1001, "在驾驶舱中查看")
            assert urlsplit(buttons(pressed)[1]["web_app"]["url"]).query == "next=/web/project/ZD2026-001"
            assert "在驾驶舱中查看" in (await tg.send(1001, "/rank")).buttons
        tg.assert_nothing_failed()


async def test_web_without_a_public_address(fake_api: FakeBotAPI, frozen_clock: FrozenClock,
                                            ledger_template: Path) -> None:
    settings = e2e_settings(fake_api)
    async with sample_core(settings, frozen_clock, ledger_template) as core:
        async with running(TelegramHarness(fake_api, core, settings)) as tg:
            await tg.bind(1001, "郝芳")
            replies = await tg.send(1001, "/web")
            assert "WEB_PUBLIC_URL" in replies and "请联系项目办" in replies
            assert "在驾驶舱中查看" not in (await tg.send(1001, "/project ZD2026-001")).buttons
        tg.assert_nothing_failed()


async def test_web_in_wecom(frozen_clock: FrozenClock, ledger_template: Path) -> None:
    async with FakeWeCom() as fake:
        settings = wecom_settings(fake, WEB_PUBLIC_URL=PUBLIC)
        async with sample_core(settings, frozen_clock, ledger_template) as core:
            async with running(WeComHarness(fake, core, settings)) as wecom:
                await wecom.bind("HaoFang", "郝芳")
                replies = await wecom.send("HaoFang", "/web")
                sent = str(fake.sent_to("HaoFang")[-1])
                assert f"[打开驾驶舱]({PUBLIC}/web/login?t=" in sent, replies  # a markdown link WeCom shows
