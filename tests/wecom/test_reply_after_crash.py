"""A WeCom reply is not lost to a crash between the commit and the send: the process stored a member's report and was
killed before its confirmation went out, the message left in its inbox's journal as answered and not done; the next
process to start takes the journal over, and the member gets the confirmation, once, and the report is not stored
again. On SQLite and PostgreSQL. Nor is what a reply's buttons need remembered (a numbered list's numbers, a card's
labels) lost to a kill while it is written: the reply's last message has not gone out then, and goes with the rest.

The process that "dies" handles the message through its router (the commit) and leaves the journal a killed process
leaves (``tests.wecom.test_inbox.died_with``); the one after it is a new core on the same database, serving the real
channel against the fake WeCom.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core
from bot.channels.inbox import Answered
from bot.channels.wecom.incoming import incoming_from
from bot.clock import FrozenClock
from bot.config import Settings
from bot.ops.inbox_backup import restore_inbox, save_inbox
from bot.services.ledger_import import import_ledger_files
from bot.services.shared_memory import SharedMemory
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, running
from tests.fakes.wecom_api import FakeWeCom
from tests.polling import until
from tests.wecom.harness import HAO, WeComHarness, WeComReplies
from tests.wecom.test_inbox import died_with, journals, message

CONFIRMED = "已记录填报"


@pytest.fixture(params=BACKENDS)
async def core(request: pytest.FixtureRequest, wc_settings: Settings,
               frozen_clock: FrozenClock) -> AsyncIterator[Core]:
    async with fresh_database(request.param) as db:
        summary = await import_ledger_files(db, frozen_clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
        yield Core.build(wc_settings, clock=frozen_clock, db=db)


def confirmations(fake: FakeWeCom) -> list[str]:
    return [shown for shown in fake.shown(HAO) if CONFIRMED in shown]


async def reports(harness: WeComHarness) -> int:
    return len(await harness.reports(withdrawn=None))


async def test_a_report_stored_before_a_kill_is_confirmed_once_after_the_restart(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    async with running(WeComHarness(fake_wecom, core, wc_settings)) as before:
        await before.bind(HAO, "郝芳")
    key, userid, fields = message(fake_wecom, HAO, "/report ZD2026-001 850万 桩基完成")
    incoming, _press = incoming_from(userid, fields, pressed_number=lambda _user, _text: None,
                                     greet=lambda _user: False)
    assert incoming is not None
    outcome = await core.router.handle(incoming)  # stored, its key with it: then the process was killed
    assert CONFIRMED in outcome.replies[0].html
    died_with(folder, [(key, userid, core.clock.now().timestamp(), fields)])
    assert confirmations(fake_wecom) == []

    restarted = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, restarted, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        assert after.channel.stats["recovered"] == 1
        [text] = confirmations(fake_wecom)
        assert "850" in text
        assert await reports(after) == 1
    assert journals(folder) == []

    died_with(folder, [(key, userid, core.clock.now().timestamp(), fields)])  # handed back once more
    again = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, again, wc_settings, inbox=folder)) as later:
        await later.channel.idle(timeout=30)
        assert later.channel.stats["recovered"] == 1
        assert len(confirmations(fake_wecom)) == 1  # answered once
        assert await reports(later) == 1


LONG = "主体结构施工完成" * 240  # a 形象进度 whose confirmation goes out as three WeCom messages


async def test_a_confirmation_cut_off_by_a_stop_sends_only_its_parts_not_sent_after_the_restart(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    """The stop's grace ended while the second of the confirmation's three messages was on its way (WeCom's rate
    limit or a slow API): the restart sends the second and the third, not the first again."""
    folder = tmp_path / "inbox"
    before = WeComHarness(fake_wecom, core, wc_settings, inbox=folder)
    await before.start()
    await before.bind(HAO, "郝芳")
    mark = len(fake_wecom.calls)
    fake_wecom.inject_fault("message/send", status=502, delay=60, after=1)  # the second message hangs
    report = fake_wecom.text_xml(HAO, f"/report ZD2026-001 850万 {LONG}")
    status, _text = await fake_wecom.post_callback(before.url, report)
    assert status == 200
    await until(lambda: len(fake_wecom.shown(HAO, since=mark)) == 1, "the first message shown")
    await before.channel.close(timeout=0.2)  # the stop's grace over: the message cut off
    await before.stop()
    fake_wecom.faults.clear()
    [first] = fake_wecom.shown(HAO, since=mark)
    assert CONFIRMED in first and await reports(before) == 1

    restarted = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, restarted, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        assert after.channel.stats["recovered"] == 1
    shown = fake_wecom.shown(HAO, since=mark)
    assert len(shown) == 3 and shown[0] == first and CONFIRMED not in "".join(shown[1:]), shown
    assert "".join(shown).count("主体结构施工完成") == 240  # the progress said once, whole
    assert await reports(after) == 1
    assert journals(folder) == []


async def test_a_restored_message_the_restored_database_holds_answered_is_not_answered_again(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    """A backup kept 郝芳's report as answered and not handled (its journal read first), though it was handled and
    confirmed before the database was copied: put back by `diaodu restore`, it is taken over and not answered
    again (the journal restored is no process's that died with it), nor stored again."""
    async with running(WeComHarness(fake_wecom, core, wc_settings)) as before:
        await before.bind(HAO, "郝芳")
        key, userid, fields = message(fake_wecom, HAO, "/report ZD2026-001 850万 桩基完成")
        saved = [Answered(key, userid, core.clock.now().timestamp(), fields)]  # the backup read the journal
        incoming, _press = incoming_from(userid, fields, pressed_number=lambda _user, _text: None,
                                         greet=lambda _user: False)
        assert incoming is not None
        await before.channel.deliver(userid, await core.router.handle(incoming))  # then handled and answered
    assert len(confirmations(fake_wecom)) == 1
    backup = tmp_path / "backups" / "diaodu.sqlite3"
    assert save_inbox(saved, backup) is not None
    folder = tmp_path / "inbox"
    assert restore_inbox(backup, folder) is not None

    restarted = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, restarted, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        assert after.channel.stats["recovered"] == 1
        assert len(confirmations(fake_wecom)) == 1
        assert await reports(after) == 1
    assert journals(folder) == []


class KilledAt:
    """The database's memory (``SharedMemory``), one call of which never returns: the process is killed there."""

    def __init__(self, real: SharedMemory, call: str, prefix: str) -> None:
        self.real = real
        self.call = call
        self.prefix = prefix
        self.reached = asyncio.Event()

    async def _maybe_killed(self, call: str, name: str) -> None:
        if call == self.call and name.startswith(self.prefix):
            self.reached.set()
            await asyncio.Event().wait()

    async def put(self, name: str, value: Any, *, ttl: float) -> None:
        await self._maybe_killed("put", name)
        await self.real.put(name, value, ttl=ttl)

    async def forget(self, name: str) -> None:
        await self._maybe_killed("forget", name)
        await self.real.forget(name)

    async def get(self, name: str) -> Any:
        return await self.real.get(name)


async def killed_while(harness: WeComHarness, call: str, action: Awaitable[object], *,
                       what: str = "wecom-numbers:") -> None:
    """``action`` under way, the process killed as it writes (``call``) a button memory (``what``: a member's
    numbered list, by default) to the database: its stop's grace over, what it was doing cut off there, its journal
    kept."""
    killer = KilledAt(harness.channel.transport.memory, call, what)  # type: ignore[arg-type]
    harness.channel.transport.memory = killer  # type: ignore[assignment]
    acting = asyncio.ensure_future(action)
    await until(killer.reached.is_set, f"the {call} of {what}")
    await harness.channel.close(timeout=0.2)
    await harness.stop()
    with contextlib.suppress(Exception):
        await acting


CATEGORIES = "[2] 征地拆迁"  # the numbered list of a problem's categories (ten: more than a card holds)


async def test_a_numbered_list_shown_before_a_kill_answers_its_number_after_the_restart(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    """Killed as it remembered the numbers of the list it shows: after the restart the list is shown, once, and
    its number picks from it."""
    folder = tmp_path / "inbox"
    before = WeComHarness(fake_wecom, core, wc_settings, inbox=folder)
    await before.start()
    await before.bind(HAO, "郝芳")
    mark = len(fake_wecom.calls)
    await before.send(HAO, "问题")
    await killed_while(before, "put", before.press(HAO, "ZD2026-001 城北高速连接线"))

    restarted = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, restarted, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        assert "\n".join(fake_wecom.shown(HAO, since=mark)).count(CATEGORIES) == 1
        asked = await after.send(HAO, "2")
        assert after.spy.handled[-1].callback_data == "iss:c:1", asked  # the number picked 征地拆迁
    assert journals(folder) == []


async def test_a_list_answered_before_a_kill_does_not_take_a_number_after_the_restart(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    """Killed as it forgot the numbered list shown, the message after it answered with no list: after the restart
    a number is text again, not a pick from the old list."""
    folder = tmp_path / "inbox"
    before = WeComHarness(fake_wecom, core, wc_settings, inbox=folder)
    await before.start()
    await before.bind(HAO, "郝芳")
    await before.send(HAO, "问题")
    listed = await before.press(HAO, "ZD2026-001 城北高速连接线")
    assert CATEGORIES in listed.text
    await killed_while(before, "forget", before.send(HAO, "/help"))

    restarted = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, restarted, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        await after.send(HAO, "2")
        assert after.spy.handled[-1].text == "2" and after.spy.handled[-1].callback_data is None
    assert journals(folder) == []


async def test_a_card_shown_before_a_kill_says_which_button_was_pressed_after_the_restart(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    """Killed as it remembered a card's buttons: after the restart the card is shown, once, and pressing it
    replaces its buttons by 「已选择:…」."""
    folder = tmp_path / "inbox"
    before = WeComHarness(fake_wecom, core, wc_settings, inbox=folder)
    await before.start()
    await before.bind(HAO, "郝芳")
    mark = len(fake_wecom.calls)
    await killed_while(before, "put", before.send(HAO, "问题"), what="wecom-card:")

    restarted = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, restarted, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        assert len(WeComReplies(fake_wecom.sent_to(HAO, since=mark)).cards) == 1
        card = fake_wecom.find_card(HAO, "取消")
        await after.press(HAO, "取消")
        assert card.replaced_by is not None and "取消" in card.replaced_by, card.replaced_by
    assert journals(folder) == []


async def test_a_message_handled_anew_after_a_kill_is_not_resumed_where_the_handling_before_stopped(
        fake_wecom: FakeWeCom, core: Core, wc_settings: Settings, tmp_path: Path) -> None:
    """The first process sent two of the three messages of an answer that stored nothing and was killed; the second
    handled the message anew, stored the report (its confirmation kept) and was killed before any of it went out:
    the third sends the whole confirmation, not its last message only."""
    folder = tmp_path / "inbox"
    async with running(WeComHarness(fake_wecom, core, wc_settings)) as before:
        await before.bind(HAO, "郝芳")
    key, userid, fields = message(fake_wecom, HAO, f"/report ZD2026-001 850万 {LONG}")
    died_with(folder, [(key, userid, core.clock.now().timestamp(), fields)], sent=[(key, 0, 2, 1)])
    mark = len(fake_wecom.calls)
    hangs = fake_wecom.inject_fault("message/send", status=502, delay=60)
    second = WeComHarness(fake_wecom, Core.build(wc_settings, clock=core.clock, db=core.db), wc_settings,
                          inbox=folder)
    await second.start()
    await until(lambda: hangs.times == 0, "the confirmation's first message on its way")
    await second.channel.close(timeout=0.2)  # killed: nothing of the confirmation went out
    await second.stop()
    fake_wecom.faults.clear()
    assert await reports(second) == 1 and fake_wecom.shown(HAO, since=mark) == []

    third = Core.build(wc_settings, clock=core.clock, db=core.db)
    async with running(WeComHarness(fake_wecom, third, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        assert after.channel.stats["recovered"] == 1
    shown = fake_wecom.shown(HAO, since=mark)
    assert len(shown) == 3 and CONFIRMED in shown[0], shown
    assert "".join(shown).count("主体结构施工完成") == 240  # the progress said once, whole
    assert await reports(after) == 1
    assert journals(folder) == []
