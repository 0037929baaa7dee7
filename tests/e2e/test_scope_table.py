"""The scope table (README, bot.domain.scope) walked end to end, on Telegram (the real PTB Application and
the fake Bot API) and on WeCom (the real callback endpoint and the fake WeCom server).

W0001 is raised by 郝芳 on ZD2026-001 (包抓领导 刘文华, lead unit 区住建局, where 赵芳 is the handler). For each
person, on each channel, every problem command is typed and every problem button pressed (the ones the
card offers, and the others forged, as an old or forwarded message would carry them), with the problem
put first in the state the act needs (待受理 for the unit's acts and 批示, 待销号 for 确认销号 / 未解决).
What they see, the buttons their card shows, and what each command and button did are compared with the
table below, written out by hand.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from bot.app import Core
from bot.channels.wecom.windows import SlidingWindow
from bot.clock import SHANGHAI, FrozenClock
from handlers.routes import BUTTONS as ROUTED
from storage import problems as repo
from storage.models import AuditEntry, Conversation, Invite, Person, Problem, ProblemEvent, Report
from tests.e2e.harness import Replies, TelegramHarness, e2e_settings, running, sample_core
from tests.e2e.test_help_by_role import ARGS, ROLE_ARGS, help_lines, refused_for_role
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import WeComHarness, wecom_settings

TEXT = "施工许可迟迟未批"
RAISE = f"/issue ZD2026-001 审批手续 {TEXT}"
# Who tries, the role they are bound with, and their Telegram user id (WeCom userid: "u" + the id).
PEOPLE = {
    "郝芳": ("liaison", 1001),  # raised W0001, liaison of ZD2026-001
    "武杰": ("liaison", 1002),  # liaison of ZD2026-002
    "赵芳": ("unit", 3003),  # handler of 区住建局, the unit W0001 is assigned to
    "胡杰": ("unit", 3004),  # handler of 区工信局, a supporting unit of ZD2026-001
    "刘文华": ("lead", 4001),  # 包抓领导 of ZD2026-001
    "周海燕": ("lead", 4002),  # 包抓领导 of ZD2026-002
    "王立军": ("top", 5001),  # 区长
    "管理员(区重大项目办)": ("admin", 9001),
}
OPEN, RESOLVED = "open", "resolved"
# command → (the state W0001 is put in first, the event the act records, what is typed after the number)
COMMANDS = {
    "accept": (OPEN, "accepted", ""),
    "answer": (OPEN, "answered", "已协调住建部门加快审批"),
    "reassign": (OPEN, "reassign_requested", "不属于本单位职责"),
    "resolved": (OPEN, "resolved", "已取得施工许可"),
    "comment": (OPEN, "comment", "请加快办理"),
    "confirm": (RESOLVED, "closed", ""),
    "reopen": (RESOLVED, "reopened", "仍未解决"),
}
# button code → the command it stands for (the text asked for is the command's)
BUTTONS = {"acc": "accept", "ans": "answer", "rea": "reassign", "rsv": "resolved", "cmt": "comment",
           "cfm": "confirm", "rop": "reopen"}
UNIT_CARD = ["受理", "答复", "申请改派", "已解决"]
ASKING = ("请输入", "请说明")  # how a button asks for the text of its act


@dataclass(frozen=True)
class Row:
    """One line of the scope table: whether the person sees W0001, the buttons of its card when it is
    待受理 and when it is 待销号, and the commands that act."""

    sees: bool
    card_open: list[str]
    card_resolved: list[str]
    acts: frozenset[str]


HIDDEN = Row(False, [], [], frozenset())
TABLE = {
    "郝芳": Row(True, [], ["确认销号", "未解决"], frozenset({"confirm", "reopen"})),
    "武杰": HIDDEN,
    "赵芳": Row(True, UNIT_CARD, [], frozenset({"accept", "answer", "reassign", "resolved"})),
    "胡杰": HIDDEN,
    "刘文华": Row(True, ["批示"], ["批示"], frozenset({"comment"})),
    "周海燕": HIDDEN,
    "王立军": Row(True, ["批示"], ["批示"], frozenset({"comment"})),
    "管理员(区重大项目办)": Row(True, ["批示"], ["确认销号", "批示"], frozenset({"comment", "confirm"})),
}
# The admin when 区住建局 has no active handler: he acts for the unit (代办).
STAND_IN = Row(True, [*UNIT_CARD, "批示"], ["确认销号", "批示"],
               frozenset({"accept", "answer", "reassign", "resolved", "comment", "confirm"}))


@dataclass
class Said:
    text: str
    buttons: list[str]


class Driver:
    """One channel, as the people above use it."""

    core: Core

    async def bind(self, name: str) -> None:
        raise NotImplementedError

    async def send(self, name: str, text: str) -> Said:
        raise NotImplementedError

    async def press(self, name: str, data: str) -> Said:
        """Press a button carrying `data`, whether or not a message of theirs shows it."""
        raise NotImplementedError

    async def other_inputs(self, name: str) -> list[Said]:
        """What else the channel lets a person send: a photo (and a WeCom menu click)."""
        raise NotImplementedError


class TelegramDriver(Driver):
    def __init__(self, tg: TelegramHarness) -> None:
        self.tg, self.core = tg, tg.core

    async def bind(self, name: str) -> None:
        role, user = PEOPLE[name]
        await self.tg.bind(user, name, role)

    async def send(self, name: str, text: str) -> Said:
        replies = await self.tg.send(PEOPLE[name][1], text)
        return Said(replies.text, replies.buttons)

    async def press(self, name: str, data: str) -> Said:
        user = PEOPLE[name][1]
        fake = self.tg.fake
        try:
            message_id, _ = fake.find_button(user, data=data)
        except LookupError:  # forged on the newest message of the chat
            message_id = max(m for chat, m in fake.messages if chat == user)
        mark = len(fake.calls)
        update = fake.enqueue_callback(user, data, message_id=message_id)
        await self.tg.wait_processed(update["update_id"])
        calls = [c for c in fake.calls[mark:] if c.method == "sendMessage" and c.ok and c["chat_id"] == user]
        replies = Replies(calls)
        return Said(replies.text, replies.buttons)

    async def other_inputs(self, name: str) -> list[Said]:
        replies = await self.tg.photo(PEOPLE[name][1], "ZD2026-001 850万 桩基完成")
        return [Said(replies.text, replies.buttons)]


class WeComDriver(Driver):
    def __init__(self, wecom: WeComHarness) -> None:
        self.wecom, self.core = wecom, wecom.core
        self._tasks = itertools.count(1)
        # A walk sends one member far more than WeCom's 30 messages a minute, in seconds: the real limit
        # would have the bot wait (rightly) for a minute; these tests are about what is sent, not when.
        wecom.channel.transport.window = SlidingWindow(100_000, 60)
        wecom.fake.member_limits = False

    @staticmethod
    def userid(name: str) -> str:
        return f"u{PEOPLE[name][1]}"

    async def bind(self, name: str) -> None:
        await self.wecom.bind(self.userid(name), name, PEOPLE[name][0])

    async def send(self, name: str, text: str) -> Said:
        replies = await self.wecom.send(self.userid(name), text)
        return Said(replies.text, replies.buttons)

    async def press(self, name: str, data: str) -> Said:
        userid = self.userid(name)
        xml = self.wecom.fake.event_xml(userid, "template_card_event", data, TaskId=f"forged{next(self._tasks)}",
                                        CardType="button_interaction")
        replies = await self.wecom.exchange(userid, xml)
        return Said(replies.text, replies.buttons)

    async def other_inputs(self, name: str) -> list[Said]:
        userid = self.userid(name)
        return [Said(r.text, r.buttons) for r in (await self.wecom.photo(userid),
                                                  await self.wecom.click(userid, "/report"))]


@pytest.fixture(params=["telegram", "wecom"])
async def driver(request: pytest.FixtureRequest, frozen_clock: FrozenClock, ledger_template: Path,
                 tmp_path: Path) -> AsyncIterator[Driver]:
    if request.param == "telegram":
        async with FakeBotAPI() as fake:
            settings = e2e_settings(fake, DATA_DIR=str(tmp_path / "data"))
            async with sample_core(settings, frozen_clock, ledger_template) as core, \
                    running(TelegramHarness(fake, core, settings)) as tg:
                yield TelegramDriver(tg)
                tg.assert_nothing_failed()
    else:
        async with FakeWeCom() as fake_wecom:
            settings = wecom_settings(fake_wecom, DATA_DIR=str(tmp_path / "data"))
            async with sample_core(settings, frozen_clock, ledger_template) as core, \
                    running(WeComHarness(fake_wecom, core, settings)) as wecom:
                yield WeComDriver(wecom)
                assert wecom.channel.stats["failed"] == 0


@pytest.fixture
async def fake_wecom_driver(frozen_clock: FrozenClock, ledger_template: Path,
                            tmp_path: Path) -> AsyncIterator[WeComDriver]:
    """The WeCom driver alone (for walks that Telegram's own tests already make)."""
    async with FakeWeCom() as fake_wecom:
        settings = wecom_settings(fake_wecom, DATA_DIR=str(tmp_path / "data"))
        async with sample_core(settings, frozen_clock, ledger_template) as core, \
                running(WeComHarness(fake_wecom, core, settings)) as wecom:
            yield WeComDriver(wecom)
            assert wecom.channel.stats["failed"] == 0


async def _put(core: Core, status: str) -> None:
    """W0001 in that state at the unit, with no reassignment waiting (one is asked once at a time)."""
    async with core.db.session() as session:
        await session.execute(update(Problem).where(Problem.id == 1).values(status=status, level=0))
        await session.execute(delete(ProblemEvent).where(ProblemEvent.problem_id == 1,
                                                         ProblemEvent.kind == "reassign_requested"))


async def _events(core: Core) -> list[str]:
    async with core.db.session() as session:
        return [e.kind for e in await repo.history(session, problem_id=1)]


async def _acted(driver: Driver, name: str, command: str, attempt: object) -> bool:
    """Whether the attempt (a coroutine typing or pressing something) recorded the command's event."""
    state, event, _ = COMMANDS[command]
    await _put(driver.core, state)
    before = await _events(driver.core)
    said = await attempt  # type: ignore[misc]
    after = await _events(driver.core)
    assert said.text, (name, command)  # always answered
    if len(after) == len(before):
        return False
    assert after[len(before):][0] == event, (name, command, after[len(before):])
    return True


async def _walk(driver: Driver, name: str, row: Row) -> None:
    if name != "郝芳":
        await driver.bind(name)
    # What they see: the card, and W0001 in /issues (the problem's text never reaches who may not see it).
    await _put(driver.core, OPEN)
    card = await driver.send(name, "/issue W0001")
    assert (TEXT in card.text) is row.sees, (name, card.text)
    assert ("没有找到问题 W0001" in card.text) is not row.sees
    assert card.buttons == row.card_open, name
    assert ("W0001" in (await driver.send(name, "/issues")).text) is row.sees, name
    shown = await driver.press(name, "pb:show:1")
    assert (TEXT in shown.text) is row.sees and shown.buttons == row.card_open, (name, shown)
    await _put(driver.core, RESOLVED)
    assert (await driver.send(name, "/issue W0001")).buttons == row.card_resolved, name
    # Everyone may see a project's card (the bulletins publish every project).
    assert "城北高速连接线" in (await driver.send(name, "/project ZD2026-001")).text

    typed = set()
    for command, (_, _, words) in COMMANDS.items():
        if await _acted(driver, name, command, driver.send(name, f"/{command} W0001 {words}".strip())):
            typed.add(command)
    assert typed == row.acts, name

    pressed = set()
    for code, command in BUTTONS.items():
        state, event, words = COMMANDS[command]
        await _put(driver.core, state)
        before = await _events(driver.core)
        said = await driver.press(name, f"pb:{code}:1")
        asked = any(phrase in said.text for phrase in ASKING)
        if asked:
            said = await driver.send(name, words)  # the text the button asked for
        assert said.text, (name, code)
        assert TEXT not in said.text or row.sees, (name, code)
        after = await _events(driver.core)
        if len(after) > len(before):
            assert after[len(before)] == event, (name, code, after[len(before):])
            pressed.add(command)
        else:  # a button they may not press asks them for nothing
            assert not asked, (name, code, said.text)
    assert pressed == row.acts, name


# One person per role (each holds only that role in the roster): role → (Telegram id, name).
HELP_CALLERS = {"liaison": (1001, "郝芳"), "unit": (3003, "赵芳"), "lead": (4001, "刘文华"), "top": (5001, "王立军"),
                "admin": (9001, "管理员(区重大项目办)")}
IDS = {"郝芳": "raiser", "武杰": "other-liaison", "赵芳": "unit", "胡杰": "other-unit", "刘文华": "lead",
       "周海燕": "other-lead", "王立军": "top", "管理员(区重大项目办)": "admin"}


@pytest.mark.parametrize("name", sorted(PEOPLE), ids=IDS.get)
async def test_the_scope_table(driver: Driver, name: str) -> None:
    await driver.bind("郝芳")
    assert "W0001" in (await driver.send("郝芳", RAISE)).text
    await _walk(driver, name, TABLE[name])


async def test_the_admin_acts_for_a_unit_without_handlers(driver: Driver) -> None:
    await driver.bind("郝芳")
    assert "W0001" in (await driver.send("郝芳", RAISE)).text
    async with driver.core.db.session() as session:
        await session.execute(update(Person).where(Person.name == "赵芳").values(active=False))
    await _walk(driver, "管理员(区重大项目办)", STAND_IN)


async def test_a_deactivated_person_is_told_so_whatever_they_send(driver: Driver) -> None:
    await driver.bind("郝芳")
    assert "W0001" in (await driver.send("郝芳", RAISE)).text
    admin = "管理员(区重大项目办)"
    await driver.bind(admin)
    assert "已停用" in (await driver.send(admin, "/deactivate 郝芳")).text
    line = "您的账号已停用，请联系项目办。"

    said = [await driver.send("郝芳", text) for text in ("/help", "/issues", "/issue W0001", RAISE, "你好")]
    said += [await driver.press("郝芳", data) for data in ("pb:show:1", "pb:cfm:1", "pj:ZD2026-001")]
    said += await driver.other_inputs("郝芳")
    assert [(s.text.strip(), s.buttons) for s in said] == [(line, [])] * len(said)
    assert await _events(driver.core) == ["raised"]  # nothing she sent changed anything


async def test_a_leaders_issues_come_most_urgent_first(driver: Driver) -> None:
    """刘文华's /issues: the open problems of his projects, the one past its 受理 deadline first and marked."""
    for name in ("郝芳", "赵芳", "刘文华"):
        await driver.bind(name)
    assert "W0001" in (await driver.send("郝芳", "/issue ZD2026-001 资金 拨付滞后")).text
    assert "W0002" in (await driver.send("郝芳", RAISE)).text
    assert "已受理" in (await driver.send("赵芳", "/accept W0001")).text  # its 受理 clock stops
    assert isinstance(driver.core.clock, FrozenClock)
    driver.core.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))  # W0002's 受理 was due Mon 23 17:30

    listed = [line for line in (await driver.send("刘文华", "/issues")).text.splitlines() if line.startswith("W0")]
    assert [line.split()[0] for line in listed] == ["W0002", "W0001"]
    assert listed[0].endswith("⚠️已超期") and "已超期" not in listed[1]


@pytest.mark.parametrize("role", sorted(HELP_CALLERS))
async def test_help_lists_exactly_what_each_role_may_use_on_wecom(fake_wecom_driver: WeComDriver,
                                                                 role: str) -> None:
    """tests/e2e/test_help_by_role.py's walk, on WeCom: every registered command, as each role."""
    driver = fake_wecom_driver
    name = HELP_CALLERS[role][1]
    for who in {"郝芳", name}:
        await driver.bind(who)
    assert "W0001" in (await driver.send("郝芳", "/issue ZD2026-001 审批手续 施工许可迟迟未批")).text
    async with driver.core.db.session() as session:
        await session.execute(update(Problem).where(Problem.id == 1).values(level=3))
    if role == "admin":
        assert "W0002" in (await driver.send(name, "/decide 协调临时用电 区住建局 2026-12-20")).text

    listed = help_lines((await driver.send(name, "/help")).text)
    usable, refusals = set(), {}
    for command in driver.core.router.commands:
        args = ROLE_ARGS.get(role, {}).get(command.name, ARGS.get(command.name, ""))
        said = await driver.wecom.send(driver.userid(name), f"/{command.name} {args}".strip())
        assert said.messages, command.name
        if refused_for_role(said.text):
            refusals[command.name] = said.text
        else:
            usable.add(command.name)
    assert set(listed) == usable, {"listed, refused": {n: refusals[n] for n in set(listed) & set(refusals)},
                                   "usable, not listed": usable - set(listed)}


# Every kind of button the router knows (its prefixes are walked, so a new one must be listed here), forged
# as an old or forwarded message would carry it: the roles whose press may change something, and whether
# it must. Everyone else's press is answered and changes nothing.
FORGED = {
    "adp:inv:liaison:{wu}": ({"admin"}, True),  # an invite for 武杰
    "adp:dea:{wu}": ({"admin"}, True),  # deactivates 武杰
    "imp:ok": ({"admin"}, False),  # no preview waiting: expired
    "obx:all": ({"admin"}, False),  # nothing failed to retry
    "ps:ok": ({"admin"}, False),  # no change waiting for 确认修改
    "pg:people:2:": ({"admin"}, False),
    "pg:issues:1:": (set(HELP_CALLERS), False),
    "rp:p:ZD2026-001": ({"liaison"}, True),  # 郝芳's guided report starts
    "cr:p:ZD2026-001": ({"liaison", "admin"}, False),  # no correction under way: expired
    "bf:ok": ({"admin"}, False),  # no 补报 waiting for 确认补报: expired
    "iss:p:ZD2026-001": ({"liaison"}, False),  # no /issue under way: expired
    "pj:ZD2026-001": (set(HELP_CALLERS), False),
    "pb:exy:1": ({"lead", "admin"}, False),  # no extension asked
    "pb:acc:1": ({"unit"}, True),
    "ra:y:1": ({"admin"}, False),  # no reassignment asked
    "bc:ok": ({"admin"}, False),  # no broadcast waiting for 确认发送
    "web:/web/": (set(HELP_CALLERS), False),  # a sign-in link (none here: WEB_PUBLIC_URL is not set)
    "hm:p:ZD2026-001": ({"liaison"}, True),  # 郝芳's half-monthly report starts
    "se:s:start:ZD2026-002": ({"admin"}, True),  # 开工 reported for 武杰's project (admins may)
    "se:c:99999": ({"unit", "admin"}, False),  # no such 开工/竣工 report to confirm
    "lv:x:99999": (set(), False),  # no such leave to end
    "nd:d:2": ({"liaison"}, True),  # 郝芳 starts marking ZD2026-001's 路基完成 done (the sample's second node)
}


async def _fingerprint(core: Core) -> tuple[object, ...]:
    """Row counts of what a press could write, who is active, and which guided flows are under way."""
    async with core.db.session() as session:
        counts = [await session.scalar(select(func.count()).select_from(model))
                  for model in (Invite, AuditEntry, Report, ProblemEvent, Conversation)]
        active = await session.scalar(select(func.count()).select_from(Person).where(Person.active.is_(True)))
        flows = sorted((await session.scalars(select(Conversation.flow))).all())
    return (*[int(c or 0) for c in counts], int(active or 0), tuple(flows))


@pytest.mark.parametrize("role", sorted(HELP_CALLERS))
async def test_every_kind_of_button_pressed_by_every_role(driver: Driver, role: str) -> None:
    assert {key.split(":")[0] for key in FORGED} == set(ROUTED)
    name = HELP_CALLERS[role][1]
    for who in {"郝芳", name}:
        await driver.bind(who)
    assert "W0001" in (await driver.send("郝芳", RAISE)).text
    async with driver.core.db.session() as session:
        wu = await session.scalar(select(Person.id).where(Person.name == "武杰"))
    for forged, (roles, changes) in FORGED.items():
        before = await _fingerprint(driver.core)
        said = await driver.press(name, forged.format(wu=wu))
        after = await _fingerprint(driver.core)
        assert said.text, forged
        if role in roles:
            assert (after != before) is changes, (forged, said.text)
        else:
            assert after == before, (forged, said.text)
            assert not any(phrase in said.text for phrase in ASKING), (forged, said.text)
