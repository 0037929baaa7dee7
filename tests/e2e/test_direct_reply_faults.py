"""Direct replies over a faulty Bot API: the real channel and PTB against the fake answering 429 and 500 on a
share of its sendMessage calls. Every confirmation arrives, directly after bounded retries or through the
outbox, and none twice.
"""

from __future__ import annotations

import pytest

from bot.channels.telegram_transport import TelegramTransport
from bot.services.direct_replies import DirectReplies
from bot.services.outbox import OutboxSender
from tests.e2e.harness import TelegramHarness
from tests.fakes.bot_api import FakeBotAPI, Fault

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
HAO = 1001
REPORTS = 100
CONFIRMED = "已记录填报"


class RecordedSleep:
    """Stands in for asyncio.sleep: records each wait instead of spending it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def hao(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳", "liaison")
    return telegram


def confirmations(fake: FakeBotAPI) -> list[str]:
    return [c["text"] for c in fake.calls_of("sendMessage", ok=True)
            if c.get("chat_id") == HAO and CONFIRMED in c["text"]]


async def report_many(hao: TelegramHarness, sleep: RecordedSleep, *, budget: float = 15.0) -> DirectReplies:
    direct = hao.channel.direct = DirectReplies(hao.core.db, hao.clock, sleep=sleep, budget=budget)
    for n in range(REPORTS):
        hao.clock.advance(days=1)
        await hao.send(HAO, f"/report ZD2026-001 {n + 1}万 第{n + 1}次填报")
    return direct


async def drain_outbox(hao: TelegramHarness) -> None:
    sender = OutboxSender(hao.core.db, hao.clock, {"telegram": TelegramTransport(hao.application.bot)})
    await sender.drain(30)


async def test_no_confirmation_is_lost_under_429s_and_500s(hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    fake_api.inject_faults("sendMessage", [Fault(status=429, rate=0.2, retry_after=3), Fault(status=500, rate=0.1)])
    sleep = RecordedSleep()
    direct = await report_many(hao, sleep)
    refused = [c for c in fake_api.calls_of("sendMessage") if c.get("chat_id") == HAO and not c.ok]
    assert len(refused) >= 15  # the faults did happen: about 30 % of the first tries
    assert 3 in sleep.waits  # flood control's retry_after is honoured
    assert all(wait <= 15 for wait in sleep.waits)
    direct_count = len(confirmations(fake_api))

    fake_api.clear_faults()
    await drain_outbox(hao)

    texts = confirmations(fake_api)
    assert len(texts) == REPORTS and len(set(texts)) == REPORTS  # every one, none twice
    assert direct_count + direct.stats.to_outbox == REPORTS
    hao.assert_nothing_failed()
    print(f"\n{REPORTS} reports, {len(refused)} refused sends: {direct_count} confirmed directly "
          f"({direct.stats.retried} retries), {direct.stats.to_outbox} through the outbox, 0 lost, 0 twice")


async def test_what_still_fails_goes_to_the_outbox_in_order(hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    fake_api.inject_fault("sendMessage", status=500, rate=1.0)
    sleep = RecordedSleep()
    direct = hao.channel.direct = DirectReplies(hao.core.db, hao.clock, sleep=sleep)
    await hao.send(HAO, "/report ZD2026-001 850万 桩基完成")
    assert confirmations(fake_api) == []
    assert sleep.waits == [0.5, 1.0, 2.0]  # four tries, then the outbox
    assert direct.stats.to_outbox == 1

    fake_api.clear_faults()
    await drain_outbox(hao)
    [text] = confirmations(fake_api)
    assert "850" in text


async def test_a_long_flood_control_goes_to_the_outbox_at_once(hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    fake_api.inject_fault("sendMessage", status=429, rate=1.0, retry_after=60)
    sleep = RecordedSleep()
    direct = hao.channel.direct = DirectReplies(hao.core.db, hao.clock, sleep=sleep)
    await hao.send(HAO, "/report ZD2026-001 850万 桩基完成")
    assert sleep.waits == [] and direct.stats.to_outbox == 1
