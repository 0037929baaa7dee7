"""A 补报's 取消 pressed on an old message, after the 项目办 went on to another guided flow (a correction), cancels
only the 补报, which is over already: the correction under way keeps waiting for its next step."""

from __future__ import annotations

from datetime import date

from bot.config import Settings
from tests.e2e.harness import Replies, TelegramHarness
from tests.e2e.test_backfill import ADMIN_NAME, CODE
from tests.e2e.test_digests import PEOPLE, WU, Office
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401  (fixtures)


async def press_old(tg: TelegramHarness, user: int, data: str) -> Replies:
    """Press the button ``data`` on the newest message that showed it (an old message, its keyboard still there)."""
    message_id, _ = tg.fake.find_button(user, data=data)
    mark = len(tg.fake.calls)
    update = tg.fake.enqueue_callback(user, data=data, message_id=message_id)
    await tg.wait_processed(update["update_id"])
    return Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": user})])


async def test_an_old_backfill_cancel_leaves_the_correction_under_way(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2026, 12, 21), 9, 30))
    await office.report(WU, CODE, "100", "清表完成")
    office.travel(at(date(2026, 12, 23), 10))
    assert "区项目办可以补报" in await tg.send(ADMIN, f"/correct {CODE} 12-22")  # 补报 asks the amount
    asked = await tg.send(ADMIN, f"/correct {CODE} 12-21 120 理由：金额有误")  # a correction, in its place
    assert "确认更正" in asked.buttons, asked
    await press_old(tg, ADMIN, "bf:cancel")  # the 补报's 取消, on the older message
    done = await tg.send(ADMIN, "确认更正")  # the correction still waits for its confirmation
    assert "已更正" in done.text, done
