"""The Telegram Bot API down during the 18:00 reminders: `diaodu run` (serve(), polling the fake Bot API, WeCom for
the admins) meets 502s and timeouts on every call while the 18:00 reminder run queues its notices. Meanwhile
`/readyz` says Telegram cannot be reached and the admins hear it once on WeCom; no reminder is failed for it. Once
the Bot API answers again every reminder and alert goes out, each once, and the admins hear once that it works.

By default the outage is short and the watch quick (an outage told after half a second, as the other watch tests
do); ``OUTAGE_SECONDS=600 OUTAGE_REAL_WATCH=1`` runs a ten-minute outage on the timings of the service (told after
two minutes, looks every 30 s), with the outbox's real retries: what a 502 for ten minutes does to a notice's
tries, which run out after about four minutes of failures unless the channel is held first."""

from __future__ import annotations

import asyncio
import os
import time as monotonic_clock
from collections import Counter
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.clock import local_day
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.render import Renderer
from jobs import reminders
from storage.audit import Actor
from storage.db import Database
from storage.models import OutboxMessage
from storage.reports import add_report
from storage.settings import set_setting
from tests.e2e.test_telegram_late import unfrozen_heap  # noqa: F401 - a fixture
from tests.e2e.test_telegram_watch import ADMIN_WECOM, _ok, polling, quick_watch, ready, served, told  # noqa: F401
from tests.fakes.bot_api import FakeBotAPI, Fault
from tests.jobs.test_escalation_job import build_district, nov
from tests.polling import until

OUTAGE = float(os.environ.get("OUTAGE_SECONDS", "10"))
REAL_WATCH = bool(os.environ.get("OUTAGE_REAL_WATCH"))
METHODS = ("getUpdates", "sendMessage", "getMe", "getWebhookInfo")
LIAISON, HANDLER, LEAD = 1001, 3003, 4001


@pytest.fixture
def watch(request: pytest.FixtureRequest) -> None:
    if not REAL_WATCH:
        request.getfixturevalue("quick_watch")


def outage(fake: FakeBotAPI) -> None:
    """Every call answered 502, or after 6 s (past the client's 5 s read timeout) with a 502."""
    for method in METHODS:
        fake.inject_faults(method, [Fault(status=502, rate=0.7), Fault(status=502, delay=6.0, rate=0.3)])


def delivered(fake: FakeBotAPI) -> Counter[tuple[int, str]]:
    """The reminders and alerts that reached their chats: (chat, first line) of each sendMessage answered ok (not
    what else a run of ten minutes may send, the week's bulletin for the district's officials)."""
    firsts = ((int(call["chat_id"]), str(call["text"]).splitlines()[0])
              for call in fake.calls_of("sendMessage", ok=True))
    return Counter((chat, first) for chat, first in firsts if "未填报进度" in first)  # 再次提醒, 连续未填报


async def rows(url: str) -> list[OutboxMessage]:
    db = Database(url)
    try:
        async with db.session() as session:
            query = select(OutboxMessage).where(OutboxMessage.channel == "telegram").order_by(OutboxMessage.id)
            return list((await session.scalars(query)).all())
    finally:
        await db.dispose()


async def test_reminders_queued_while_the_bot_api_is_down_go_out_once_after(
        fake_api: FakeBotAPI, tmp_path: Path, unfrozen_heap: None, watch: None) -> None:  # noqa: F811
    async with served(fake_api, tmp_path) as bot:
        wecom, port = bot.wecom, bot.port
        url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"  # tests.e2e.test_telegram_late.both_channels'
        before = await polling(fake_api, wecom, port)
        db = Database(url)
        try:
            district = await build_district(db, nov(16, 8), bound=True)
            # The real day is reported and its bulletins off: what `diaodu run`'s own jobs would send on the real
            # day (its 18:00 reminder, the week's bulletin) is nothing this test waits for.
            async with db.session() as session:
                now = datetime.now(UTC)
                quiet = DigestSettings(weekly_enabled=False, monthly_enabled=False)
                await set_setting(session, key=DIGEST_KEY, value=quiet.to_json(), now=now, by="test")
                await add_report(session, project_id=district.project, person_id=district.liaison,
                                 local_day=local_day(now), amount=Decimal(1), progress_text="施工", photos=[],
                                 channel="telegram", now=now, actor=Actor(label="郝芳", channel="telegram"),
                                 project_code="ZD2026-001")
            outage(fake_api)
            began = monotonic_clock.monotonic()
            result = await reminders.run(db, nov(18, 18, 0), Renderer(), slot=time(18, 0))
            async with db.session() as session:  # queued now, as the run at the real 18:00 queues them
                await session.execute(update(OutboxMessage).where(OutboxMessage.channel == "telegram")
                                      .values(created_at=datetime.now(UTC)))
        finally:
            await db.dispose()
        assert result.reminded == ["郝芳"] and result.alerts == ["ZD2026-001"]
        queued = await rows(url)
        assert sorted(int(r.chat_id or 0) for r in queued) == [LIAISON, HANDLER, LEAD]

        await until(lambda: len(told(wecom)) == before + 1, "the admins told on WeCom", 60 + 2 * OUTAGE)
        assert "连不上 Telegram 服务器" in told(wecom)[-1]
        status, report = await ready(port)
        assert status == 503 and report["channel_faults"]["telegram"]["reason"] == "unreachable"  # type: ignore[index]
        await asyncio.sleep(max(0.0, OUTAGE - (monotonic_clock.monotonic() - began)))
        assert (await ready(port))[0] == 503  # said all along
        held = await rows(url)
        # held, or a send still waiting for its answer (a timeout): none failed for the outage
        assert {r.state for r in held} <= {"pending", "sending"}, [(r.state, r.attempts, r.last_error) for r in held]
        assert delivered(fake_api) == Counter()
        tries = max(r.attempts for r in held)

        fake_api.clear_faults()
        await until(lambda: len(delivered(fake_api)) == 3, lambda: f"the reminders delivered: {delivered(fake_api)}",
                    60 + OUTAGE)
        await until(lambda: len(told(wecom)) == before + 2, "the admins told it works again", 120)
        await until(lambda: _ok(port), "/readyz 200", 60)
        await asyncio.sleep(1.0)
        sent = delivered(fake_api)
        assert sorted(chat for chat, _line in sent) == [LIAISON, HANDLER, LEAD] and set(sent.values()) == {1}
        assert {r.state for r in await rows(url) if r.id in {q.id for q in queued}} == {"sent"}
        assert len(told(wecom)) == before + 2
        print(f"\noutage {OUTAGE:.0f} s: at most {tries} tries of a reminder counted before the channel was held "
              f"(of 8); all delivered {monotonic_clock.monotonic() - began:.0f} s after the outage began")
