"""A problem at the top level (区委书记/领导小组) whose promised day falls on its deadline, end to end on Telegram:
every notice each person on it receives is checked, none doubled, with the escalation tick run several times a
day.

W0001 (审批手续) raised Monday 16 November 08:30 is taken up by nobody: 刘文华 on Tuesday 17 at 17:30, 区长 王立军
on Tuesday 24, 区委书记 李明德 on Tuesday 1 December (deadline Tuesday 8). 赵芳 then answers with a day after it
and asks for an extension, which 李明德 approves: the deadline and the promised day are both Thursday 10. The
working day before, 李明德 is reminded of the deadline and 赵芳 of the promise, once each; at its end everyone on
the problem is told once that it is overdue (the deadline's notice speaks for the promise), and nothing more
after. Calendar: November and December 2026, no holidays.
"""

from __future__ import annotations

from datetime import datetime

from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problem_life import at
from tests.e2e.test_problems import HAO, LI, LIU, RAISE, WANG, ZHAO, Desk, Inbox, bind_everyone, nov

DAY = ((0, 5), (9, 0), (12, 0), (17, 30), (18, 0))  # a day's ticks: past midnight, morning, noon, end of day
EVERYONE = {HAO, ZHAO, LIU, WANG, LI}


def dec(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return at(2026, 12, day, hour, minute)


async def raised_and_taken_to_the_top(telegram: TelegramHarness) -> tuple[Desk, Inbox]:
    """Everyone bound, W0001 raised on Monday 16 November 08:30 and escalated, untouched, to 区委书记 on Tuesday 1
    December; the desk, and what that last step delivered."""
    desk = await bind_everyone(telegram)
    desk.travel(nov(16, 8, 30))
    assert "W0001" in (await desk.tg.send(HAO, RAISE)).text
    await desk.deliver()
    for moment, level in ((nov(17, 17, 30), 1), (nov(24, 17, 30), 2), (dec(1, 17, 30), 3)):
        desk.travel(moment)
        assert f"W0001:escalate:{level}" in (await desk.tick()).actions
    return desk, await desk.deliver()


async def test_a_promise_on_the_top_levels_deadline_is_reported_overdue_once(telegram: TelegramHarness) -> None:
    desk, inbox = await raised_and_taken_to_the_top(telegram)
    tg = desk.tg
    assert "办结时限：2026-12-08 17:30" in inbox.text(LI), inbox

    desk.travel(dec(2, 10, 0))
    asked = await tg.send(ZHAO, "/answer W0001 12月10日 需省厅批复")
    assert "延期申请" in asked.text, asked
    inbox = await desk.deliver()
    assert inbox.labels(LI)[-1] == [["同意延期", "不同意"]], inbox  # the top level decides its own
    assert "办结时限延至 2026-12-10 17:30" in (await tg.press(LI, "同意延期")).text
    await desk.deliver()
    assert (await desk.problem()).promised_date.isoformat() == "2026-12-10"

    got: dict[int, list[str]] = {}
    moments = [dec(day, hour, minute) for day in (2, 3, 4, 7, 8, 9, 10, 11, 14) for hour, minute in DAY]
    for moment in (m for m in moments if m > tg.clock.now()):
        desk.travel(moment)
        await desk.tick()
        inbox: Inbox = await desk.deliver()
        for chat in inbox.chats:
            got.setdefault(chat, []).extend(f"{moment:%d %H:%M} {text}" for text in inbox.texts(chat))

    reminders = {chat: [text for text in texts if "⏰" in text] for chat, texts in got.items()}
    assert set(reminders) == EVERYONE, got
    assert [len(reminders[chat]) for chat in (LI, ZHAO, HAO, LIU, WANG)] == [1, 1, 0, 0, 0], got
    assert reminders[LI][0].startswith("09 09:00 ⏰ <b>临期提醒</b>：W0001 的办结时限为 2026-12-10 17:30"), got
    assert reminders[ZHAO][0].startswith("09 09:00 ⏰ <b>承诺日期提醒</b>：W0001 承诺于 2026-12-10 完成"), got
    overdue = {chat: [text for text in texts if "🚨" in text] for chat, texts in got.items()}
    assert set(overdue) == EVERYONE, got
    for chat in EVERYONE:
        assert len(overdue[chat]) == 1 and overdue[chat][0].startswith("10 17:30"), (chat, got)
        assert "🚨 <b>问题已超期</b>：W0001 已超过办结时限（2026-12-10 17:30）" in overdue[chat][0], (chat, got)
        assert "有 2 件事" not in overdue[chat][0] and "未按期办结" not in overdue[chat][0], (chat, got)
    assert sum(len(texts) for texts in got.values()) == 2 + len(EVERYONE), got
