"""The WeCom inbox (``bot.channels.wecom.inbox``): a journal left by a process that died is taken over by the next
one to start, in the order its messages were answered; one a running process holds is not; a line cut by a crash
is skipped; the journal is emptied when nothing is left open, and rewritten with the open ones past its size
limit under steady traffic. Through the channel: messages recovered are handled
before new ones, also when they were marked seen before the crash, and one the router had handled already is not
acted on again; a report recovered after midnight counts for the day it was answered. Through `diaodu backup`,
`diaodu restore` and `diaodu run`: a message left in a journal is kept by the backup and handled once after a
restore.

A process that "dies" is a child Python process that writes to its inbox and ends with ``os._exit`` (nothing
closed, as when it is killed).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.app import ConfigurationError, Core, serve
from bot.channels import inbox as inbox_module
from bot.channels.base import Progress
from bot.channels.wecom.crypto import parse_xml
from bot.channels.wecom.inbox import SUFFIX, Answered, Inbox, journal_lines, open_in, outstanding
from bot.channels.wecom.incoming import dedupe_key
from bot.clock import SHANGHAI, SystemClock
from bot.config import Settings
from bot.services.ledger_import import import_ledger_files
from storage import people
from storage.audit import Actor
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Problem, Report
from tests.e2e.harness import running, serving
from tests.fakes.wecom_api import FakeWeCom
from tests.ops.helpers import SAMPLE
from tests.polling import until
from tests.wecom.harness import HAO, WeComHarness, wecom_settings

REPO = Path(__file__).resolve().parents[2]
# what a member may type, kept as typed: lines, quotes, backslashes, emoji of several code points, XML's syntax
HOSTILE = "第一行\r\n\"引号\" \\n 👷‍♂️🇨🇳 ]]> <xml>" + "主体结构" * 150
DIES = """
import json, os, sys
from pathlib import Path
from bot.channels.base import Progress
from bot.channels.wecom.inbox import Inbox
inbox = Inbox.open(Path(sys.argv[1]))
answered, done, sent = json.loads(sys.argv[2])
for key, userid, at, fields in answered:
    inbox.add(key, userid, fields, at=at)
for key, replies, parts, of in sent:
    inbox.sent(key, Progress(replies, parts), of=of)
for key in done:
    inbox.done(key)
os._exit(0)
"""


def died_with(folder: Path, answered: list[tuple[str, str, float, dict[str, str]]], done: list[str] = (),
              sent: list[tuple[str, int, int, int]] = ()) -> None:
    """A process that answered ``answered``, sent replies to some (``sent``: key, replies whole, parts of the next,
    of how many replies), handled ``done`` and was killed, its journal left in ``folder``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", DIES, str(folder), json.dumps([answered, list(done), list(sent)])],
                   check=True, env=env, cwd=REPO, timeout=60)


def journals(folder: Path) -> list[Path]:
    return sorted(folder.glob("*" + SUFFIX))


def message(fake: FakeWeCom, userid: str, text: str) -> tuple[str, str, dict[str, str]]:
    """(key, userid, fields) of a text message as the callback decrypts it."""
    fields = parse_xml(fake.text_xml(userid, text))
    return dedupe_key(fields), userid, fields


async def test_a_journal_left_by_a_killed_process_is_taken_over_in_the_order_answered(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    died_with(folder, [("m:1", "a", 10.0, {"Content": "一"}), ("m:2", "b", 11.0, {"Content": "二"}),
                       ("m:3", "a", 12.0, {"Content": HOSTILE})], done=["m:2"])
    (left_before,) = journals(folder)
    claiming = folder / "1-1.new"  # a process killed while it claimed its journal
    claiming.write_text("")
    os.utime(claiming, (1.0, 1.0))  # long ago
    other = folder / ("0-0" + SUFFIX)  # another process of the same folder, killed too
    other.write_text(json.dumps({"k": "m:4", "u": "a", "t": 11.5, "f": {"Content": "四"}}) + "\n")

    inbox = Inbox.open(folder)
    try:
        assert [(a.key, a.userid, a.fields["Content"]) for a in inbox.recovered] == [
            ("m:1", "a", "一"), ("m:4", "a", "四"), ("m:3", "a", HOSTILE)]
        assert journals(folder) == [inbox.path] and not left_before.exists() and not other.exists()
        assert not claiming.exists()
        # copied into the new journal: a crash now loses them no more than before
        assert [a.key for a in outstanding(inbox.path.read_bytes())] == ["m:1", "m:4", "m:3"]
        beside = Inbox.open(folder)  # a second process starting: the journal is held, not taken over
        assert beside.recovered == []
        await beside.close()
    finally:
        await inbox.close()
    assert journals(folder) == [inbox.path]  # closed with three not done: kept for the next start


async def test_how_far_the_replies_went_is_taken_over_kept_by_a_backup_and_the_last_part_makes_it_done(
        tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    died_with(folder, [("m:1", "a", 10.0, {"Content": "一"}), ("m:2", "a", 11.0, {"Content": "二"}),
                       ("m:3", "b", 12.0, {"Content": "三"})],
              sent=[("m:1", 0, 1, 2), ("m:1", 1, 2, 2), ("m:3", 0, 1, 1), ("m:3", 1, 0, 1)])
    assert [(a.key, a.sent) for a in open_in(folder)] == [("m:1", Progress(1, 2)), ("m:2", Progress())]

    inbox = Inbox.open(folder)
    try:
        assert [(a.key, a.sent) for a in inbox.recovered] == [("m:1", Progress(1, 2)), ("m:2", Progress())]
        assert [(a.key, a.sent) for a in outstanding(inbox.path.read_bytes())] == [
            ("m:1", Progress(1, 2)), ("m:2", Progress())]  # copied with the messages
        inbox.sent("m:2", Progress(0, 1), of=1)
        inbox.sent("m:1", Progress(2, 0), of=2)  # the last part of the last reply: done
        assert [(a.key, a.sent) for a in outstanding(inbox.path.read_bytes())] == [("m:2", Progress(0, 1))]
    finally:
        await inbox.close()


async def test_a_line_cut_by_a_crash_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    whole = json.dumps({"k": "m:1", "u": "a", "t": 1.0, "f": {"Content": "完整"}})
    (folder / ("1-1" + SUFFIX)).write_text(whole + "\n" + whole.replace("m:1", "m:2")[:25])
    inbox = Inbox.open(folder)
    await inbox.close()
    assert [a.key for a in inbox.recovered] == ["m:1"]


async def test_the_journal_is_emptied_when_nothing_is_left_open_and_deleted_at_a_clean_stop(tmp_path: Path) -> None:
    inbox = Inbox.open(tmp_path / "inbox")
    inbox.add("m:1", "a", {"Content": "一"}, at=1.0)
    inbox.add("m:2", "a", {"Content": "二"}, at=2.0)
    await inbox.flush()
    inbox.done("m:1")
    assert [a.key for a in outstanding(inbox.path.read_bytes())] == ["m:2"]
    inbox.done("m:2")
    assert inbox.path.stat().st_size == 0
    inbox.add("m:3", "a", {"Content": "三"}, at=3.0)
    assert [a.key for a in outstanding(inbox.path.read_bytes())] == ["m:3"]
    inbox.done("m:3")
    await inbox.close()
    assert journals(tmp_path / "inbox") == []


async def test_under_steady_traffic_the_journal_is_rewritten_with_only_the_open_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something is always open, so the journal is never emptied: past its size limit it is rewritten, still
    locked by its process (the lines written while it is rewritten kept too), and what a restart recovers from it is
    the same."""
    monkeypatch.setattr(inbox_module, "COMPACT_BYTES", 4096)
    folder = tmp_path / "inbox"
    inbox = Inbox.open(folder)
    largest = 0
    for n in range(500):
        inbox.add(f"m:{n}", "a", {"Content": f"第{n}条 {HOSTILE[:40]}"}, at=float(n))
        inbox.sync_soon()
        if n >= 2:
            inbox.done(f"m:{n - 2}")
        if n % 10 == 0:  # (and the rewrite under way, in the inbox's thread while the journal takes new lines)
            await inbox.flush()
        largest = max(largest, inbox.path.stat().st_size)
    await inbox.flush()
    assert largest < 2 * 4096
    assert [a.key for a in outstanding(inbox.path.read_bytes())] == ["m:498", "m:499"]
    other = Inbox.open(folder)  # the journal is still held: not taken over
    assert other.recovered == []
    await other.close()

    await inbox.close()  # messages still open: kept for the next start, as after a kill
    again = Inbox.open(folder)
    try:
        assert [(a.key, a.fields["Content"]) for a in again.recovered] == \
            [("m:498", f"第498条 {HOSTILE[:40]}"), ("m:499", f"第499条 {HOSTILE[:40]}")]
        assert journals(folder) == [again.path] and list(folder.glob("*.new")) == []
    finally:
        await again.close()


async def test_recovered_messages_are_handled_first_once_even_when_marked_seen_before_the_crash(
    fake_wecom: FakeWeCom, wecom_core: Core, wc_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings)) as before:
        await before.bind(HAO, "郝芳")
        handled = message(fake_wecom, HAO, "/issue ZD2026-001 用地 崩溃前已处理")
        await before.exchange(HAO, fake_wecom.text_xml(HAO, handled[2]["Content"], msg_id=handled[2]["MsgId"]))
        marked = message(fake_wecom, HAO, "/issue ZD2026-001 资金 崩溃前已标记")
        assert await before.channel.memory.first_sighting("wecom-msg:" + marked[0], ttl=600)
    fresh = message(fake_wecom, HAO, "/issue ZD2026-001 审批手续 崩溃前未处理")
    died_with(folder, [(key, userid, n, fields) for n, (key, userid, fields) in enumerate([handled, marked, fresh])])

    mark = len(fake_wecom.calls)
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings, inbox=folder)) as after:
        await after.send(HAO, "/issue ZD2026-001 其他 重启后新发")
        async with after.session() as session:
            texts = list((await session.scalars(select(Problem.text).order_by(Problem.id))).all())
        assert after.channel.stats["recovered"] == 3
    assert texts == ["崩溃前已处理", "崩溃前已标记", "崩溃前未处理", "重启后新发"]
    told = [shown for shown in fake_wecom.shown(HAO, since=mark) if "已登记" in shown]
    assert ["W0002" in told[0], "W0003" in told[1], "W0004" in told[2]] == [True] * 3 and len(told) == 3, told
    assert journals(folder) == []


async def test_diaodu_run_refuses_to_start_where_the_inbox_cannot_be_kept(
        fake_wecom: FakeWeCom, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    data = tmp_path / "data"
    data.write_text("")  # a file where the data folder should be
    settings = wecom_settings(fake_wecom, DATABASE_URL=url, DATA_DIR=str(data), HTTP_HOST="127.0.0.1", HTTP_PORT=0)

    with pytest.raises(ConfigurationError) as refused:
        await asyncio.wait_for(serve(settings, stop=asyncio.Event()), 60)

    assert refused.value.reason == "wecom_inbox"
    said = str(refused.value)
    assert said.startswith(f"企业微信消息暂存目录 {data / 'wecom-inbox'} 无法写入：")
    assert said.endswith("请检查 DATA_DIR 的位置和权限。")


async def test_a_report_recovered_after_midnight_counts_for_the_day_it_was_answered(
    fake_wecom: FakeWeCom, wecom_core: Core, wc_settings: Settings, tmp_path: Path
) -> None:
    """A report answered at 23:50 on Monday, the process killed before it was handled, and recovered at the start on
    Tuesday: Monday's report, as the liaison sent it (its own time, not the clock's at the handling)."""
    folder = tmp_path / "inbox"
    clock = wecom_core.clock
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings)) as before:
        await before.bind(HAO, "郝芳")
    monday_night = datetime(2026, 11, 23, 23, 50, tzinfo=SHANGHAI)
    key, userid, fields = message(fake_wecom, HAO, "ZD2026-001 850万 桩基完成")
    died_with(folder, [(key, userid, monday_night.timestamp(), fields)])
    clock.set(datetime(2026, 11, 24, 0, 30, tzinfo=SHANGHAI))  # restarted on Tuesday
    mark = len(fake_wecom.calls)
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings, inbox=folder)) as after:
        await after.channel.idle(timeout=30)
        async with after.session() as session:
            days = list((await session.scalars(select(Report.local_day))).all())
    assert days == [date(2026, 11, 23)]
    assert any("850" in shown for shown in fake_wecom.shown(HAO, since=mark))
    assert journals(folder) == []


async def test_a_message_left_in_the_journal_is_backed_up_restored_and_handled_once_by_diaodu_run(
    fake_wecom: FakeWeCom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A problem raised in WeCom, answered and not handled when the bot was killed; `diaodu backup` keeps it beside
    the database copy, `diaodu restore` on a new machine puts it back, and `diaodu run` there handles it, once."""
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite+aiosqlite:///{data / 'diaodu.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        clock = SystemClock()
        assert not (await import_ledger_files(db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"))).issues
        async with db.session() as session:
            [hao] = await people.find_people_by_name(session, name="郝芳")
            await people.bind_account(session, person=hao, channel="wecom", external_id=HAO, chat_id=HAO,
                                      display_name=None, now=clock.now())
    finally:
        await db.dispose()
    fake_wecom.add_user(HAO)
    key, userid, fields = message(fake_wecom, HAO, "/issue ZD2026-001 用地 备份前收到")
    died_with(data / "wecom-inbox", [(key, userid, time.time(), fields)])
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(data))
    backup = tmp_path / "backups" / "diaodu.sqlite3"
    assert await asyncio.to_thread(main, ["backup", "--out", str(backup)]) == 0
    assert "已备份企业微信已收到、尚未处理的消息 1 条" in capsys.readouterr().out

    elsewhere = tmp_path / "elsewhere"  # the machine lost with its data: the backup restored on another
    restored = f"sqlite+aiosqlite:///{elsewhere / 'diaodu.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", restored)
    monkeypatch.setenv("DATA_DIR", str(elsewhere))
    assert await asyncio.to_thread(main, ["restore", str(backup)]) == 0
    assert "已恢复企业微信已收到、尚未处理的消息 1 条" in capsys.readouterr().out
    assert len(journals(elsewhere / "wecom-inbox")) == 1

    settings = wecom_settings(fake_wecom, DATABASE_URL=restored, DATA_DIR=str(elsewhere), HTTP_HOST="127.0.0.1",
                              HTTP_PORT=0)
    task, stop, _port = await serving(settings)
    try:
        await until(lambda: any("已登记" in shown for shown in fake_wecom.shown(HAO)), "the problem raised", 60)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    db = Database(restored)
    try:
        async with db.session() as session:
            assert list((await session.scalars(select(Problem.text))).all()) == ["备份前收到"]
    finally:
        await db.dispose()
    assert len([shown for shown in fake_wecom.shown(HAO) if "已登记" in shown]) == 1
    assert journals(elsewhere / "wecom-inbox") == []


async def test_a_running_process_takes_over_the_journal_of_one_that_died_meanwhile_when_told(
    fake_wecom: FakeWeCom, wecom_core: Core, wc_settings: Settings, tmp_path: Path,
    caplog: pytest.LogCaptureFixture
) -> None:
    """Another process of the same folder, started after this one, dies with a message answered and not handled:
    nothing takes it over until this process is told to (as it becomes the leader, ``bot.channels.journals``),
    and then it is handled once, its journal deleted; the log names the inbox."""
    folder = tmp_path / "inbox"
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings, inbox=folder)) as harness:
        await harness.bind(HAO, "郝芳")
        left = message(fake_wecom, HAO, "/issue ZD2026-001 用地 另一进程已应答")
        died_with(folder, [(left[0], left[1], time.time(), left[2])])
        assert len(journals(folder)) == 2
        with caplog.at_level("WARNING", logger=inbox_module.__name__):
            harness.channel.take_over()
            await harness.channel.idle(timeout=30)
            harness.channel.take_over()  # nothing left to take over: not handled again
            await harness.channel.idle(timeout=30)
        assert "WeCom inbox: 1 messages answered by a process that died" in caplog.text
        assert journals(folder) == [harness.channel.inbox.path]
        assert harness.channel.stats["recovered"] == 1
        async with harness.session() as session:
            assert list((await session.scalars(select(Problem.text))).all()) == ["另一进程已应答"]


async def test_the_log_names_the_inbox_that_takes_a_journal_over(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "telegram-inbox"
    died_with(folder, [("7", "1001", 10.0, {"update": "{}"})])
    with caplog.at_level("WARNING", logger=inbox_module.__name__):
        inbox = Inbox.open(folder, name="Telegram inbox")
    await inbox.close()
    assert "Telegram inbox: 1 messages answered before a restart and not handled" in caplog.text


def on_a_full_disk(folder: Path) -> Inbox:
    """A journal on a disk with no room left: every write to it fails (``ENOSPC``), as the kernel's full device
    makes it."""
    folder.mkdir(parents=True, exist_ok=True)
    return Inbox(folder, os.open("/dev/full", os.O_WRONLY | os.O_APPEND), folder / ("0-full" + SUFFIX), [])


async def test_a_message_the_journal_cannot_write_is_refused_so_that_wecom_posts_it_again(
    fake_wecom: FakeWeCom, wecom_core: Core, wc_settings: Settings, tmp_path: Path,
    caplog: pytest.LogCaptureFixture
) -> None:
    """The disk full: answered 200, the message would live in memory only (WeCom does not post it again) and a
    crash would lose it. It is answered 503, logged, and handled once WeCom's retry finds room."""
    folder = tmp_path / "inbox"
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings)) as binding:
        await binding.bind(HAO, "郝芳")
    raised = fake_wecom.text_xml(HAO, "/issue ZD2026-001 用地 磁盘满时发来")
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings, inbox=on_a_full_disk(folder))) as full:
        with caplog.at_level("ERROR", logger="bot.channels.wecom.callback"):
            status, _text = await full.post(raised)
        assert status == 503
        assert full.channel.stats["inbox_failed"] == 1 and full.channel.stats["queued"] == 0
        assert "could not write message" in caplog.text
        async with full.session() as session:
            assert list((await session.scalars(select(Problem.text))).all()) == []
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings, inbox=folder)) as room:
        status, _text = await room.post(raised)  # WeCom's retry
        assert status == 200
        async with room.session() as session:
            assert list((await session.scalars(select(Problem.text))).all()) == ["磁盘满时发来"]
    assert journals(folder) == []


async def test_the_journal_is_rewritten_off_the_event_loop_keeping_the_lines_written_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rewrite syncs the fresh file and the folder to the disk: each sync blocks for as long as the disk takes
    (seconds on a busy one), so none of them runs on the event loop, which answers the callbacks; the messages
    answered, and those done, while it is under way are in the journal it leaves."""
    monkeypatch.setattr(inbox_module, "COMPACT_BYTES", 4096)
    loop_thread = threading.current_thread()
    synced_on: list[threading.Thread] = []
    datasync, fsync = inbox_module._datasync, os.fsync

    def watched(sync: Callable[[int], None]) -> Callable[[int], None]:
        def run(fd: int) -> None:
            synced_on.append(threading.current_thread())
            sync(fd)
        return run

    monkeypatch.setattr(inbox_module, "_datasync", watched(datasync))
    monkeypatch.setattr(os, "fsync", watched(fsync))
    folder = tmp_path / "inbox"
    inbox = Inbox.open(folder)
    try:
        first = os.stat(inbox.path).st_ino
        for n in range(40):
            inbox.add(f"m:{n}", "a", {"Content": f"第{n}条 {HOSTILE[:40]}"}, at=float(n))
        for n in range(38):
            inbox.done(f"m:{n}")  # past the limit: the rewrite starts
        await asyncio.sleep(0)  # under way
        inbox.add("m:40", "a", {"Content": "改写时应答"}, at=40.0)
        inbox.done("m:38")
        await inbox.flush()
        assert os.stat(inbox.path).st_ino != first  # rewritten
        assert [a.key for a in outstanding(inbox.path.read_bytes())] == ["m:39", "m:40"]
        assert synced_on and loop_thread not in synced_on
    finally:
        await inbox.close()
    again = Inbox.open(folder)
    try:
        assert [a.key for a in again.recovered] == ["m:39", "m:40"]
    finally:
        await again.close()


async def test_a_message_two_journals_hold_is_taken_over_with_the_replies_gone_furthest(tmp_path: Path) -> None:
    """A process killed while it took a journal over leaves the message in both (its own copy then went on with the
    replies): the one that went furthest is what is kept, by the backup and the next start, whichever file comes
    first; only its replies not sent yet go out."""
    folder = tmp_path / "inbox"
    died_with(folder, [("m:1", "a", 10.0, {"Content": "一"})], sent=[("m:1", 1, 1, 3)])  # the copy gone further
    folder.joinpath("0-0" + SUFFIX).write_bytes(journal_lines(  # the journal it took over, first by name
        [Answered("m:1", "a", 10.0, {"Content": "一"}, sent=Progress(0, 1))]))
    assert [(a.key, a.sent) for a in open_in(folder)] == [("m:1", Progress(1, 1))]
    inbox = Inbox.open(folder)
    try:
        assert [(a.key, a.sent) for a in inbox.recovered] == [("m:1", Progress(1, 1))]
        assert [(a.key, a.sent) for a in outstanding(inbox.path.read_bytes())] == [("m:1", Progress(1, 1))]
    finally:
        await inbox.close()


async def test_a_journal_left_by_a_process_that_died_is_taken_over_by_one_process_only(tmp_path: Path) -> None:
    """Two running processes look for dead journals (a leader as it is elected, then every so often, the one before
    it perhaps not yet stopped): the one that locks the journal first takes it over, the other finds none."""
    folder = tmp_path / "inbox"
    one, other = Inbox.open(folder), Inbox.open(folder)
    try:
        died_with(folder, [("m:1", "a", 10.0, {"Content": "一"})])
        taken = [[a.key for a in one.take_over()], [a.key for a in other.take_over()],
                 [a.key for a in one.take_over()]]
        assert taken == [["m:1"], [], []]
        assert journals(folder) == sorted([one.path, other.path])
    finally:
        await one.close()
        await other.close()
