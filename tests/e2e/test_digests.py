"""Reminders, missed-report alerts and weekly bulletins end to end, travelling in time: the jobs write the
outbox, a sender delivers it through python-telegram-bot to the fake Bot API, and the tests read what each
chat received.

The main story runs from Monday 2026-09-28 to Tuesday 2026-10-13 around the National Day break: 10/1–10/7
are days off and Saturday 10/10 is a 调休 working day (the 2026 notice). The ledger is imported on the
morning of 9/28, so every project's reporting duty starts that day. Working days in the window: 9/28, 9/29,
9/30, 10/8, 10/9, 10/10, 10/12, 10/13. Week 2026-W40 (9/28–10/4) is due on Thursday 10/8, the first
working day after it; 2026-W41 (10/5–10/11) on Monday 10/12; both at 09:00.

People (Telegram user id = private chat id): 郝芳 1001, 武杰 1002 and 李海涛 1003 are the liaisons of
ZD2026-001 (lead unit 区住建局, lead official 刘文华), ZD2026-002 and ZD2026-003 (区房管局, 孙立新);
赵芳 3003 handles 区住建局's cases; 刘文华 4001 and 孙立新 4003 are lead officials; 王立军 5001 is 区长.
The leadership group chat is GROUP. Everybody else in the roster has no chat account: their notices are
held for them until they bind an account, and never reach the fake.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.app import Core
from bot.channels.base import RateLimits
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import FrozenClock
from bot.config import Settings
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.render import Renderer
from bot.services.outbox import OutboxSender
from jobs import digests, reminders
from storage.audit import entries_for
from storage.digest_queries import bulletin_groups
from storage.ledger_entries import ledger_on
from storage.models import Bulletin, BulletinGroup, OutboxMessage, Person, Problem, Project, Unit
from storage.settings import set_setting
from tests.admin.admin_support import ADMIN_NAME
from tests.e2e.harness import TelegramHarness, build_core, e2e_settings, running
from tests.fakes.bot_api import Call, FakeBotAPI, parse_telegram_html, utf16_len

SHANGHAI = ZoneInfo("Asia/Shanghai")

HAO, WU, LI_HT = 1001, 1002, 1003  # liaisons of ZD2026-001, -002, -003
ZHAO = 3003  # 赵芳, unit handler of 区住建局
LIU = 4001  # 刘文华, lead official of ZD2026-001 (and -006, -011, -016, -021, -026, -031, -036, -041)
SUN = 4003  # 孙立新, lead official of ZD2026-003 (and -008, -013, -018, -023, -028, -033, -038)
WANG = 5001  # 王立军, 区长
GROUP = -1001234567890  # the leadership group chat
ADMIN = 9001  # the 区重大项目办's admin
PEOPLE = [(HAO, "郝芳", "liaison"), (WU, "武杰", "liaison"), (LI_HT, "李海涛", "liaison"),
          (ZHAO, "赵芳", "unit"), (LIU, "刘文华", "lead"), (SUN, "孙立新", "lead"), (WANG, "王立军", "top")]
FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
SENDS = ("sendMessage", "sendPhoto", "sendDocument")
RANK_LINE = re.compile(r"^(\d+|—)\. \S+ (ZD\d{4}-\d{3}) .*? (—|\d+\.\d)%?（", re.MULTILINE)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(fake_api: FakeBotAPI, data_dir: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(data_dir))


async def _harness(fake: FakeBotAPI, core: Core, settings: Settings) -> AsyncIterator[TelegramHarness]:
    """Like the shared `telegram` fixture: fails the test on a handler error or a message the API refused."""
    harness = TelegramHarness(fake, core, settings)
    try:
        async with running(harness):
            yield harness
    finally:
        await core.db.dispose()
    harness.assert_nothing_failed(SENDS)


@pytest.fixture
async def imported(fake_api: FakeBotAPI, settings: Settings) -> AsyncIterator[TelegramHarness]:
    """The sample ledger imported on Monday 2026-09-28 at 08:00 (so its projects are entered that day)."""
    core = await build_core(settings, FrozenClock(at(9, 28, 8)))
    async for harness in _harness(fake_api, core, settings):
        yield harness


@pytest.fixture
async def cloned(fake_api: FakeBotAPI, settings: Settings,
                 ledger_template: Path) -> AsyncIterator[TelegramHarness]:
    """The sample ledger from the shared template (fast; its projects were entered on 2026-11-20)."""
    core = await build_core(settings, FrozenClock(at(9, 28, 8)), template=ledger_template)
    async for harness in _harness(fake_api, core, settings):
        yield harness


class Office:
    """The scheduled jobs and outbox delivery of one bot, driven by hand on the frozen clock."""

    def __init__(self, tg: TelegramHarness, settings: Settings) -> None:
        self.tg = tg
        self.settings = settings
        self.core = tg.core

    @property
    def fake(self) -> FakeBotAPI:
        return self.tg.fake

    def travel(self, moment: datetime) -> None:
        self.tg.clock.set(moment)

    def restart(self) -> None:
        """A new process on the same database: a new core, and (in `deliver`) a new sender every time."""
        self.core = Core.build(self.settings, clock=self.tg.clock, db=self.tg.core.db)

    async def setup(self, *people: tuple[int, str, str], monthly: bool = True) -> None:
        for user, name, role in people:
            await self.tg.bind(user, name, role)
        async with self.tg.session() as session:
            # the ledger was imported when the story starts (the shared template carries another date)
            await session.execute(update(Project).values(created_at=self.tg.clock.now()))
            session.add(BulletinGroup(channel="telegram", chat_id=str(GROUP), name="重点项目领导小组",
                                      created_at=self.tg.clock.now(), created_by="test"))
            if not monthly:  # an admin switched the monthly-and-up editions off: only the weekly one runs
                weekly_only = DigestSettings(monthly_enabled=False).to_json()
                await set_setting(session, key=DIGEST_KEY, value=weekly_only, now=self.tg.clock.now(),
                                  by="test")

    async def remind(self, slot: time) -> reminders.ReminderResult:
        return await reminders.run(self.core.db, self.tg.clock.now(), self.core.deps.renderer, slot=slot)

    async def tick(self) -> list[digests.Produced]:
        return await digests.run_due(self.core.db, self.core.deps.renderer, now=self.tg.clock.now(),
                                     files_root=self.settings.data_dir)

    async def deliver(self) -> list[Call]:
        """Drain the outbox with a fresh sender; the send calls the fake received meanwhile."""
        mark = len(self.fake.calls)
        transport = TelegramTransport(self.tg.application.bot, files_root=self.settings.data_dir,
                                      rights=self.tg.channel.rights)  # as the running bot's
        sender = OutboxSender(self.core.db, self.tg.clock, {"telegram": transport}, limits={"telegram": FAST})
        await sender.drain(10)
        return [c for c in self.fake.calls[mark:] if c.method in SENDS]

    async def report(self, user: int, code: str, amount: str, progress: str = "按计划推进") -> None:
        replies = await self.tg.send(user, f"/report {code} {amount} {progress}")
        assert "已记录" in replies, replies

    async def bulletins(self) -> list[tuple[str, str, bool]]:
        async with self.tg.session() as session:
            rows = await session.scalars(select(Bulletin).order_by(Bulletin.id))
            return [(b.kind, b.period, b.late) for b in rows.all()]


def to(chat: int, calls: list[Call], method: str | None = "sendMessage") -> list[Call]:
    return [c for c in calls if str(c["chat_id"]) == str(chat) and (method is None or c.method == method)]


def texts(chat: int, calls: list[Call]) -> list[str]:
    return [c["text"] for c in to(chat, calls) if c.ok]


def ranking(text: str) -> list[tuple[str, str, str]]:
    """(rank, code, rate) of each line of a bulletin's project ranking, in order."""
    section = text.split("项目排名", 1)[1].split("牵头单位排名", 1)[0]
    return RANK_LINE.findall(section)


def ledger_ranking(document: bytes) -> list[tuple[str, str, str]]:
    """(rank, code, rate) of each project in the attached Excel ledger, in its order (the whole ranking)."""
    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(document), read_only=True)["项目台账"]
    rows = list(sheet.values)
    header = list(rows[0])
    rank, code, rate = header.index("排名"), header.index("编号"), header.index("完成率")
    return [("—" if row[rank] is None else str(row[rank]), row[code],
             "—" if row[rate] is None else f"{row[rate] * 100:.1f}") for row in rows[1:]]


def assert_ranked_in_order(rows: list[tuple[str, str, str]]) -> None:
    """Completion rate highest first (competition ranks), projects without a plan last."""
    ranked = [(int(rank), code, float(rate)) for rank, code, rate in rows if rank != "—"]
    unranked = [code for rank, code, _rate in rows if rank == "—"]
    assert rows[len(ranked):] == [r for r in rows if r[0] == "—"], "unranked projects must come last"
    assert unranked == sorted(unranked)
    for position, (before, after) in enumerate(zip(ranked, ranked[1:], strict=False), start=2):
        assert before[2] >= after[2], (before, after)
        # competition ranking: 1, 1, 3 … (a place is shared by gaps that read the same, listed by the exact
        # figure: the rates stay in order, above)
        assert after[0] in (before[0], position), (before, after)


# --- the story ---------------------------------------------------------------------------------------


async def test_two_weeks_around_national_day(imported: TelegramHarness, settings: Settings) -> None:
    office = Office(imported, settings)
    tg, fake = imported, imported.fake
    await office.setup(*PEOPLE, monthly=False)

    reminded: dict[tuple[date, str], set[int]] = {}
    reminder_calls: list[Call] = []
    alerts: dict[int, list[tuple[date, str, str]]] = defaultdict(list)  # chat → (day, code, text)
    skipped: dict[date, str | None] = {}
    bulletin_calls: dict[str, list[Call]] = {}
    produced_on: dict[str, date] = {}

    def collect(day: date, slot: str, calls: list[Call]) -> None:
        reminded[(day, slot)] = set()
        chats = [int(call["chat_id"]) for call in calls]
        assert len(chats) == len(set(chats)), f"more than one message to a chat on {day} {slot}"
        for call in calls:
            assert call.ok, (call.method, call.error)
            text = call.get("text", "")
            if "填报提醒" in text or "再次提醒" in text:
                reminded[(day, slot)].add(int(call["chat_id"]))
                reminder_calls.append(call)
            elif "连续未填报" in text:
                code = re.search(r"项目 (ZD\d{4}-\d{3})", text)
                assert code, text
                [[button]] = call["reply_markup"]["inline_keyboard"]
                assert button == {"text": f"查看 {code.group(1)}", "callback_data": f"pj:{code.group(1)}"}
                alerts[int(call["chat_id"])].append((day, code.group(1), text))
            elif "填报情况提醒" in text:  # several projects for one person: one message, a line each
                lines = [line for line in text.splitlines() if "个工作日未填报" in line]
                assert len(lines) >= 2 and f"有 {len(lines)} 件事" in text, text
                for line in lines:
                    code = re.search(r"⚠️ (ZD\d{4}-\d{3})", line)
                    assert code, line
                    alerts[int(call["chat_id"])].append((day, code.group(1), line))
                buttons = [b["callback_data"] for row in call["reply_markup"]["inline_keyboard"] for b in row]
                codes = [re.findall(r"ZD\d{4}-\d{3}", line)[0] for line in lines]
                assert buttons == [f"pj:{code}" for code in codes][:8]
            else:
                raise AssertionError(f"unexpected notice on {day} {slot}: {call.params}")

    for day in days(date(2026, 9, 28), date(2026, 10, 13)):
        office.travel(at(day.month, day.day, 9, 0))  # the digest tick, every day
        for produced in await office.tick():
            assert produced.kind == "weekly" and not produced.late, produced
            bulletin_calls[produced.period] = await office.deliver()
            produced_on[produced.period] = day
        if day in (date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8),
                   date(2026, 10, 9), date(2026, 10, 10), date(2026, 10, 12), date(2026, 10, 13)):
            office.travel(at(day.month, day.day, 9, 30))
            await office.report(WU, "ZD2026-002", "100", "清表完成")  # 武杰 reports every working day
        if day in (date(2026, 9, 28), date(2026, 9, 29)):
            office.travel(at(day.month, day.day, 10, 0))
            await office.report(HAO, "ZD2026-001", "500", "路基施工")
        office.travel(at(day.month, day.day, 16, 0))
        result = await office.remind(time(16, 0))
        skipped[day] = result.skipped
        collect(day, "16:00", await office.deliver())
        if day == date(2026, 9, 28):  # 李海涛 reports once, after the first reminder, and never again
            office.travel(at(9, 28, 17, 0))
            await office.report(LI_HT, "ZD2026-003", "200", "场地平整")
        if day == date(2026, 10, 10):  # 郝芳 answers the 调休 Saturday's reminder through its button
            office.travel(at(10, 10, 17, 0))
            assert "请输入本期完成投资" in await tg.press(HAO, "填报 ZD2026-001")
            await tg.send(HAO, "300")
            await tg.send(HAO, "路面基层施工")
            await tg.press(HAO, "完成（不再上传照片）")
            assert "已记录" in await tg.press(HAO, "确认")
        office.travel(at(day.month, day.day, 18, 0))
        await office.remind(time(18, 0))
        collect(day, "18:00", await office.deliver())

        if day == date(2026, 10, 8):  # a restart after the bulletin went out: nothing is produced twice
            sent_before = len([c for c in fake.calls if c.method in SENDS])
            office.restart()
            for moment in (at(10, 8, 18, 10), at(10, 8, 18, 20), at(10, 9, 8, 0)):
                office.travel(moment)
                assert await office.tick() == []
                assert await office.deliver() == []
            assert len([c for c in fake.calls if c.method in SENDS]) == sent_before

    # --- reminders: working days only, to those who had not reported that day -------------------------
    holidays = days(date(2026, 10, 1), date(2026, 10, 7)) + [date(2026, 10, 11)]
    for day in holidays:
        assert reminded[(day, "16:00")] == reminded[(day, "18:00")] == set(), day
        assert skipped[day] == "not a working day"
    assert skipped[date(2026, 10, 10)] is None  # the 调休 Saturday is a working day
    expected = {
        date(2026, 9, 28): ({LI_HT}, set()),  # 郝芳 and 武杰 reported in the morning, 李海涛 at 17:00
        date(2026, 9, 29): ({LI_HT}, {LI_HT}),
        date(2026, 9, 30): ({HAO, LI_HT}, {HAO, LI_HT}),
        date(2026, 10, 8): ({HAO, LI_HT}, {HAO, LI_HT}),
        date(2026, 10, 9): ({HAO, LI_HT}, {HAO, LI_HT}),
        date(2026, 10, 10): ({HAO, LI_HT}, {LI_HT}),  # 郝芳 reported at 17:00 through the button
        date(2026, 10, 12): ({HAO, LI_HT}, {HAO, LI_HT}),
        date(2026, 10, 13): ({HAO, LI_HT}, {HAO, LI_HT}),
    }
    for day, (at_four, at_six) in expected.items():
        assert (reminded[(day, "16:00")], reminded[(day, "18:00")]) == (at_four, at_six), day
    assert WU not in {chat for chats in reminded.values() for chat in chats}
    for call in reminder_calls:
        code = {HAO: "ZD2026-001", LI_HT: "ZD2026-003"}[int(call["chat_id"])]
        assert code in call["text"]
        buttons = [(b["text"], b["callback_data"]) for row in call["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == [(f"填报 {code}", f"rp:p:{code}")]
    late_ones = [c for c in reminder_calls if "再次提醒" in c["text"]]
    assert len(late_ones) == sum(len(at_six) for _four, at_six in expected.values())

    # --- alerts: after two missed working days in a row, once per streak ----------------------------
    def seen(chat: int, code: str) -> list[date]:
        return [day for day, c, _text in alerts[chat] if c == code]

    # 郝芳 reported 9/29, then missed 9/30 and 10/8 (the holidays between do not count) → 10/8; 10/9 is the
    # same streak. She reported on 10/10, missed 10/12 and 10/13 → a new streak, a new alert on 10/13.
    assert seen(ZHAO, "ZD2026-001") == [date(2026, 10, 8), date(2026, 10, 13)]
    assert seen(LIU, "ZD2026-001") == [date(2026, 10, 8), date(2026, 10, 13)]
    [first_streak] = [text for day, code, text in alerts[ZHAO]
                      if (day, code) == (date(2026, 10, 8), "ZD2026-001")]
    assert "郝芳" in first_streak and "已连续 2 个工作日未填报" in first_streak
    assert "上次填报 2026-09-29" in first_streak
    # 李海涛 reported on 9/28 only: one alert on 9/30, none for the rest of the streak.
    assert seen(SUN, "ZD2026-003") == [date(2026, 9, 30)]
    assert "ZD2026-003" not in {code for chat in (ZHAO, LIU) for _d, code, _t in alerts[chat]}
    assert "ZD2026-002" not in {code for chat in alerts for _d, code, _t in alerts[chat]}  # 武杰 never missed
    # Projects nobody ever reported on (entered on 9/28): two missed working days by 9/29, one alert each.
    others = sorted(code for _day, code, _t in alerts[ZHAO] if code != "ZD2026-001")
    assert others == ["ZD2026-016", "ZD2026-031"]
    never = [(day, code, text) for chat in (ZHAO, LIU, SUN) for day, code, text in alerts[chat]
             if code not in ("ZD2026-001", "ZD2026-003")]
    assert {day for day, _code, _text in never} == {date(2026, 9, 29)}
    assert all("已连续 2 个工作日未填报" in text for _day, _code, text in never)
    for chat in (ZHAO, LIU, SUN):
        codes = [code for _d, code, _t in alerts[chat] if code != "ZD2026-001"]
        assert len(codes) == len(set(codes)), (chat, codes)
    assert {code for _d, code, _t in alerts[LIU]} == {"ZD2026-001", "ZD2026-006", "ZD2026-011", "ZD2026-016",
                                                      "ZD2026-026", "ZD2026-031", "ZD2026-036", "ZD2026-041"}
    assert set(alerts) == {ZHAO, LIU, SUN}  # liaisons and 区长 get no alerts

    # --- bulletins: on the first working day after each week, not on the Monday of a holiday ---------
    # 2026-W39 is due on 9/28, the morning the ledger came in: sent if its projects count as in the ledger by
    # 9/27 (storage.entered), else it would list nothing and is not (test_a_week_over_before_the_ledger_came_in…)
    async with tg.session() as session:
        w39 = {"2026-W39": date(2026, 9, 28)} if (await ledger_on(session, date(2026, 9, 27))).listed else {}
    assert produced_on == {**w39, "2026-W40": date(2026, 10, 8), "2026-W41": date(2026, 10, 12)}

    # --- the W40 bulletin, on Thursday 10/8 at 09:00 -------------------------------------------------
    calls = bulletin_calls["2026-W40"]
    assert all(c.ok for c in calls), [(c.method, c.error) for c in calls if not c.ok]
    group = to(GROUP, calls, method=None)
    # One message, then the chart, the units' 填报率 heat map and the Excel ledger with the whole ranking.
    assert [c.method for c in group] == ["sendMessage", "sendPhoto", "sendPhoto", "sendDocument"]
    [message, photo, heat, document] = group
    assert next(iter(photo.files.values())).startswith(b"\x89PNG\r\n\x1a\n")
    assert next(iter(heat.files.values())).startswith(b"\x89PNG\r\n\x1a\n")
    text = message["text"]
    assert "<b>牵头单位填报率</b>（近四周，2026-09-07 至 2026-10-04）：全区 " in text
    assert "各单位逐周见填报热力图。" in text
    assert "重点项目周通报（2026-W40，截至 2026-10-04）" in text
    assert "补发" not in text and "见排名图和附件 Excel 台账" in text
    everyone = ledger_ranking(next(iter(document.files.values())))
    rows = [row for row in everyone if row[0] != "—"]
    assert len(rows) == 41 and len({code for _r, code, _rate in rows}) == 41  # all but ZD2026-012
    assert everyone[41:] == [("—", "ZD2026-012", "—")]
    assert_ranked_in_order(rows)
    # The message lists the first and the last five of that ranking.
    assert ranking(text) == [(r, c, rate) for r, c, rate in rows[:5] + rows[-5:]]
    rates = {code: rate for _rank, code, rate in rows}
    # Year to date = the ledger's baseline + this year's reports up to Sunday 10/4.
    assert rates["ZD2026-001"] == f"{(26051 + 2 * 500) / 40800 * 100:.1f}"  # 66.3
    assert rates["ZD2026-002"] == f"{3 * 100 / 21000 * 100:.1f}"  # 1.4: the 10/8 report is after the cut-off
    assert rates["ZD2026-003"] == f"{(1650 + 200) / 33000 * 100:.1f}"  # 5.6
    # Without an annual plan: not ranked, listed apart and counted.
    assert "ZD2026-012" not in {code for _r, code, _rate in rows}
    assert "无年度计划（不排名）：ZD2026-012 粮库地块挂牌出让" in text and "无年度计划 1 个，不参与排名" in text
    for section in ("👍 <b>表扬</b>", "👉 <b>督促</b>", "🚨 <b>预警</b>", "<b>牵头单位排名</b>",
                    "<b>乡镇（街道）排名</b>"):
        assert section in text, section
    praise = text.split("👍 <b>表扬</b>", 1)[1].split("\n", 1)[0]
    assert [code for _r, code, _rate in rows[:3]] == re.findall(r"ZD\d{4}-\d{3}", praise)
    urge = text.split("👉 <b>督促</b>", 1)[1].split("\n", 1)[0]
    last_place = rows[-1][0]
    bottom = [code for rank, code, _rate in rows if rank == last_place]  # ties included, the last five shown
    assert bottom[-5:] == re.findall(r"ZD\d{4}-\d{3}", urge)[-5:]
    # Lead officials get their own projects; 区长 the summary and the chart; liaisons nothing.
    liu = "\n".join(texts(LIU, calls))
    assert "您包抓的项目（周通报 2026-W40" in liu
    mine = re.findall(r"ZD\d{4}-\d{3}", liu)  # his nine projects, in ranking order
    assert mine == [code for _rank, code, _rate in rows if code in mine]
    assert sorted(mine) == ["ZD2026-001", "ZD2026-006", "ZD2026-011", "ZD2026-016", "ZD2026-021",
                            "ZD2026-026", "ZD2026-031", "ZD2026-036", "ZD2026-041"]
    assert "ZD2026-003" in "\n".join(texts(SUN, calls)) and "ZD2026-001" not in "\n".join(texts(SUN, calls))
    [summary] = texts(WANG, calls)
    assert "周通报摘要（2026-W40）" in summary and "42 个重点项目" in summary
    assert len(to(WANG, calls, method="sendPhoto")) == 1
    assert not {HAO, WU, LI_HT, ZHAO} & {int(c["chat_id"]) for c in calls}

    # --- the W41 bulletin on Monday 10/12, with the 调休 Saturday's report in it ------------------------
    calls = bulletin_calls["2026-W41"]
    text = "\n".join(texts(GROUP, calls))
    assert "重点项目周通报（2026-W41，截至 2026-10-11）" in text
    [document] = to(GROUP, calls, method="sendDocument")
    rates = {code: rate for _rank, code, rate in ledger_ranking(next(iter(document.files.values())))}
    assert rates["ZD2026-001"] == f"{(26051 + 2 * 500 + 300) / 40800 * 100:.1f}"  # 67.0
    assert len(to(GROUP, calls, method="sendPhoto")) == 2
    # every line carries its change since W40: ZD2026-001 gained the 调休 Saturday's 300 (+0.7 points)
    assert "名次变化及其后的完成率变化（个百分点）均较上期（截至 2026-10-04）。" in text
    assert re.search(r"^1\. 🟢 ZD2026-021 \S+ 100\.0%（\+22\.2） 持平 0\.0$", text, re.M)
    assert re.search(r"^\d+\. \S+ \d+\.\d 分 (↑\d+|↓\d+|持平)$", text, re.M)
    liu = "\n".join(texts(LIU, calls))
    assert ("🟡 ZD2026-001 城北高速连接线：第 11 名，完成率 67.0%（-10.8 个百分点），"
            "较上期名次持平，完成率 +0.7 个百分点") in liu
    assert "牵头单位填报率</b>（近四周，2026-09-14 至 2026-10-11）" in text
    # his projects' 4-week trend: +1,000 in W40 and +300 in W41 over 166,313 万元 of plans; the ledger names no
    # 截至 day, so its baselines are of the end of August (截至上月); a week whose end came before the ledger did
    # counts none of its projects, as its bulletin would have (storage.entered): blank, its 序时进度 still shown
    early = ("9月20日 57.3%（72.1%） → 9月27日 57.3%（74.0%）" if w39
             else "9月20日 —（72.1%） → 9月27日 —（74.0%）")
    assert f"📈 近四周完成率（对照序时进度）：{early} → 10月4日 57.9%（75.9%） → 10月11日 58.0%（77.8%）" in liu
    assert "无法单列" not in liu
    assert await office.bulletins() == [("weekly", name, False) for name in (*w39, "2026-W40", "2026-W41")]


async def test_a_week_over_before_the_ledger_came_in_is_not_sent(imported: TelegramHarness, settings: Settings,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The ledger (截至 9/28) came in on Monday 9/28 at 08:00, the morning 2026-W39 (9/21–9/27) falls due: no
    project was in it by the week's end. The tick sends no empty bulletin, tells the admin once why (and since
    when there are projects), logs it, and records nothing."""
    office = Office(imported, settings)
    await office.setup(*PEOPLE, monthly=False)
    async with imported.session() as session:
        await session.execute(update(Project).values(baseline_date=date(2026, 9, 28)))
    await imported.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(9, 28, 9, 5))

    with caplog.at_level(logging.INFO, logger="jobs.bulletin_refusals"):
        assert await office.tick() == []
    calls = await office.deliver()

    [notice] = texts(ADMIN, calls)
    assert notice == ("2026-W39 无项目：截至 2026-09-27，台账中还没有任何项目（首个项目于 2026-09-28 录入），"
                      "周通报无项目可列，本期未发送。")
    assert texts(GROUP, calls) == [] and await office.bulletins() == []
    assert "weekly 2026-W39 not sent: no_projects" in caplog.text
    office.travel(at(9, 28, 10))  # the next tick says nothing again
    assert await office.tick() == [] and await office.deliver() == []


async def test_a_bulletin_missed_while_down_goes_out_once_marked_late(cloned: TelegramHarness,
                                                                      settings: Settings) -> None:
    """The bot is down from Friday 10/9 to Tuesday 10/20: W41 (due 10/12) and W42 (due 10/19) were never
    produced. On start-up the latest one, W42, goes out once, marked 补发; the every-ten-minutes ticks
    after it and another restart add nothing; W41 is not sent at all. The next week's is on time."""
    office = Office(cloned, settings)
    fake = cloned.fake
    await office.setup((WANG, "王立军", "top"), monthly=False)

    office.travel(at(10, 20, 10, 0))
    produced = await office.tick()
    assert [(p.period, p.late) for p in produced] == [("2026-W42", True)]
    calls = await office.deliver()
    group = texts(GROUP, calls)
    assert group and group[0].startswith("（本期周通报因系统停机补发）")
    assert "重点项目周通报（2026-W42，截至 2026-10-18）" in group[0]
    assert len(to(GROUP, calls, method="sendPhoto")) == 2  # the ranking chart and the 填报率 heat map
    assert len(texts(WANG, calls)) == 1

    sent = len([c for c in fake.calls if c.method in SENDS])
    for minutes in range(10, 60, 10):  # the scheduler's ticks every ten minutes
        office.travel(at(10, 20, 10, minutes))
        assert await office.tick() == []
    office.restart()
    office.travel(at(10, 21, 9, 0))
    assert await office.tick() == []
    assert await office.deliver() == []
    assert len([c for c in fake.calls if c.method in SENDS]) == sent
    assert await office.bulletins() == [("weekly", "2026-W42", True)]

    office.travel(at(10, 26, 9, 0))
    assert [(p.period, p.late) for p in await office.tick()] == [("2026-W43", False)]
    on_time = texts(GROUP, await office.deliver())
    assert on_time and "补发" not in "\n".join(on_time)


async def test_a_long_bulletin_is_split_into_messages_telegram_accepts(cloned: TelegramHarness,
                                                                       settings: Settings) -> None:
    """130 more projects (172 in all), every one led by 刘文华: the group's bulletin stays one message (the
    first and last five, the whole ranking in the attached Excel ledger) while his personal digest runs over
    Telegram's 4,096 characters. Every part is accepted (valid HTML, within the limit as Telegram counts it:
    an emoji is two UTF-16 units), in order, and together they list every project."""
    office = Office(cloned, settings)
    await office.setup((LIU, "刘文华", "lead"), (WANG, "王立军", "top"), monthly=False)
    async with cloned.session() as session:
        liu = await session.scalar(select(Person.id).where(Person.name == "刘文华"))
        unit = await session.scalar(select(Unit.id).where(Unit.name == "区住建局"))
        await session.execute(Project.__table__.update().values(lead_official_id=liu))
        now = cloned.clock.now()
        for n in range(100, 230):
            session.add(Project(
                code=f"ZD2026-{n}", category="城建",
                name=f"城区老旧小区改造(第{n}批)" + ("&配套管网<二期>" if n == 100 else ""),
                location="河西镇", total_investment=Decimal(20000), annual_plan=Decimal(10000 + 37 * n),
                done_before=Decimal(53 * n), baseline_year=2026, stage="在建", lead_unit_id=unit,
                lead_official_id=liu, created_at=now, updated_at=now,
            ))

    office.travel(at(10, 12, 9, 0))
    assert [(p.period, p.late) for p in await office.tick()] == [("2026-W41", False)]
    calls = await office.deliver()

    assert calls and all(c.ok for c in calls), [(c.method, c.error) for c in calls if not c.ok]
    for call in calls:
        if call.method == "sendMessage":
            assert utf16_len(parse_telegram_html(call["text"])) <= 4096
    [group] = texts(GROUP, calls)  # the group's bulletin stays one message: the ends of each list
    assert group.startswith("📊 <b>重点项目周通报（2026-W41")
    rows = ranking(group)
    assert len(rows) == 10 and "共 171 个，列前、后各 5 个" in group  # ZD2026-012 has no plan
    assert "无年度计划（不排名）：ZD2026-012" in group
    [document] = to(GROUP, calls, method="sendDocument")
    everyone = ledger_ranking(next(iter(document.files.values())))
    ranked = [row for row in everyone if row[0] != "—"]
    assert_ranked_in_order(ranked)
    assert len(everyone) == 172 and rows == ranked[:5] + ranked[-5:]
    leader = texts(LIU, calls)
    assert len(leader) >= 2 and leader[0].startswith("📌 <b>您包抓的项目")
    assert len(set(re.findall(r"ZD\d{4}-\d{3}", "\n".join(leader)))) == 172
    assert "城区老旧小区改造(第100批)&amp;配套管网&lt;二期&gt;" in "\n".join(leader)  # escaped, whole


async def test_bulletin_notices_to_people_without_a_chat_are_kept_unsent(cloned: TelegramHarness,
                                                                         settings: Settings) -> None:
    """Notices to people with no chat account are held for them (until they bind one), never sent: a bulletin to a
    district where only the group chat is reachable sends the group its parts and the chart, nothing else."""
    office = Office(cloned, settings)
    await office.setup(monthly=False)
    office.travel(at(10, 12, 9, 0))
    [produced] = await office.tick()
    calls = await office.deliver()
    assert {int(c["chat_id"]) for c in calls} == {GROUP}
    async with cloned.session() as session:
        states = dict((await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))).all())
    # 2 top officials (text + chart each) and 5 lead officials, none of them bound.
    assert states == {"sent": len(calls), "held": 2 * 2 + 5}
    assert produced.notices == len(calls) + 9


async def test_the_top_officials_summary_names_the_problems_at_their_levels(cloned: TelegramHarness,
                                                                            settings: Settings) -> None:
    """Their weekly summary lists what has gone up to the 区长 or 区委书记/领导小组 and is still unsolved (a meeting
    decision too), the highest level first, overdue ones marked; not what the units or lead officials still hold,
    nor a problem reported solved."""
    office = Office(cloned, settings)
    tg = cloned
    await office.setup(*PEOPLE, (9001, "管理员(区重大项目办)", "admin"), monthly=False)
    office.travel(at(10, 14, 10, 0))
    for text in ("/issue ZD2026-001 审批手续 施工许可迟迟未批", "/issue ZD2026-001 资金 配套资金未到位",
                 "/issue ZD2026-001 用地 还有12户未签约", "/issue ZD2026-001 用工 缺少技术工人"):
        assert "已登记" in (await tg.send(HAO, text)).text
    assert "W0005" in (await tg.send(9001, "/decide 协调临时用电 区住建局 2026-10-30")).text
    due = datetime(2026, 10, 16, 17, 30, tzinfo=SHANGHAI)
    async with tg.session() as session:
        for number, level, status in ((1, 2, "open"), (2, 3, "answered"), (3, 1, "open"), (4, 2, "resolved"),
                                      (5, 3, "open")):
            await session.execute(update(Problem).where(Problem.id == number).values(
                level=level, status=status, resolution_due_at=due + timedelta(days=number)))
    await office.deliver()

    office.travel(at(10, 19, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W42"]
    calls = await office.deliver()
    [summary] = [t for t in texts(WANG, calls) if "周通报摘要" in t]
    assert "已上报区长或区委书记/领导小组、尚未解决的问题 3 个" in summary, summary
    listed = [line for line in summary.splitlines() if line.startswith("· W")]
    assert listed == [
        "· W0002 城北高速连接线 资金：配套资金未到位（区委书记/领导小组，办结时限 2026-10-18 17:30，⚠️已超期）",
        "· W0005 议定事项：协调临时用电（区委书记/领导小组，办结时限 2026-10-21 17:30）",
        "· W0001 城北高速连接线 审批手续：施工许可迟迟未批（区长，办结时限 2026-10-17 17:30，⚠️已超期）",
    ]
    lead = "\n".join(texts(LIU, calls))
    assert "已上报区长或区委书记" not in lead  # his digest lists his projects' problems its own way


def bot_in_group(office: Office, status: str, *, can_send: bool = True) -> dict:
    """An admin of the leadership group changes the bot's standing there: taken out ("kicked", "left"), added
    back ("member"), muted or allowed to speak again ("restricted" without or with `can_send`); Telegram's
    my_chat_member update to the bot about it."""
    office.fake.group(GROUP, kind="supergroup", title="重点项目领导小组")
    return office.fake.bot_standing(GROUP, status, user_id=HAO, can_send=can_send)


async def test_a_group_the_bot_was_taken_out_of_gets_no_bulletin_until_it_is_added_back(
        cloned: TelegramHarness, settings: Settings) -> None:
    """Taken out of the bulletin group, the bot stops sending it the bulletins (each would fail, and count as
    failed in /outbox, week after week): the one that comes out waits; /groups and `diaodu groups` say 已移出. Added
    back, the group gets the one that waited, then the next bulletin, and the admins hear of both once."""
    office = Office(cloned, settings)
    await office.setup((WANG, "王立军", "top"), monthly=False)
    await cloned.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(10, 9, 17, 0))
    await cloned.wait_processed(bot_in_group(office, "kicked")["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "机器人已被移出通报群「重点项目领导小组」，此后暂停向该群发送通报" in told
    listed = await cloned.send(ADMIN, "/groups")
    assert "重点项目领导小组" in listed and "⚠️ 已移出：机器人于 2026-10-09 17:00 被移出该群" in listed, listed
    async with cloned.session() as session:
        groups = await bulletin_groups(session)
    assert "\t已移出" in Renderer().plain("cli/groups", groups=groups)

    office.travel(at(10, 12, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W41"]
    calls = await office.deliver()
    assert texts(WANG, calls) and to(GROUP, calls, method=None) == []  # the 区长 gets his; the group is not tried

    office.travel(at(10, 14, 11, 0))
    back = bot_in_group(office, "member")
    await cloned.wait_processed(back["update_id"])
    calls = await office.deliver()
    [told] = texts(ADMIN, calls)
    assert "机器人已重新加入通报群「重点项目领导小组」，此后的定期通报照常发到该群" in told
    assert "暂停期间暂存的 2026-W41 周通报现补发到该群" in told, told
    assert "重点项目周通报（2026-W41" in texts(GROUP, calls)[0]  # the bulletin that came out meanwhile
    again = office.fake.enqueue_update({key: value for key, value in back.items() if key != "update_id"})
    await cloned.wait_processed(again["update_id"])  # Telegram sends the same change again: told once
    assert texts(ADMIN, await office.deliver()) == []
    assert "已移出" not in await cloned.send(ADMIN, "/groups")
    async with cloned.session() as session:
        entries = await entries_for(session, object_key=f"telegram:{GROUP}")
    assert [e.action for e in entries] == ["group.back", "group.left"]  # newest first, each once

    office.travel(at(10, 19, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W42"]
    group = texts(GROUP, await office.deliver())
    assert group and "重点项目周通报（2026-W42" in group[0]


async def test_a_group_where_the_bot_was_muted_gets_no_bulletin_until_it_may_speak_again(
        cloned: TelegramHarness, settings: Settings) -> None:
    """A group admin takes the bot's right to send messages (restricts it): every bulletin would be refused
    there ("not enough rights to send text messages"), so it is marked 已禁言 like a group the bot was taken out
    of, the admins are told once, and nothing is sent there until the bot may send again."""
    office = Office(cloned, settings)
    await office.setup((WANG, "王立军", "top"), monthly=False)
    await cloned.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(10, 9, 17, 0))
    muted = bot_in_group(office, "restricted", can_send=False)
    await cloned.wait_processed(muted["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "机器人在通报群「重点项目领导小组」被禁言" in told and "恢复机器人发送消息的权限" in told, told
    again = office.fake.enqueue_update({key: value for key, value in muted.items() if key != "update_id"})
    await cloned.wait_processed(again["update_id"])  # the same change delivered again: told once
    assert texts(ADMIN, await office.deliver()) == []
    listed = await cloned.send(ADMIN, "/groups")
    assert "⚠️ 已禁言：机器人于 2026-10-09 17:00 在该群被禁言" in listed and "已移出" not in listed, listed
    async with cloned.session() as session:
        groups = await bulletin_groups(session)
    assert "\t已禁言" in Renderer().plain("cli/groups", groups=groups)

    office.travel(at(10, 12, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W41"]
    calls = await office.deliver()
    assert texts(WANG, calls) and to(GROUP, calls, method=None) == []  # the group is not tried: no refused send

    office.travel(at(10, 14, 11, 0))
    await cloned.wait_processed(bot_in_group(office, "restricted", can_send=True)["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "机器人在通报群「重点项目领导小组」已恢复发送消息的权限" in told, told
    assert "已禁言" not in await cloned.send(ADMIN, "/groups")
    async with cloned.session() as session:
        entries = await entries_for(session, object_key=f"telegram:{GROUP}")
    assert [e.action for e in entries] == ["group.unmuted", "group.muted"]

    office.travel(at(10, 19, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W42"]
    group = texts(GROUP, await office.deliver())
    assert group and "重点项目周通报（2026-W42" in group[0]
