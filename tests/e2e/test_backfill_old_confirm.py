"""确认补报 pressed on an older 补报 message, after the 项目办 began another 补报 (another day, another amount),
does not store the newer one in its place: the button confirms what its message showed, or says it is out of date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from bot.config import Settings
from storage.models import Report
from tests.e2e.harness import Replies, TelegramHarness
from tests.e2e.test_backfill import ADMIN_NAME, CODE
from tests.e2e.test_digests import PEOPLE, WU, Office
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401  (fixtures)


async def press_on(tg: TelegramHarness, user: int, message_id: int, data: str) -> Replies:
    """Press the button ``data`` on message ``message_id`` (an older message whose keyboard is still shown)."""
    mark = len(tg.fake.calls)
    update = tg.fake.enqueue_callback(user, data=data, message_id=message_id)
    await tg.wait_processed(update["update_id"])
    return Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": user})])


async def test_an_older_confirm_does_not_store_the_newer_backfill(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2026, 12, 21), 9, 30))
    await office.report(WU, CODE, "100", "清表完成")
    office.travel(at(date(2026, 12, 24), 10))
    first = await tg.send(ADMIN, f"/correct {CODE} 12-22 100 清表 理由：漏报")
    assert "2026-12-22 补报" in first.text and "确认补报" in first.buttons, first
    first_id = first.messages[-1].result["message_id"]
    second = await tg.send(ADMIN, f"/correct {CODE} 12-23 900 桩基 理由：漏报")
    assert "2026-12-23 补报" in second.text, second
    await press_on(tg, ADMIN, first_id, "bf:ok")  # the first message's 确认补报: 12-22, 100 万元
    async with tg.session() as session:
        stored = (await session.execute(select(Report.local_day, Report.amount).where(
            Report.backfill.is_(True), Report.withdrawn_at.is_(None)))).all()
    assert all((day, amount) == (date(2026, 12, 22), Decimal(100)) for day, amount in stored), stored
