"""A WeCom reply is not lost to a crash between the commit and the send: the process stored a member's report and was
killed before its confirmation went out, the message left in its inbox's journal as answered and not done; the next
process to start takes the journal over, and the member gets the confirmation, once, and the report is not stored
again. On SQLite and PostgreSQL.

The process that "dies" handles the message through its router (the commit) and leaves the journal a killed process
leaves (``tests.wecom.test_inbox.died_with``); the one after it is a new core on the same database, serving the real
channel against the fake WeCom.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Core
from bot.channels.inbox import Answered
from bot.channels.wecom.incoming import incoming_from
from bot.clock import FrozenClock
from bot.config import Settings
from bot.ops.inbox_backup import restore_inbox, save_inbox
from bot.services.ledger_import import import_ledger_files
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, running
from tests.fakes.wecom_api import FakeWeCom
from tests.polling import until
from tests.wecom.harness import HAO, WeComHarness
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
