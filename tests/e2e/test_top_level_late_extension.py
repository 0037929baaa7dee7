"""A top-level extension approved after the deadline was reported overdue, end to end on Telegram: the approval
clears the overdue mark exactly as one before the deadline would, and the new deadline is watched.

W0001 (审批手续) raised Monday 16 November 08:30 is taken up by nobody and reaches 区委书记 李明德 on Tuesday 1
December (deadline Tuesday 8, 17:30). 赵芳 answers on Monday 7 with Friday 11 and asks for an extension; nobody
decides it before the deadline, so at 17:30 on the 8th everyone on the problem is told it is overdue. 李明德
approves on Wednesday 9: from then on the problem is not overdue (the web's ⚠️, the bulletins' 超期 count) until
Friday 11 17:30; the working day before, 李明德 is reminded of the new deadline and 赵芳 of the promise, and at
its end everyone is told once more that it is overdue. Calendar: November and December 2026, no holidays.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.period_problems import ProblemsAt
from bot.web import access
from storage.problem_history import period_problems
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import HAO, LI, LIU, WANG, ZHAO, Desk
from tests.e2e.test_top_level_promise import DAY, EVERYONE, dec, raised_and_taken_to_the_top


async def _then(desk: Desk, end: datetime) -> ProblemsAt:
    async with desk.tg.session() as session:
        return await period_problems(session, since=end - timedelta(days=7), end=end)


async def _overdue_at(desk: Desk, end: datetime) -> tuple[bool, bool]:
    """Whether W0001 is overdue at ``end`` as the web (⚠️) and the period figures (超期) read it."""
    [then] = (await _then(desk, end)).counted(since=end - timedelta(days=7))
    return access.overdue(await desk.problem(), end), then.overdue(end)


async def _ticks(desk: Desk, days: tuple[int, ...]) -> dict[int, list[str]]:
    got: dict[int, list[str]] = {}
    for moment in (dec(day, hour, minute) for day in days for hour, minute in DAY):
        if moment <= desk.tg.clock.now():
            continue
        desk.travel(moment)
        await desk.tick()
        inbox = await desk.deliver()
        for chat in inbox.chats:
            got.setdefault(chat, []).extend(f"{moment:%d %H:%M} {text}" for text in inbox.texts(chat))
    return got


async def test_an_extension_approved_after_the_overdue_notice_clears_it(telegram: TelegramHarness) -> None:
    desk, _ = await raised_and_taken_to_the_top(telegram)
    tg = desk.tg

    desk.travel(dec(7, 10, 0))
    assert "延期申请" in (await tg.send(ZHAO, "/answer W0001 12月11日 需省厅批复")).text
    await desk.deliver()
    got = await _ticks(desk, (7, 8))
    assert all(any("🚨" in text and text.startswith("08 17:30") for text in got[chat]) for chat in EVERYONE), got
    assert await _overdue_at(desk, dec(9, 9, 0)) == (True, True)

    desk.travel(dec(9, 10, 0))
    assert "办结时限延至 2026-12-11 17:30" in (await tg.press(LI, "同意延期")).text
    await desk.deliver()
    for moment in (dec(9, 10, 5), dec(10, 12, 0), dec(11, 17, 29)):
        assert await _overdue_at(desk, moment) == (False, False), moment
    assert await _overdue_at(desk, dec(11, 17, 31)) == (True, True)

    got = await _ticks(desk, (9, 10, 11, 14))
    reminders = {chat: [text for text in texts if "⏰" in text] for chat, texts in got.items()}
    assert [len(reminders.get(chat, [])) for chat in (LI, ZHAO, HAO, LIU, WANG)] == [1, 1, 0, 0, 0], got
    assert reminders[LI][0].startswith("10 09:00 ⏰ <b>临期提醒</b>：W0001 的办结时限为 2026-12-11 17:30"), got
    assert reminders[ZHAO][0].startswith("10 09:00 ⏰ <b>承诺日期提醒</b>：W0001 承诺于 2026-12-11 完成"), got
    overdue = {chat: [text for text in texts if "🚨" in text] for chat, texts in got.items()}
    for chat in EVERYONE:
        assert len(overdue.get(chat, [])) == 1 and overdue[chat][0].startswith("11 17:30"), (chat, got)
        assert "🚨 <b>问题已超期</b>：W0001 已超过办结时限（2026-12-11 17:30）" in overdue[chat][0], (chat, got)
