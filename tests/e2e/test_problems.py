"""Problems (问题) end to end: raised in Telegram, handled by the unit, escalated by the tick, closed by the
raiser.

Everything goes through the real PTB Application polling the fake Bot API. Notices are written to the
outbox by the handlers and by the escalation tick; `Desk.deliver` drains the outbox through the Telegram
transport so they reach the fake, and returns what each chat received. Time moves only when a test says
so (the FrozenClock shared by the core and the tick).

Calendar used below (November 2026, no holidays): Mon 16, Tue 17, Wed 18, Thu 19, Fri 20, Mon 23, Tue 24.
A 审批手续 problem raised Mon 16 08:30 at level 0: response due Tue 17 17:30 (nudge Mon 16 09:00),
resolution due Thu 19 17:30. Escalated to the lead official at Tue 17 17:30: response due Wed 18 17:30,
resolution due Tue 24 17:30 (nudge Mon 23 09:00).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.channels.base import RateLimits
from bot.channels.telegram import CHANNEL
from bot.channels.telegram_transport import TelegramTransport
from bot.services.outbox import OutboxSender
from jobs import escalation
from jobs.escalation import TickResult
from storage import outbox_sending, people
from storage import problems as repo
from storage.models import OutboxMessage, Problem
from tests.e2e.harness import Replies, TelegramHarness
from tests.fakes.bot_api import Call, keyboard_labels

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Telegram user ids (= private chat ids) of the sample people.
HAO = 1001  # 郝芳, liaison of ZD2026-001 (lead unit 区住建局, lead official 刘文华)
WU = 1002  # 武杰, liaison of ZD2026-002
ZHAO = 3003  # 赵芳, unit handler of 区住建局
HU = 3004  # 胡杰, unit handler of 区工信局 (a supporting unit of ZD2026-001)
LIU = 4001  # 刘文华, 副区长(城建), lead official of ZD2026-001
WANG = 5001  # 王立军, 区长
LI = 5002  # 李明德, 区委书记
ADMIN = 9001  # 管理员(区重大项目办)

PEOPLE = [(HAO, "郝芳", "liaison"), (WU, "武杰", "liaison"), (ZHAO, "赵芳", "unit"), (HU, "胡杰", "unit"),
          (LIU, "刘文华", "lead"), (WANG, "王立军", "top"), (LI, "李明德", "top"),
          (ADMIN, "管理员(区重大项目办)", "admin")]
RAISE = "/issue ZD2026-001 审批手续 施工许可迟迟未批"
FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)


def nov(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


SENDING = ("send", "edit", "copy", "forward")  # Bot API methods that put something in front of a user


def sends(calls: list[Call]) -> list[Call]:
    """The calls that show users something (the polling loop's getUpdates keeps running meanwhile)."""
    return [c for c in calls if c.method.startswith(SENDING)]


def _keyboard(call: Call) -> list[list[dict[str, str]]]:
    return (call.get("reply_markup") or {}).get("inline_keyboard", [])


class Inbox:
    """What the fake received during one drain, per chat."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = sends(calls)
        self.by_chat: dict[int, list[Call]] = defaultdict(list)
        for call in calls:
            if call.method == "sendMessage" and call.ok:
                self.by_chat[int(call["chat_id"])].append(call)

    def texts(self, chat: int) -> list[str]:
        return [c["text"] for c in self.by_chat.get(chat, [])]

    def text(self, chat: int) -> str:
        return "\n\n".join(self.texts(chat))

    def callback_data(self, chat: int) -> list[list[list[str]]]:
        """Per message, the keyboard's callback_data row by row."""
        calls = self.by_chat.get(chat, [])
        return [[[button["callback_data"] for button in row] for row in _keyboard(c)] for c in calls]

    def labels(self, chat: int) -> list[list[list[str]]]:
        return [keyboard_labels(c) for c in self.by_chat.get(chat, [])]

    @property
    def chats(self) -> set[int]:
        return set(self.by_chat)

    def __repr__(self) -> str:
        return f"Inbox({dict(self.by_chat)!r})"


class Desk:
    """Acting on the problems of one test: bound people, the clock, the tick and outbox delivery."""

    def __init__(self, tg: TelegramHarness) -> None:
        self.tg = tg

    def travel(self, at: datetime) -> None:
        self.tg.clock.set(at)

    async def tick(self) -> TickResult:
        return await escalation.run(self.tg.core.db, self.tg.clock, self.tg.core.deps.renderer)

    def sender(self) -> OutboxSender:
        """A fresh sender, as a restarted process would have."""
        transport = TelegramTransport(self.tg.application.bot)
        return OutboxSender(self.tg.core.db, self.tg.clock, {"telegram": transport},
                            limits={"telegram": FAST})

    async def deliver(self, sender: OutboxSender | None = None) -> Inbox:
        mark = len(self.tg.fake.calls)
        # the drain ends once nothing is due (the clock is frozen); 30 s is for a busy machine, where 5 s lapsed
        # before the first send and the inbox came back empty
        await (sender or self.sender()).drain(30)
        return Inbox(self.tg.fake.calls[mark:])

    async def problem(self, number: int = 1) -> Problem:
        async with self.tg.session() as session:
            problem = await repo.get_problem(session, problem_id=number)
        assert problem is not None
        return problem

    async def events(self, number: int = 1) -> list[str]:
        async with self.tg.session() as session:
            return [e.kind for e in await repo.history(session, problem_id=number)]

    async def problem_count(self) -> int:
        async with self.tg.session() as session:
            return int(await session.scalar(select(func.count(Problem.id))) or 0)

    async def outbox_rows(self) -> list[OutboxMessage]:
        async with self.tg.session() as session:
            return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())

    # --- common stories --------------------------------------------------------------------------------

    async def raise_w0001(self) -> Replies:
        """郝芳 raises W0001 on Monday 08:30; 赵芳's notice is delivered."""
        self.travel(nov(16, 8, 30))
        replies = await self.tg.send(HAO, RAISE)
        assert "W0001" in replies, replies
        inbox = await self.deliver()
        assert inbox.chats == {ZHAO}, inbox
        return replies

    async def escalate_to_lead(self) -> Inbox:
        """Nobody accepts W0001: at Tuesday 17:30 it goes up to 刘文华."""
        self.travel(nov(17, 17, 30))
        result = await self.tick()
        assert "W0001:escalate:1" in result.actions, result
        return await self.deliver()


async def bind_directly(tg: TelegramHarness, user: int, name: str) -> None:
    """Bind a Telegram user to a roster person in the database, as redeeming an invite does (the sample
    roster already gives everyone their role); much quicker than a /start round trip per person."""
    tg.fake.user(user, first_name=name)
    async with tg.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
        await people.bind_account(session, person=person, channel=CHANNEL, external_id=str(user),
                                  chat_id=str(user), display_name=name, now=tg.clock.now())


@pytest.fixture
async def desk(telegram: TelegramHarness) -> Desk:
    """Everyone bound (`bind_everyone`)."""
    return await bind_everyone(telegram)


async def bind_everyone(telegram: TelegramHarness) -> Desk:
    """Everyone bound on Monday 2026-11-16 08:00, before anything is raised: 郝芳 through an invite and
    /start like a real user, the others directly."""
    telegram.clock.set(nov(16, 8, 0))
    for user, name, role in PEOPLE:
        if user == HAO:
            await telegram.bind(user, name, role)
        else:
            await bind_directly(telegram, user, name)
    return Desk(telegram)


def refused(replies: Replies, *fragments: str) -> None:
    """Exactly one Chinese reply, with every fragment, and no buttons."""
    assert len(replies.messages) == 1, replies
    for fragment in fragments:
        assert fragment in replies.text, replies
    assert not replies.buttons, replies


# --- 1. the whole chain ------------------------------------------------------------------------------


async def test_raise_nudge_escalate_comment_answer_escalate_resolve_confirm(desk: Desk) -> None:
    tg = desk.tg

    # 郝芳 raises it before office hours on Monday.
    desk.travel(nov(16, 8, 30))
    raised = await tg.send(HAO, RAISE)
    assert "编号 <b>W0001</b>" in raised.text
    assert "已交办 区住建局" in raised.text
    assert "受理时限：2026-11-17 17:30" in raised.text
    assert "办结时限：2026-11-19 17:30" in raised.text

    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO}, inbox
    [notice] = inbox.texts(ZHAO)
    assert "新问题交办" in notice and "W0001" in notice and "施工许可迟迟未批" in notice and "郝芳" in notice
    assert inbox.labels(ZHAO) == [[["受理", "答复"], ["申请改派", "已解决"]]]
    assert inbox.callback_data(ZHAO) == [[["pb:acc:1", "pb:ans:1"], ["pb:rea:1", "pb:rsv:1"]]]

    # Nothing is due yet; at 09:00 the response nudge (the working day before Tuesday's deadline) is due.
    assert (await desk.tick()).checked == 0
    desk.travel(nov(16, 9, 0))
    assert (await desk.tick()).actions == ["W0001:nudge:response:0"]
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO}, inbox
    [nudge] = inbox.texts(ZHAO)
    assert "临期提醒" in nudge and "受理时限为 2026-11-17 17:30" in nudge and "包抓领导" in nudge
    assert inbox.callback_data(ZHAO) == [[["pb:acc:1", "pb:ans:1"], ["pb:rea:1", "pb:rsv:1"], ["pb:show:1"]]]

    # Ticking again, now or later that day, sends nothing more.
    shown = len(sends(tg.fake.calls))
    assert (await desk.tick()).actions == []
    desk.travel(nov(16, 15, 0))
    assert (await desk.tick()).actions == []
    desk.travel(nov(17, 17, 29))
    assert (await desk.tick()).actions == []
    assert (await desk.deliver()).calls == []
    assert len(sends(tg.fake.calls)) == shown  # nothing more reached anyone

    # Nobody accepted by Tuesday 17:30: up to the lead official.
    inbox = await desk.escalate_to_lead()
    assert inbox.chats == {LIU, ZHAO, HAO}, inbox
    [up] = inbox.texts(LIU)
    assert "问题上报" in up and "未按时受理" in up and "包抓领导" in up
    # A short card (2–4 lines); the history is on the card 查看详情 opens.
    assert "施工许可迟迟未批" in up and len(up.splitlines()) <= 4 and "郝芳 提出" not in up
    assert inbox.labels(LIU) == [[["批示", "查看详情"]]]
    card = await tg.press(LIU, "查看详情")
    assert "郝芳 提出：施工许可迟迟未批" in card and "系统 上报至包抓领导（未按时受理）" in card
    assert inbox.callback_data(LIU) == [[["pb:cmt:1", "pb:show:1"]]]
    for chat in (ZHAO, HAO):
        [went_up] = inbox.texts(chat)
        assert "W0001 因未按时受理，已上报至包抓领导" in went_up
    problem = await desk.problem()
    assert (problem.level, problem.status) == (1, "open")

    # 刘文华 presses 批示 and types it; everyone else on the problem is told.
    desk.travel(nov(18, 9, 30))
    asked = await tg.press(LIU, "批示")
    assert "请输入批示内容" in asked.text
    done = await tg.send(LIU, "请住建局本周内办结")
    assert "批示已送达相关人员" in done.text
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO}, inbox
    for chat in (HAO, ZHAO):
        [note] = inbox.texts(chat)
        assert note.startswith("🔔 W0001 批示：刘文华\n批示：请住建局本周内办结\n<b>W0001</b>"), note
    problem = await desk.problem()
    assert (problem.level, problem.status) == (1, "open")  # a 批示 is recorded, not a deadline met
    assert problem.response_due_at is None  # above the unit only the resolution deadline runs

    # 赵芳 answers with a promised date (the level's deadline day, written as people write it).
    answered = await tg.send(ZHAO, "/answer W0001 11月24日 已协调")
    assert "W0001 已答复" in answered.text and "承诺完成日期：2026-11-24" in answered.text
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, LIU}, inbox
    for chat in (HAO, LIU):
        assert inbox.text(chat).startswith("🔔 W0001 已答复：赵芳\n内容：已协调\n承诺完成日期：2026-11-24\n"), inbox
    problem = await desk.problem()
    assert (problem.status, problem.answer_text) == ("answered", "已协调")
    assert str(problem.promised_date) == "2026-11-24"

    # No 批示 deadline on Wednesday: 刘文华's level runs until the problem is solved or its deadline passes.
    desk.travel(nov(18, 18, 0))
    assert (await desk.tick()).actions == []

    # Monday the 23rd: 赵芳 is reminded of the promise, 刘文华 of the level's deadline.
    desk.travel(nov(23, 9, 0))
    assert (await desk.tick()).actions == ["W0001:nudge:promise:2026-11-24", "W0001:nudge:resolution:1"]
    inbox = await desk.deliver()
    assert inbox.chats == {LIU, ZHAO}, inbox
    assert "办结时限为 2026-11-24 17:30" in inbox.text(LIU)
    assert "承诺于 2026-11-24 完成，即将到期" in inbox.text(ZHAO)

    # Not solved by Tuesday 17:30: up to 区长 王立军, not yet to 李明德.
    desk.travel(nov(24, 17, 30))
    assert (await desk.tick()).actions == ["W0001:escalate:2"]
    inbox = await desk.deliver()
    assert inbox.chats == {WANG, LIU, ZHAO, HAO}, inbox
    assert LI not in inbox.chats
    problem = await desk.problem()
    assert (problem.level, problem.status) == (2, "answered")  # going up keeps what the unit has done
    [up] = inbox.texts(WANG)
    assert "问题上报" in up and "未按时办结" in up and "已上报至区长" in up
    assert inbox.callback_data(WANG) == [[["pb:cmt:1", "pb:show:1"]]]
    card = await tg.press(WANG, "查看详情")  # the history (批示, 答复) is on the card
    assert "批示：请住建局本周内办结" in card and "答复：已协调" in card
    for chat in (LIU, ZHAO, HAO):
        assert "已上报至区长" in inbox.text(chat)

    # 赵芳 reports it solved; 郝芳 is asked to confirm, the leaders are told.
    desk.travel(nov(25, 10, 0))
    resolved = await tg.send(ZHAO, "/resolved W0001 已发证")
    assert "已报告解决" in resolved.text
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, LIU, WANG}, inbox
    assert inbox.text(HAO).startswith("✅ W0001 责任单位报告已解决：赵芳\n办理结果：已发证\n<b>W0001</b>"), inbox
    assert inbox.labels(HAO) == [[["确认销号", "未解决"]]]
    assert inbox.callback_data(HAO) == [[["pb:cfm:1", "pb:rop:1"]]]
    assert (await desk.problem()).status == "resolved"

    closed = await tg.press(HAO, "确认销号")
    assert "W0001 已确认销号" in closed.text
    problem = await desk.problem()
    assert (problem.status, problem.next_check_at) == ("closed", None)
    assert problem.closed_at is not None
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO, LIU, WANG}, inbox
    assert "已确认销号：郝芳" in inbox.text(ZHAO)

    # Long after: nothing more is ever sent to anyone.
    shown = len(sends(tg.fake.calls))
    for later in (nov(26, 9, 0), nov(30, 17, 30), datetime(2027, 3, 1, 9, 0, tzinfo=SHANGHAI)):
        desk.travel(later)
        result = await desk.tick()
        assert (result.checked, result.actions) == (0, [])
        await desk.deliver()
    assert len(sends(tg.fake.calls)) == shown  # nothing more reached anyone
    assert await desk.events() == ["raised", "escalated", "comment", "answered", "escalated", "resolved",
                                   "closed"]


async def test_a_leader_who_writes_no_comment_keeps_the_problem_until_his_deadline(desk: Desk) -> None:
    """Nobody comments and nobody solves it: the problem stays with each level for that level's whole
    deadline (5 working days by default), then goes up; at the top it is reported overdue once."""
    tg = desk.tg
    await desk.raise_w0001()
    await desk.escalate_to_lead()  # Tue 17 17:30: level 1, resolution due Tue 24 17:30

    # No 批示 on Wednesday, Thursday or Friday: the problem stays with 刘文华, and nothing is sent.
    shown = len(sends(tg.fake.calls))
    for day in (18, 19, 20):
        desk.travel(nov(day, 17, 30))
        assert (await desk.tick()).actions == []
        await desk.deliver()
    assert len(sends(tg.fake.calls)) == shown
    assert (await desk.problem()).level == 1

    desk.travel(nov(23, 9, 0))  # the working day before his deadline: a reminder to him only
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:1"]
    assert (await desk.deliver()).chats == {LIU}
    desk.travel(nov(24, 17, 29))
    assert (await desk.tick()).actions == []
    desk.travel(nov(24, 17, 30))  # still unsolved past his deadline: up to 区长
    assert (await desk.tick()).actions == ["W0001:escalate:2"]
    inbox = await desk.deliver()
    assert WANG in inbox.chats and LI not in inbox.chats
    assert "W0001 因未按时办结，已上报至区长" in inbox.text(WANG)

    desk.travel(nov(30, 9, 0))
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:2"]
    assert (await desk.deliver()).chats == {WANG}
    desk.travel(datetime(2026, 12, 1, 17, 30, tzinfo=SHANGHAI))  # 5 working days at 区长
    assert (await desk.tick()).actions == ["W0001:escalate:3"]
    inbox = await desk.deliver()
    assert inbox.chats == {LI, WANG, LIU, ZHAO, HAO}, inbox
    assert "已上报至区委书记/领导小组" in inbox.text(LI) and len(inbox.text(LI).splitlines()) <= 4
    assert inbox.callback_data(LI) == [[["pb:cmt:1", "pb:show:1"]]]
    assert inbox.callback_data(WANG) == [[["pb:show:1"]]]  # told it went up, with the card a press away
    problem = await desk.problem()
    assert (problem.level, problem.status, problem.response_due_at) == (3, "open", None)

    # At the top (resolution due Tue 8 Dec 17:30) a breach moves nothing: reported once to everyone.
    desk.travel(datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI))
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:3"]
    assert (await desk.deliver()).chats == {LI}
    desk.travel(datetime(2026, 12, 8, 17, 30, tzinfo=SHANGHAI))
    assert (await desk.tick()).actions == ["W0001:overdue:resolution:3"]
    inbox = await desk.deliver()
    assert inbox.chats == {LI, WANG, LIU, ZHAO, HAO}, inbox
    assert all("问题已超期" in inbox.text(chat) and "超过办结时限" in inbox.text(chat) for chat in inbox.chats)

    shown = len(sends(tg.fake.calls))
    for later in (datetime(2026, 12, 9, 9, 0, tzinfo=SHANGHAI), datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI)):
        desk.travel(later)
        assert (await desk.tick()).actions == []
        await desk.deliver()
    assert len(sends(tg.fake.calls)) == shown  # nothing more reached anyone
    assert (await desk.problem()).next_check_at is None
    assert await desk.events() == ["raised", "escalated", "escalated", "escalated"]


# --- 2. reopening ------------------------------------------------------------------------------------


async def test_unsolved_goes_back_to_work_at_the_same_level(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    await desk.escalate_to_lead()
    desk.travel(nov(18, 9, 30))
    await tg.press(LIU, "批示")
    await tg.send(LIU, "抓紧办理")
    await tg.send(ZHAO, "/answer W0001 2026-11-25 已协调")
    await tg.send(ZHAO, "/resolved W0001 已发证")
    await desk.deliver()
    before = await desk.problem()
    assert (before.status, before.level) == ("resolved", 1)

    desk.travel(nov(19, 10, 0))
    asked = await tg.press(HAO, "未解决")
    assert "请说明未解决的情况" in asked.text
    assert (await desk.problem()).status == "resolved"  # nothing happens until the reason is given
    done = await tg.send(HAO, "证还没拿到")
    assert "W0001 已退回重办" in done.text

    problem = await desk.problem()
    assert (problem.status, problem.level) == ("accepted", 1)
    # A fresh level-1 resolution clock (5 working days from Thursday the 19th), checked again in time.
    assert problem.resolution_due_at == nov(26, 17, 30)
    assert problem.next_check_at is not None and problem.next_check_at <= nov(26, 17, 30)

    # One notice each: the unit's with its buttons (it has to act again), the lead official's without.
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO, LIU}, inbox
    for chat in (ZHAO, LIU):
        [notice] = inbox.texts(chat)
        assert notice.startswith("🔔 W0001 退回重办（未解决）：郝芳\n内容：证还没拿到\n"), notice
        assert "状态：办理中" in notice and "办结时限：2026-11-26 17:30" in notice
    # Accepted once already: no 受理 any more.
    assert inbox.callback_data(ZHAO) == [[["pb:ans:1", "pb:rea:1"], ["pb:rsv:1"]]]
    assert inbox.callback_data(LIU) == [[]]

    card = await tg.send(HAO, "/issue W0001")
    assert "状态：办理中" in card.text and "当前层级：包抓领导" in card.text
    history = card.text[card.text.index("办理记录"):]
    order = ["郝芳 提出", "系统 上报至包抓领导", "刘文华 批示：抓紧办理", "赵芳 答复：已协调",
             "赵芳 报告已解决：已发证", "郝芳 退回重办：证还没拿到"]
    positions = [history.find(step) for step in order]
    assert -1 not in positions, history
    assert positions == sorted(positions), history

    # The unit can report it solved again, and the raiser is asked again.
    again = await tg.send(ZHAO, "/resolved W0001 这次真的发证了")
    assert "已报告解决" in again.text
    inbox = await desk.deliver()
    assert inbox.callback_data(HAO) == [[["pb:cfm:1", "pb:rop:1"]]]


# --- 3. the guided /issue flow -----------------------------------------------------------------------


async def test_guided_issue_to_a_supporting_unit(desk: Desk) -> None:
    tg = desk.tg
    desk.travel(nov(16, 10, 0))
    picked = await tg.send(HAO, "/issue")
    assert "请选择反映问题的项目" in picked.text
    assert picked.buttons == ["ZD2026-001 城北高速连接线", "取消"]

    categories = await tg.press(HAO, "ZD2026-001 城北高速连接线")
    assert "请选择问题类别" in categories.text
    assert {"用地", "征地拆迁", "资金", "审批手续", "水电路气", "取消"} <= set(categories.buttons)

    asked = await tg.press(HAO, "水电路气")
    assert "类别：水电路气" in asked.text
    photos = await tg.send(HAO, "施工用电迟迟未接入")
    assert photos.buttons == ["完成（不再上传照片）", "取消"]
    assert "已收到 1 张照片" in (await tg.photo(HAO)).text

    units = await tg.press(HAO, "完成（不再上传照片）")
    assert "请选择责任单位" in units.text
    assert units.buttons == ["牵头单位：区住建局", "配合单位：区工信局", "配合单位：区发改局", "配合单位：城北街道",
                             "取消"]
    assert await desk.problem_count() == 0

    summary = await tg.press(HAO, "配合单位：区工信局")
    assert "责任单位：区工信局" in summary.text and "照片：1 张" in summary.text
    assert "问题：施工用电迟迟未接入" in summary.text
    assert summary.buttons == ["确认", "取消"]
    assert await desk.problem_count() == 0  # nothing until confirmed

    raised = await tg.press(HAO, "确认")
    assert "编号 <b>W0001</b>" in raised.text and "已交办 区工信局" in raised.text
    assert "办结时限：2026-11-23 17:30" in raised.text  # 水电路气: 5 working days
    problem = await desk.problem()
    assert (problem.unit.name, problem.category, problem.text) == ("区工信局", "水电路气", "施工用电迟迟未接入")
    assert len(problem.photos) == 1

    inbox = await desk.deliver()
    assert inbox.chats == {HU}, inbox
    assert "新问题交办" in inbox.text(HU) and "区工信局" in inbox.text(HU)
    assert inbox.callback_data(HU) == [[["pb:acc:1", "pb:ans:1"], ["pb:rea:1", "pb:rsv:1"]]]

    # 胡杰 can accept it; 赵芳 (区住建局) cannot even see it.
    assert "W0001 已受理" in (await tg.press(HU, "受理")).text
    assert (await desk.problem()).status == "accepted"
    assert "无权查看" in (await tg.send(ZHAO, "/issue W0001")).text


async def test_guided_issue_can_be_cancelled(desk: Desk) -> None:
    tg = desk.tg
    await tg.send(HAO, "/issue")
    await tg.press(HAO, "ZD2026-001 城北高速连接线")
    await tg.press(HAO, "用地")
    await tg.send(HAO, "还有12户未签约")
    cancelled = await tg.press(HAO, "取消")
    assert "已取消，未提交问题" in cancelled.text
    assert await desk.problem_count() == 0
    assert "没有与您相关的未销号问题" in (await tg.send(HAO, "/issues")).text
    assert (await desk.deliver()).calls == []


# --- 4. who may do what ------------------------------------------------------------------------------


async def _state(desk: Desk) -> tuple[str, int, list[str]]:
    problem = await desk.problem()
    return problem.status, problem.level, await desk.events()


async def test_another_units_handler_cannot_accept(desk: Desk) -> None:
    await desk.raise_w0001()
    before = await _state(desk)

    refused(await desk.tg.send(HU, "/accept W0001"), "W0001", "无权查看")

    assert await _state(desk) == before
    assert (await desk.deliver()).calls == []


async def test_only_the_raiser_confirms(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    await tg.send(ZHAO, "/resolved W0001 已发证")
    await desk.deliver()
    before = await _state(desk)

    refused(await tg.send(WU, "/confirm W0001"), "W0001", "无权查看")
    refused(await tg.send(ZHAO, "/confirm W0001"), "没有权限使用 /confirm")  # the unit cannot close its own
    assert await _state(desk) == before
    assert (await desk.deliver()).calls == []


async def test_people_outside_its_scope_cannot_see_it(desk: Desk) -> None:
    """The project's 包抓领导 and the top officials see a problem from the moment it is raised (it has not
    reached them); another project's liaison and another unit's handler do not."""
    tg = desk.tg
    await desk.raise_w0001()
    for user in (WU, HU):
        refused(await tg.send(user, "/issue W0001"), "没有找到问题 W0001，或您无权查看")
    for user in (ZHAO, LIU, WANG, LI):
        assert "施工许可迟迟未批" in (await tg.send(user, "/issue W0001")).text, user
    assert "没有找到问题 W0002" in (await tg.send(HAO, "/issue W0002")).text


async def test_a_unit_handler_cannot_comment(desk: Desk) -> None:
    await desk.raise_w0001()
    before = await _state(desk)

    refused(await desk.tg.send(ZHAO, "/comment W0001 我来批示一下"), "没有权限使用 /comment")

    assert await _state(desk) == before
    assert (await desk.deliver()).calls == []


async def test_leaders_comment_before_it_reaches_them(desk: Desk) -> None:
    """刘文华 (包抓领导 of the project) and 王立军 (区长) may 批示 while the problem is still at the unit:
    recorded, sent to everyone on it, and no level changes."""
    await desk.raise_w0001()
    card = await desk.tg.send(LIU, "/issue W0001")
    assert card.buttons == ["批示"]
    assert "批示已送达" in (await desk.tg.send(WANG, "/comment W0001 尽快")).text
    status, level, events = await _state(desk)
    assert (status, level) == ("open", 0) and events[-1] == "comment"


async def test_the_raiser_cannot_confirm_before_it_is_resolved(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    before = await _state(desk)

    refused(await tg.send(HAO, "/confirm W0001"), "W0001 尚未报告解决（当前状态：待受理），不能销号或退回")
    refused(await tg.send(HAO, "/reopen W0001 还没办"), "W0001 尚未报告解决")

    assert await _state(desk) == before
    assert (await desk.deliver()).calls == []


async def test_a_liaison_cannot_raise_on_another_project(desk: Desk) -> None:
    refused(await desk.tg.send(HAO, "/issue ZD2026-002 用地 x"), "您不是项目 ZD2026-002", "的联络员")
    assert await desk.problem_count() == 0
    assert (await desk.deliver()).calls == []


async def test_a_unit_handler_cannot_raise(desk: Desk) -> None:
    refused(await desk.tg.send(ZHAO, RAISE), "只有项目联络员可以反映问题")
    assert await desk.problem_count() == 0


async def test_the_unit_cannot_act_once_resolved_or_closed(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    await tg.send(ZHAO, "/resolved W0001 已发证")
    refused(await tg.send(ZHAO, "/answer W0001 再答复一次"),
            "W0001 已由 赵芳 于 2026-11-16 08:30 报告解决，正在等待提出人确认销号，不能再办理")
    await desk.deliver()
    await tg.press(HAO, "确认销号")
    refused(await tg.send(ZHAO, "/resolved W0001 又解决了"), "W0001 已由 郝芳 于", "确认销号，无需再办理")
    # Closed already: said so, not "not yet resolved".
    refused(await tg.send(HAO, "/confirm W0001"), "W0001 已由 郝芳 于 2026-11-16 08:30 确认销号")
    assert await desk.events() == ["raised", "resolved", "closed"]


async def test_admin_confirms_on_behalf_and_history_says_so(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    await tg.send(ZHAO, "/resolved W0001 已发证")
    await desk.deliver()

    done = await tg.send(ADMIN, "/confirm W0001")

    assert "W0001 已确认销号" in done.text
    assert (await desk.problem()).status == "closed"
    async with tg.session() as session:
        [closed] = [e for e in await repo.history(session, problem_id=1) if e.kind == "closed"]
        assert closed.detail == {"as_admin": True}
        assert closed.actor is not None and closed.actor.name == "管理员(区重大项目办)"
    inbox = await desk.deliver()
    assert HAO in inbox.chats and ZHAO in inbox.chats
    assert "已确认销号：管理员(区重大项目办)（管理员代为销号）" in inbox.text(HAO)
    card = await tg.send(HAO, "/issue W0001")
    assert "管理员(区重大项目办) 确认销号（管理员代为销号）" in card.text
    assert "状态：已销号" in card.text


# --- 5. idempotency ----------------------------------------------------------------------------------


async def test_ticks_and_senders_deliver_each_notice_once(desk: Desk) -> None:
    await desk.raise_w0001()

    # The 09:00 nudge: two ticks at the same moment, one notice.
    desk.travel(nov(16, 9, 0))
    first, second = await desk.tick(), await desk.tick()
    assert first.actions == ["W0001:nudge:response:0"]
    assert (second.checked, second.actions) == (0, [])
    inbox = await desk.deliver()
    assert len(inbox.texts(ZHAO)) == 1 and inbox.chats == {ZHAO}

    # The escalation: the tick commits its notices, then "the process dies" before sending; after a
    # restart the tick runs again at the same moment and a new sender drains the outbox.
    desk.travel(nov(17, 17, 30))
    rows_before = len(await desk.outbox_rows())
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    written = len(await desk.outbox_rows()) - rows_before
    assert written == 3  # 刘文华, and 郝芳 and 赵芳 told it went up
    again = await desk.tick()
    assert again.actions == []
    assert len(await desk.outbox_rows()) - rows_before == written

    inbox = await desk.deliver(desk.sender())
    assert {chat: len(inbox.texts(chat)) for chat in inbox.chats} == {LIU: 1, HAO: 1, ZHAO: 1}
    assert (await desk.deliver(desk.sender())).calls == []  # yet another sender: nothing left
    assert await desk.events() == ["raised", "escalated"]
    assert all(row.state == "sent" for row in await desk.outbox_rows())

    # The same escalation cannot be recorded twice even when the same tick is replayed later.
    desk.travel(nov(17, 17, 45))
    assert (await desk.tick()).actions == []
    assert (await desk.deliver()).calls == []


async def test_a_sender_that_died_mid_send_is_taken_over_once_its_lease_ends(desk: Desk) -> None:
    """Rows claimed by a sender that died before sending are not sent by another one at once, but when
    the claim's lease (10 minutes) has run out; and then exactly once."""
    await desk.raise_w0001()
    desk.travel(nov(17, 17, 30))
    await desk.tick()
    now = desk.tg.clock.now()
    async with desk.tg.session() as session:
        claimed = await outbox_sending.claim_due_messages(session, now=now, limit=100,
                                                      lease_until=now + timedelta(minutes=10),
                                                      channels=["telegram"])
    assert len(claimed) == 3

    assert (await desk.deliver()).calls == []  # still leased to the dead sender
    desk.travel(nov(17, 17, 41))
    inbox = await desk.deliver()
    assert {chat: len(inbox.texts(chat)) for chat in inbox.chats} == {LIU: 1, HAO: 1, ZHAO: 1}
    desk.travel(nov(17, 18, 0))
    assert (await desk.deliver()).calls == []


# --- 6. /issues per person ---------------------------------------------------------------------------


def _listed(replies: Replies) -> set[str]:
    return {word for line in replies.text.splitlines() for word in line.split()[:1] if word.startswith("W0")}


async def test_issues_lists_each_persons_problems(desk: Desk) -> None:
    tg = desk.tg
    desk.travel(nov(16, 8, 30))
    await tg.send(HAO, RAISE)  # W0001 to 区住建局
    await tg.send(HAO, "/issue ZD2026-001 资金 拨付滞后")  # W0002 to 区住建局
    await tg.send(WU, "/issue ZD2026-002 用地 用地指标未落实")  # W0003 to 区城管局 (ZD2026-002's lead unit)
    await tg.send(ZHAO, "/accept W0002")  # W0002 will not escalate on the response clock

    assert _listed(await tg.send(HAO, "/issues")) == {"W0001", "W0002"}
    assert _listed(await tg.send(WU, "/issues")) == {"W0003"}
    assert _listed(await tg.send(ZHAO, "/issues")) == {"W0001", "W0002"}
    assert _listed(await tg.send(HU, "/issues")) == set()
    # 刘文华 holds ZD2026-001: its problems are his from the start; the tops see every problem.
    assert _listed(await tg.send(LIU, "/issues")) == {"W0001", "W0002"}
    for top in (WANG, LI):
        assert _listed(await tg.send(top, "/issues")) == {"W0001", "W0002", "W0003"}
    assert _listed(await tg.send(ADMIN, "/issues")) == {"W0001", "W0002", "W0003"}

    # Tuesday 17:30: W0001 goes up to 刘文华 (W0003 to ZD2026-002's lead official, not him).
    desk.travel(nov(17, 17, 30))
    assert set((await desk.tick()).actions) == {"W0001:escalate:1", "W0003:escalate:1"}
    assert _listed(await tg.send(LIU, "/issues")) == {"W0001", "W0002"}

    # Still unsolved past the level's deadline (Tue 24 17:30), W0001 goes up to 区长 (W0003 too).
    desk.travel(nov(18, 17, 30))
    assert (await desk.tick()).actions == []  # no 批示 is no reason to go up
    desk.travel(nov(24, 17, 30))
    assert set((await desk.tick()).actions) == {"W0001:escalate:2", "W0003:escalate:2"}
    assert _listed(await tg.send(WANG, "/issues")) == {"W0001", "W0002", "W0003"}
    assert _listed(await tg.send(LIU, "/issues")) == {"W0001", "W0002"}

    # Closed problems leave the default list but stay in 全部.
    await tg.send(ZHAO, "/resolved W0002 已拨付")
    await tg.send(HAO, "/confirm W0002")
    assert _listed(await tg.send(HAO, "/issues")) == {"W0001"}
    assert _listed(await tg.send(HAO, "/issues 全部")) == {"W0001", "W0002"}
    assert _listed(await tg.send(ZHAO, "/issues")) == {"W0001"}


# --- deactivated people ------------------------------------------------------------------------------


async def test_a_deactivated_raisers_resolved_notice_goes_to_the_admin(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    deactivated = await tg.send(ADMIN, "/deactivate 郝芳")
    assert "郝芳" in deactivated.text
    await tg.send(ZHAO, "/resolved W0001 已发证")

    inbox = await desk.deliver()

    assert HAO not in inbox.chats  # never to the deactivated raiser
    assert "W0001" in inbox.text(ADMIN) and "已发证" in inbox.text(ADMIN)
    rows = [row for row in await desk.outbox_rows() if "已发证" in row.payload["html"]]
    assert {row.chat_id for row in rows} == {str(ADMIN)}


async def test_a_photo_sent_while_issue_waits_for_a_category_is_kept_and_points_to_the_buttons(desk: Desk) -> None:
    """A photo sent while /issue asks for the category (a button step) is kept for the problem, and the reply points
    to the buttons still shown (the hint's template was once given nothing to say whether they are buttons)."""
    tg = desk.tg
    await tg.send(HAO, "/issue")
    await tg.press(HAO, "ZD2026-001 城北高速连接线")
    kept = await tg.photo(HAO)
    assert "已收到照片，现有 1 张，将随这个问题一并提交。" in kept.text, kept
    assert "请点击上面的按钮继续" in kept.text, kept
