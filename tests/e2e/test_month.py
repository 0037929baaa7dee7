"""A month in the life of the district, through the real PTB Application and the fake Bot API: how many
messages does each person get a day, and never more than one per tick?

From Monday 2026-11-30 to Thursday 2026-12-31 the clock travels through every working day: the escalation
tick runs every half hour from 08:30 to 18:30, the reminders at 16:00 and 18:00, and the outbox is
delivered after each. 武杰 reports every working day, 郝芳 on Mondays, Wednesdays and Fridays, 李海涛
never, nor do the liaisons who are not bound (their projects are in 连续未填报 streaks that their lead
officials hear about). On Tuesday 12-01 郝芳 raises three problems on ZD2026-001 that go up together
(刘文华, then 区长, then 区委书记), one of which 赵芳 takes up and solves; 李海涛 raises one on ZD2026-003
whose unit handler is not bound.

The bounds asserted (notices only: replies to what a person sent are not counted):
- every person gets at most one message per tick (an escalation tick, a reminder run);
- a leader (包抓领导, 区长, 区委书记) gets at most 3 notices a day; anybody at most 4;
- several problems or projects concerning one person in one tick come as one list, with a button each.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.channels.base import RateLimits
from bot.channels.telegram_transport import TelegramTransport
from bot.services.outbox import OutboxSender
from jobs import escalation, reminders
from storage import outbox
from storage import problems as problem_repo
from storage.models import OutboxMessage
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import bind_directly
from tests.fakes.bot_api import Call

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
HAO, WU, LI_HT = 1001, 1002, 1003  # liaisons of ZD2026-001, -002, -003
ZHAO = 3003  # 赵芳, unit handler of 区住建局 (lead unit of ZD2026-001)
LIU, ZHOU, SUN = 4001, 4002, 4003  # 刘文华 (ZD2026-001 …), 周海燕 (ZD2026-002 …), 孙立新 (ZD2026-003 …)
WANG, LI = 5001, 5002  # 区长, 区委书记
PEOPLE = [(HAO, "郝芳"), (WU, "武杰"), (LI_HT, "李海涛"), (ZHAO, "赵芳"), (LIU, "刘文华"), (ZHOU, "周海燕"),
          (SUN, "孙立新"), (WANG, "王立军"), (LI, "李明德")]
LEADERS = {LIU, ZHOU, SUN, WANG, LI}
FIRST, LAST = date(2026, 11, 30), date(2026, 12, 31)
TICKS = [time(8 + (30 + 30 * n) // 60, (30 + 30 * n) % 60) for n in range(21)]  # 08:30, 09:00 … 18:30
LEADER_PER_DAY, ANYONE_PER_DAY = 3, 4


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


class Month:
    """The clock, the jobs and delivery; every notice delivered is recorded with its day and its cause."""

    def __init__(self, tg: TelegramHarness) -> None:
        self.tg = tg
        self.transport = TelegramTransport(tg.application.bot)
        self.got: list[tuple[date, str, Call]] = []  # (day, cause, call)

    async def deliver(self, day: date, cause: str) -> list[Call]:
        mark = len(self.tg.fake.calls)
        sender = OutboxSender(self.tg.core.db, self.tg.clock, {"telegram": self.transport},
                              limits={"telegram": FAST})
        await sender.drain(10)
        calls = [c for c in self.tg.fake.calls[mark:] if c.method == "sendMessage"]
        assert all(c.ok for c in calls), [(c["chat_id"], c.error) for c in calls if not c.ok]
        self.got += [(day, cause, c) for c in calls]
        return calls

    async def act(self, day: date, moment: time, user: int, text: str, expect: str) -> None:
        self.tg.clock.set(at(day, moment))
        replies = await self.tg.send(user, text)
        assert expect in replies, (text, replies)
        await self.deliver(day, f"event {text}")


async def test_a_month_of_notices_stays_within_bounds(telegram: TelegramHarness) -> None:
    tg = telegram
    tg.clock.set(at(FIRST, time(8, 0)))
    for user, name in PEOPLE:
        await bind_directly(tg, user, name)
    month = Month(tg)
    escalated: list[tuple[date, str]] = []

    day = FIRST
    while day <= LAST:
        weekday = day.weekday() < 5
        events = {
            time(9, 30): [(WU, "/report ZD2026-002 100 清表完成", "已记录")] if weekday else [],
            time(10, 0): ([(HAO, "/report ZD2026-001 500 路基施工", "已记录")]
                          if day.weekday() in (0, 2, 4) else []),
        }
        if day == date(2026, 12, 1):
            events[time(10, 30)] = [(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批", "W0001"),
                                    (HAO, "/issue ZD2026-001 水电路气 施工用电未接入", "W0002"),
                                    (HAO, "/issue ZD2026-001 资金 配套资金未到位", "W0003"),
                                    (LI_HT, "/issue ZD2026-003 审批手续 规划许可未批", "W0004")]
        if day == date(2026, 12, 2):
            events[time(10, 30)] = [(ZHAO, "/accept W0002", "已受理")]
        if day == date(2026, 12, 4):
            events[time(11, 0)] = [(LIU, "/comment W0001 请住建局本周内办结", "批示")]
        if day == date(2026, 12, 8):
            events[time(11, 0)] = [(ZHAO, "/resolved W0002 已接通临时用电", "已报告解决")]
            events[time(11, 30)] = [(HAO, "/confirm W0002", "销号")]
        for moment in TICKS if weekday else (time(9, 0), time(18, 0)):
            for user, text, expect in events.get(moment, []):
                await month.act(day, moment, user, text, expect)
            tg.clock.set(at(day, moment))
            result = await escalation.run(tg.core.db, tg.clock, tg.core.deps.renderer)
            escalated += [(day, a) for a in result.actions if ":escalate:" in a]
            if result.actions:
                assert await month.deliver(day, f"escalation {moment:%H:%M}")
                assert (await escalation.run(tg.core.db, tg.clock, tg.core.deps.renderer)).actions == []
                assert await month.deliver(day, "repeat") == []  # a repeated tick sends nothing
            if moment in (time(16, 0), time(18, 0)):
                await reminders.run(tg.core.db, tg.clock.now(), tg.core.deps.renderer, slot=moment)
                if await month.deliver(day, f"reminders {moment:%H:%M}"):
                    await reminders.run(tg.core.db, tg.clock.now(), tg.core.deps.renderer, slot=moment)
                    assert await month.deliver(day, "repeat") == []
        day += timedelta(days=1)

    # --- the story happened ------------------------------------------------------------------------
    async with tg.session() as session:
        levels = {n: (await problem_repo.get_problem(session, problem_id=n)) for n in (1, 2, 3, 4)}
    assert levels[1] is not None and levels[1].level == 3  # 区委书记/领导小组
    assert levels[2] is not None and levels[2].status == "closed"
    ups = Counter(a.split(":", 1)[1] for _d, a in escalated)
    assert ups["escalate:1"] == 3 and ups["escalate:2"] == 3 and ups["escalate:3"] == 3  # W0001/3/4

    # --- the bounds --------------------------------------------------------------------------------
    per_tick: Counter[tuple[date, str, int]] = Counter()
    per_day: dict[int, Counter[date]] = defaultdict(Counter)
    for day, cause, call in month.got:
        chat = int(call["chat_id"])
        per_day[chat][day] += 1
        if not cause.startswith("event"):
            per_tick[(day, cause, chat)] += 1
    over = {k: n for k, n in per_tick.items() if n > 1}
    assert not over, f"more than one message in a tick: {over}"
    for chat, days in per_day.items():
        bound = LEADER_PER_DAY if chat in LEADERS else ANYONE_PER_DAY
        busiest = max(days.values())
        assert busiest <= bound, (chat, {d.isoformat(): n for d, n in days.items() if n > bound})

    # --- grouping happened where it had to ---------------------------------------------------------
    def texts(chat: int, cause: str) -> list[str]:
        return [c["text"] for _d, k, c in month.got if int(c["chat_id"]) == chat and k.startswith(cause)]

    lists = [t for t in texts(LIU, "escalation") if "问题办理提醒" in t]
    assert lists and all(len(re.findall(r"^\d+\. ", t, re.MULTILINE)) >= 2 for t in lists)
    assert any({"W0001", "W0003"} <= set(re.findall(r"W\d{4}", t)) for t in lists)
    [alerts] = [t for t in texts(ZHOU, "reminders") if "填报情况提醒" in t][:1]  # 周海燕: one list, not 8
    assert len(re.findall(r"个工作日未填报", alerts)) >= 2
    # Short cards: a single problem notice of a tick fits a phone (at most 4 lines).
    singles = [t for chat in (HAO, ZHAO, LIU, WANG, LI) for t in texts(chat, "escalation")
               if "问题办理提醒" not in t]
    assert singles and all(len(t.splitlines()) <= 4 for t in singles), singles
    # Those without an account (沈磊 of 区房管局, most liaisons…) have their notices held, none failed.
    async with tg.session() as session:
        states = dict((await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))).all())
    assert states.get(outbox.HELD, 0) > 0 and outbox.UNDELIVERABLE not in states and outbox.FAILED not in states
