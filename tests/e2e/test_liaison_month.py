"""A month of two liaisons as a district office lives it, through the real python-telegram-bot Application and
the fake Bot API: Monday 2026-09-21 to Friday 2026-10-23, with 中秋 (Friday 09-25), 国庆 (10-01 … 10-07) and the
调休 working Saturday 10-10 of the 2026 notice.

The ledger is imported on Friday 09-18 (its 累计完成 then dates from 09-17, so every report of the month adds to
it). 郝芳 (ZD2026-001, 在建) and 武杰 (ZD2026-002, 前期) report every working day, one-shot, guided, as a line
without /report, as a captioned photo, an album of ten, a photo sent as a file; they slip and /undo, send a
day's report twice and replace it, correct a report days later (a week of calendar across 国庆 is two working
days: allowed) and too late (refused); 郝芳 misses 09-28 and 09-29, 武杰 the three working days after 国庆. The
reminders (16:00, 18:00) and the 连续未填报 alerts run every day of the month as the scheduler runs them, and go
out through the outbox. 武杰's project starts (开工, confirmed by 区城管局), 郝芳's is finished (竣工, confirmed by
区住建局). Problems in three categories go to 销号, one of them reopened on the way.

Asserted: each reminder and alert went to whom it should on exactly the days it should (none on a holiday or
weekend, one on the 调休 Saturday; the holiday does not lengthen a streak); and at the end the figures the
liaison and /project show are exactly the month's true reports (the slip, the replaced report and the
corrected versions out).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.channels.base import RateLimits
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import SHANGHAI, FrozenClock
from bot.config import Settings
from bot.domain.albums import ANSWER_WAIT
from bot.domain.amounts import format_wan
from bot.domain.limits import PHOTO_FILE_MAX
from bot.services.outbox import OutboxSender
from jobs import reminders
from storage import problems as problem_repo
from storage.models import Project, Report, ReportPhoto
from tests.e2e.harness import Replies, TelegramHarness, build_core
from tests.e2e.test_problems import bind_directly

FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
HAO, WU, ZHAO, DENG, LIU, ZHOU = 1001, 1002, 3003, 3010, 4001, 4002
PEOPLE = [(HAO, "郝芳"), (WU, "武杰"), (ZHAO, "赵芳"), (DENG, "邓静"), (LIU, "刘文华"), (ZHOU, "周海燕")]
P1, P2 = "ZD2026-001", "ZD2026-002"
FIRST, LAST = date(2026, 9, 21), date(2026, 10, 23)
IMPORTED = datetime(2026, 9, 18, 9, 0, tzinfo=SHANGHAI)
BASELINE_1 = Decimal(26051)  # ZD2026-001's 截至上月累计完成 in the sample ledger; ZD2026-002's is 0
SLOTS = (time(16, 0), time(18, 0))
WORKING = {date(2026, 9, d) for d in (21, 22, 23, 24, 28, 29, 30)} | {
    date(2026, 10, d) for d in (8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@pytest.fixture
async def e2e_core(tg_settings: Settings, frozen_clock: FrozenClock) -> AsyncIterator[Core]:
    """The sample ledger imported on Friday 2026-09-18, before the month begins (nothing is due before a
    project was entered)."""
    frozen_clock.set(IMPORTED)
    core = await build_core(tg_settings, frozen_clock)
    try:
        yield core
    finally:
        await core.db.dispose()


class Office:
    """The clock, the people's messages, the scheduled reminders and the outbox's deliveries."""

    def __init__(self, tg: TelegramHarness) -> None:
        self.tg = tg
        self.transport = TelegramTransport(tg.application.bot)
        self.notices: dict[int, list[tuple[date, str, str]]] = defaultdict(list)  # chat -> (day, cause, text)

    async def deliver(self, day: date, cause: str) -> None:
        mark = len(self.tg.fake.calls)
        await OutboxSender(self.tg.core.db, self.tg.clock, {"telegram": self.transport},
                           limits={"telegram": FAST}).drain(10)
        for call in self.tg.fake.calls_of("sendMessage", since=mark):
            assert call.ok, call.error
            self.notices[int(call["chat_id"])].append((day, cause, call["text"]))

    async def say(self, user: int, moment: datetime, text: str, expect: str = "") -> Replies:
        self.tg.clock.set(moment)
        replies = await self.tg.send(user, text)
        assert expect in replies, (text, replies)
        await self.deliver(moment.date(), "event")
        return replies

    async def press(self, user: int, moment: datetime, label: str, expect: str = "") -> Replies:
        self.tg.clock.set(moment)
        replies = await self.tg.press(user, label)
        assert expect in replies, (label, replies)
        await self.deliver(moment.date(), "event")
        return replies

    async def send(self, user: int, moment: datetime, fields: dict, expect: str = "") -> Replies:
        self.tg.clock.set(moment)
        replies = await self.tg.message(user, fields)
        assert expect in replies, (fields, replies)
        await self.deliver(moment.date(), "event")
        return replies

    async def remind(self, day: date, slot: time) -> None:
        """The reminder run of `slot` (as the scheduler runs it), and the outbox's delivery after it."""
        self.tg.clock.set(at(day, slot.hour))
        result = await reminders.run(self.tg.core.db, self.tg.clock.now(), self.tg.core.deps.renderer, slot=slot)
        assert (result.skipped is None) == (day in WORKING), (day, result.skipped)
        await self.deliver(day, f"reminders {slot:%H}")

    def reminded(self, chat: int) -> set[tuple[date, str]]:
        return {(day, cause.split()[1]) for day, cause, text in self.notices[chat]
                if cause.startswith("reminders") and ("填报提醒" in text or "再次提醒" in text)}

    def alerted(self, chat: int, code: str) -> list[tuple[date, str]]:
        return [(day, cause.split()[1]) for day, cause, text in self.notices[chat]
                if cause.startswith("reminders") and "未填报" in text and code in text]


def photo(n: int, **more: object) -> dict:
    return {"photo": [{"file_id": f"AgMonth{n:04d}", "file_unique_id": f"m{n}", "width": 1280, "height": 960,
                       "file_size": 300_000}], **more}


async def test_a_liaisons_month(telegram: TelegramHarness) -> None:
    tg = telegram
    for user, name in PEOPLE:
        await bind_directly(tg, user, name)
    await tg.bind(9001, "管理员(区重大项目办)", "admin")
    for n in range(100):
        tg.fake.add_file(file_id=f"AgMonth{n:04d}")
    office = Office(tg)
    true1: dict[date, Decimal] = {}  # the month's true reports, by day
    true2: dict[date, Decimal] = {}

    day = FIRST
    while day <= LAST:
        # --- 郝芳, ZD2026-001 -------------------------------------------------------------------------
        if day == d(9, 21):  # a captioned photo
            await office.send(HAO, at(day, 10), photo(1, caption=f"{P1} 850万 路基施工"), "照片 1 张")
            true1[day] = Decimal(850)
        elif day == d(9, 22):  # a slip, withdrawn, sent again; a problem raised
            await office.say(HAO, at(day, 10), f"/report {P1} 8500 路基施工", "8,500.0 万元")
            await office.say(HAO, at(day, 10, 5), "/undo", "已撤回")
            await office.say(HAO, at(day, 10, 6), f"/report {P1} 850 路基施工", "已记录填报")
            true1[day] = Decimal(850)
            await office.say(HAO, at(day, 11), f"/issue {P1} 用地 取土场用地手续未批", "W0001")
            await office.say(ZHAO, at(day, 14), "/accept W0001", "已受理")
        elif day == d(9, 23):
            await office.say(HAO, at(day, 10), f"/report\u3000{P1} 600 桥梁桩基", "已记录填报")  # keyboard's space
            true1[day] = Decimal(600)  # corrected the next day
            await office.say(ZHAO, at(day, 15), "/answer W0001 已协调自然资源分局，本周内办结", "已答复")
        elif day == d(9, 24):  # a line without /report; yesterday's 600 corrected to 650
            await office.say(HAO, at(day, 10), f"{P1} 700 桥梁桩基", "已记录填报")
            true1[day] = Decimal(700)
            await office.say(HAO, at(day, 10, 30), f"/correct {P1} 09-23 650 桥梁桩基 理由：少报了 50 万元",
                             "请核对更正内容")
            await office.press(HAO, at(day, 10, 31), "确认更正", "已更正")
            true1[d(9, 23)] = Decimal(650)
            await office.say(ZHAO, at(day, 11), "/resolved W0001 取土场用地手续已批复", "已报告解决")
            await office.say(HAO, at(day, 11, 30), "/confirm W0001", "已确认销号")
            await office.say(HAO, at(day, 14), f"/issue {P1} 资金 省级补助资金未拨付", "W0002")
        elif day == d(9, 28):
            await office.say(ZHAO, at(day, 10), "/accept W0002", "已受理")
        elif day == d(9, 30):  # guided, with a photo
            await office.say(HAO, at(day, 10), "/report", "请选择要填报的项目")
            await office.press(HAO, at(day, 10), f"{P1} 城北高速连接线", "本期完成投资")
            await office.say(HAO, at(day, 10, 1), "1200万", "形象进度")
            await office.say(HAO, at(day, 10, 2), "桥梁下部结构完成", "照片")
            await office.send(HAO, at(day, 10, 3), photo(2), "已收到 1 张照片")
            await office.press(HAO, at(day, 10, 4), "完成（不再上传照片）", "请核对填报内容")
            await office.press(HAO, at(day, 10, 5), "确认", "已记录填报")
            true1[day] = Decimal(1200)  # corrected on 10-09
        elif day == d(9, 25):  # 中秋: nothing is due
            await office.say(HAO, at(day, 10), "/mine", "（2026-09-25，中秋节）：\n今天不是工作日，无需填报")
        elif day == d(10, 4):  # a holiday's overtime: nothing is due, and the report is taken
            await office.say(HAO, at(day, 15), f"/report {P1} 300 节日抢工", "已记录填报")
            true1[day] = Decimal(300)
        elif day == d(10, 9):  # 09-30 is two working days back (国庆 between): it may still be corrected
            await office.say(HAO, at(day, 9), f"/correct {P1} 9-30 1000 理由：按监理计量核减", "请核对更正内容")
            await office.press(HAO, at(day, 9, 1), "确认更正", "已更正")
            true1[d(9, 30)] = Decimal(1000)
            await office.say(ZHAO, at(day, 11), "/resolved W0002 补助资金已拨付", "已报告解决")
            await office.say(HAO, at(day, 11, 30), "/reopen W0002 资金尚未到账", "已退回重办")
        elif day == d(10, 10):  # the 调休 Saturday is a working day: reminded at 16:00, reported at 17:00
            await office.say(HAO, at(day, 10), "/mine", f"⬜ {P1} 城北高速连接线（今日未填报）")
        elif day == d(10, 12):  # an album of ten
            await office.send(HAO, at(day, 10), photo(10, media_group_id="9001", caption=f"{P1} 900万 路面基层"),
                              "照片 1 张")
            for n in range(11, 20):  # the rest of the album is answered once, when it has all come
                assert not (await office.send(HAO, at(day, 10), photo(n, media_group_id="9001"))).messages
            office.tg.clock.set(at(day, 10) + ANSWER_WAIT)
            await office.deliver(day, "event")
            assert "现有照片 10 张" in office.notices[HAO][-1][2]
            true1[day] = Decimal(900)
            await office.say(ZHAO, at(day, 11), "/resolved W0002 补助资金已到账", "已报告解决")
            await office.say(HAO, at(day, 11, 30), "/confirm W0002", "已确认销号")
        elif day == d(10, 13):  # a photo sent as a file, then one too big
            document = {"file_id": "AgMonth0020", "file_unique_id": "m20", "file_name": "IMG_0413.JPG",
                        "mime_type": "image/jpeg", "file_size": 5_000_000}
            await office.send(HAO, at(day, 10), {"document": document, "caption": f"{P1} 650 路面基层"}, "照片 1 张")
            true1[day] = Decimal(650)
            big = dict(document, file_id="AgMonth0021", file_unique_id="m21", file_size=PHOTO_FILE_MAX + 1)
            await office.send(HAO, at(day, 10, 5), {"document": big}, "无法保存")
        elif day == d(10, 14):  # the same day twice: asked, replaced
            await office.say(HAO, at(day, 10), f"/report {P1} 600 路面基层", "已记录填报")
            await office.say(HAO, at(day, 16, 30), f"/report {P1} 620 路面基层", "已有一条填报")
            await office.press(HAO, at(day, 16, 31), "确认替换", "620.0 万元")
            true1[day] = Decimal(620)
        elif day == d(10, 16):  # 10-08 is past the window of three working days
            await office.say(HAO, at(day, 9), f"/correct {P1} 10-08 400 理由：多报",
                             "已超过 3 个工作日，联络员不能再更正")
        elif day == d(10, 21):
            await office.say(HAO, at(day, 10), f"/report {P1} ６００万元 路面面层", "= 600.0 万元")
            true1[day] = Decimal(600)
        if day in WORKING and day not in true1 and day not in (d(9, 28), d(9, 29), d(10, 10)):
            await office.say(HAO, at(day, 10), f"/report {P1} 500 施工", "已记录填报")
            true1[day] = Decimal(500)

        # --- 武杰, ZD2026-002 -------------------------------------------------------------------------
        missed2 = (d(10, 8), d(10, 9), d(10, 10))
        if day in WORKING and day not in missed2:
            if day.day % 2:
                await office.say(WU, at(day, 11), f"/report {P2} 100 场地平整", "已记录填报")
            else:
                await office.say(WU, at(day, 11), "/report", "请选择要填报的项目")
                await office.press(WU, at(day, 11), f"{P2} 滨江四期沿江路", "本期完成投资")
                await office.say(WU, at(day, 11, 1), "100", "形象进度")
                await office.say(WU, at(day, 11, 2), "管线迁改", "照片")
                await office.press(WU, at(day, 11, 3), "完成（不再上传照片）", "请核对填报内容")
                await office.press(WU, at(day, 11, 4), "确认", "已记录填报")
            true2[day] = Decimal(100)
        if day == d(10, 12):  # 开工, confirmed by the lead unit
            await office.say(WU, at(day, 14), f"/started {P2} 10月12日", "已请牵头单位 区城管局 确认")
            await office.press(DENG, at(day, 14, 30), "确认开工", "项目阶段现为「在建」")
        if day == d(10, 13):
            await office.say(WU, at(day, 15), f"/issue {P2} 审批手续 施工许可证待核发", "W0003")
        if day == d(10, 14):
            await office.say(DENG, at(day, 9), "/accept W0003", "已受理")
        if day == d(10, 16):
            await office.say(DENG, at(day, 9, 30), "/resolved W0003 施工许可证已核发", "已报告解决")
        if day == d(10, 19):
            await office.say(WU, at(day, 14), "/confirm W0003", "已确认销号")

        await office.remind(day, SLOTS[0])
        if day == d(10, 10):  # reminded at 16:00 of the 调休 Saturday, then reported
            await office.say(HAO, at(day, 17), f"/report {P1} 480 路面基层", "已记录填报")
            true1[day] = Decimal(480)
        await office.remind(day, SLOTS[1])
        if day == LAST:  # 竣工, confirmed by the lead unit
            await office.say(HAO, at(day, 18, 30), f"/finished {P1}", "已请牵头单位 区住建局 确认")
            await office.press(ZHAO, at(day, 18, 40), "确认竣工", "项目阶段现为「竣工」")
        day += timedelta(days=1)

    # --- reminders and alerts: whom, which days ---------------------------------------------------------
    assert office.reminded(HAO) == {(d(9, 28), "16"), (d(9, 28), "18"), (d(9, 29), "16"), (d(9, 29), "18"),
                                    (d(10, 10), "16")}
    assert office.reminded(WU) == {(day, slot) for day in (d(10, 8), d(10, 9), d(10, 10)) for slot in ("16", "18")}
    # 郝芳: 中秋 and the weekend after 09-24 did not count, 09-28 was the first missed day, 09-29 the second.
    for chat in (ZHAO, LIU):
        assert office.alerted(chat, P1) == [(d(9, 29), "18")], (chat, office.notices[chat])
    # 武杰: 国庆 between 09-30 and 10-08 did not count: alerted on 10-09, once for the streak.
    for chat in (DENG, ZHOU):
        assert office.alerted(chat, P2) == [(d(10, 9), "18")], (chat, office.notices[chat])
    [(_, _, alert)] = [n for n in office.notices[DENG] if P2 in n[2] and "未填报" in n[2]]
    assert "已连续 2 个工作日未填报" in alert and "上次填报 2026-09-30" in alert, alert

    # --- the figures: exactly the month's true reports --------------------------------------------------
    assert {r.local_day: r.amount for r in await tg.reports(P1)} == true1
    assert {r.local_day: r.amount for r in await tg.reports(P2)} == true2
    assert len(true2) == len(WORKING) - 3
    year1, year2 = BASELINE_1 + sum(true1.values()), sum(true2.values())
    tg.clock.set(at(LAST, 20))
    card1 = await tg.send(HAO, f"/project {P1}")
    assert f"年度累计完成：{format_wan(year1)} 万元" in card1.text, (year1, card1.text)
    assert "建设阶段：竣工" in card1.text
    assert "12,000" not in card1.text  # no figure of the slips survives
    card2 = await tg.send(WU, f"/project {P2}")
    assert f"年度累计完成：{format_wan(year2)} 万元" in card2.text and "建设阶段：在建" in card2.text
    tg.clock.set(at(LAST + timedelta(days=3), 10))  # the Monday after: a finished project owes nothing
    mine = await tg.send(HAO, "/mine")
    assert f"➖ {P1} 城北高速连接线（竣工，无需填报）" in mine.text

    async with tg.session() as session:
        stages = dict((await session.execute(select(Project.code, Project.stage)
                                             .where(Project.code.in_((P1, P2))))).all())
        photos = (await session.scalars(select(ReportPhoto.file_id).join(Report, Report.id == ReportPhoto.report_id)
                                        .where(Report.withdrawn_at.is_(None)))).all()  # the counting versions
        problems = [await problem_repo.get_problem(session, problem_id=n) for n in (1, 2, 3)]
    assert stages == {P1: "竣工", P2: "在建"}
    expected = sorted(f"AgMonth{n:04d}" for n in [1, 2, *range(10, 21)])
    assert sorted(photos) == expected, sorted(photos)  # none lost, none twice
    assert [(p.category, p.status) for p in problems if p is not None] == [
        ("用地", "closed"), ("资金", "closed"), ("审批手续", "closed")]
