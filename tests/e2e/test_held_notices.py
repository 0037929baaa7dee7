"""Notices for people not yet bound wait for them, end to end on Telegram (WeCom: tests/wecom/test_held_notices.py).

郝芳 (liaison of ZD2026-001) has no chat account while the 16:00 and 18:00 reminders run for a week: her
reminders are held, not failed. The admin's /outbox shows one line for her with an invite button, not a
failure per notice. When she binds, the recent reminders reach her (each saying how old it is), and the
old ones come as one summary with their ages.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.channels.base import RateLimits
from bot.channels.telegram_transport import TelegramTransport
from bot.services.outbox import OutboxSender
from jobs import reminders
from storage import outbox, outbox_views, people
from storage.models import OutboxMessage
from tests.e2e.harness import TelegramHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
HAO, ADMIN = 1001, 9001
ADMIN_NAME = "管理员(区重大项目办)"
# Working days from the ledger's entry (Friday 2026-11-20) to the Friday after.
WORKING_DAYS = [date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25),
                date(2026, 11, 26), date(2026, 11, 27)]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def remind(core, clock, days: list[date]) -> None:  # type: ignore[no-untyped-def]
    for day in days:
        for slot in (time(16, 0), time(18, 0)):
            clock.set(at(day, slot.hour))
            await reminders.run(core.db, clock.now(), core.deps.renderer, slot=slot)


async def held_count(core, person_name: str) -> int:  # type: ignore[no-untyped-def]
    async with core.db.session() as session:
        held, _total = await outbox_views.held_people(session)
        [person] = await people.find_people_by_name(session, name=person_name)
        return next((h.count for h in held if h.person_id == person.id), 0)


async def test_a_week_of_reminders_waits_for_her_and_reaches_her_when_she_binds(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    await remind(tg.core, tg.clock, WORKING_DAYS)
    assert await held_count(tg.core, "郝芳") == 12  # two reminders a working day, all kept for her

    shown = await tg.send(ADMIN, "/outbox")
    assert "郝芳 未绑定，12 条通知待送达" in shown.text and "未绑定聊天账号" not in shown.text
    assert "邀请 郝芳" in shown.buttons
    invite = await tg.press(ADMIN, "邀请 郝芳")
    assert "已为 <b>郝芳</b>" in invite.text and "/start " in invite.text

    tg.clock.set(at(date(2026, 11, 27), 19, 0))
    mark = len(tg.fake.calls)
    await tg.bind(HAO, "郝芳")
    sender = OutboxSender(tg.core.db, tg.clock, {"telegram": TelegramTransport(tg.application.bot)},
                          limits={"telegram": FAST})
    await sender.drain(10)
    got = [c["text"] for c in tg.fake.calls[mark:] if c.method == "sendMessage" and c.ok
           and str(c["chat_id"]) == str(HAO)]
    held = [t for t in got if "您绑定账号前暂存" in t]
    summary = [t for t in got if "绑定前的较早通知" in t]
    # The 5 newest of the last 3 days in full, each with its age; the 7 older ones in one summary.
    assert len(held) == 5 and len(summary) == 1, got
    assert "这是 1 小时前的通知" in held[-1] and "这是 2 天前的通知" in held[0]
    assert all("填报提醒" in t or "再次提醒" in t for t in held)
    assert "还有 7 条通知" in summary[0] and "7 天前：" in summary[0] and "较近的 5 条已单独补发" in summary[0]
    assert await held_count(tg.core, "郝芳") == 0
    async with tg.session() as session:
        states = dict((await session.execute(
            select(OutboxMessage.state, func.count()).where(OutboxMessage.person_id.is_not(None))
            .group_by(OutboxMessage.state))).all())
    assert states.get(outbox.SUMMARISED) == 7
    assert "郝芳 未绑定" not in (await tg.send(ADMIN, "/outbox")).text
