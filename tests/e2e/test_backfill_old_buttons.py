"""Buttons of an older 补报 message, pressed after the 项目办 went on: its 确认补报, after another 补报 was begun
(another day, another amount), does not store the newer one in its place (the button names the draft it showed,
and says it is out of date); its 取消, after a correction was begun, cancels only the 补报, which is over already:
the correction under way keeps waiting for its confirmation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.config import Settings
from storage.models import Report
from tests.e2e.harness import Replies, TelegramHarness
from tests.e2e.test_backfill import ADMIN_NAME, CODE
from tests.e2e.test_digests import PEOPLE, WU, Office
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401  (fixtures)


async def press_on(tg: TelegramHarness, user: int, message_id: int, label: str) -> Replies:
    """Press the button ``label`` of message ``message_id`` (an older message whose keyboard is still shown)."""
    keyboard = tg.fake.messages[(user, message_id)]["reply_markup"]["inline_keyboard"]
    data = next(button["callback_data"] for row in keyboard for button in row if button["text"] == label)
    mark = len(tg.fake.calls)
    update = tg.fake.enqueue_callback(user, data=data, message_id=message_id)
    await tg.wait_processed(update["update_id"])
    return Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": user})])


async def office_at_work(tg: TelegramHarness, config: Settings) -> Office:
    """The district set up, a liaison's report of 21 December, the 项目办's admin bound."""
    office = Office(tg, config)
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2026, 12, 21), 9, 30))
    await office.report(WU, CODE, "100", "清表完成")
    return office


async def backfills(tg: TelegramHarness) -> list[tuple[date, object]]:
    async with tg.session() as session:
        return [tuple(row) for row in (await session.execute(select(Report.local_day, Report.amount).where(
            Report.backfill.is_(True), Report.withdrawn_at.is_(None)))).all()]


async def test_an_older_confirm_does_not_store_the_newer_backfill(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    tg = december
    office = await office_at_work(tg, settings)
    office.travel(at(date(2026, 12, 24), 10))
    first = await tg.send(ADMIN, f"/correct {CODE} 12-22 100 清表 理由：漏报")
    assert "2026-12-22 补报" in first.text and "确认补报" in first.buttons, first
    second = await tg.send(ADMIN, f"/correct {CODE} 12-23 900 桩基 理由：漏报")
    assert "2026-12-23 补报" in second.text, second
    pressed = await press_on(tg, ADMIN, first.messages[-1].result["message_id"], "确认补报")
    assert "按钮已失效" in pressed.text, pressed  # the first draft is no longer the one waiting
    assert await backfills(tg) == []
    done = await tg.press(ADMIN, "确认补报")  # the second message's button stores the second draft
    assert "补报" in done.text, done
    assert [day for day, _amount in await backfills(tg)] == [date(2026, 12, 23)]


async def test_an_old_backfill_cancel_leaves_the_correction_under_way(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    tg = december
    office = await office_at_work(tg, settings)
    office.travel(at(date(2026, 12, 23), 10))
    asked = await tg.send(ADMIN, f"/correct {CODE} 12-22")
    assert "区项目办可以补报" in asked.text, asked  # 补报 asks the amount
    correction = await tg.send(ADMIN, f"/correct {CODE} 12-21 120 理由：金额有误")  # a correction, in its place
    assert "确认更正" in correction.buttons, correction
    await press_on(tg, ADMIN, asked.messages[-1].result["message_id"], "取消")  # the 补报's 取消, on the older message
    done = await tg.send(ADMIN, "确认更正")  # the correction still waits for its confirmation
    assert "已更正" in done.text, done
