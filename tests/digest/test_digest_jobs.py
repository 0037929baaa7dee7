"""The bulletin jobs against the database: produced at most once per (kind, period) — twice in a row, by two
producers at once, or by ticks before, at and long after the scheduled time — and `diaodu digest` on a
migrated SQLite file.

A small district of its own: 区住建局 with its handler 赵芳, liaison 郝芳, lead official 刘文华 (Telegram
4001), 区长 王立军 (Telegram 5001), projects ZD2026-001…, and the leadership group chat GROUP. Week
2026-W47 runs from Monday 11/16 to Sunday 11/22; its bulletin is due Monday 11/23 at 09:00. October's
monthly bulletin is due on the first working day of November, Monday 11/2, at 09:00.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from bot import chart
from bot.__main__ import main
from bot.clock import SHANGHAI
from bot.domain.periods import parse_period
from bot.render import Renderer
from jobs import digests
from storage import people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Bulletin,
    BulletinGroup,
    OutboxMessage,
    Person,
    PersonRole,
    Project,
    Report,
    Unit,
)
from storage.settings import load_calendar, load_digest_settings
from tests.databases import database_of_its_own, fresh_database
from tests.fakes.bot_api import FakeBotAPI, utf16_len
from tests.storage.factories import SAMPLE_XLSX

RENDERER = Renderer()
GROUP = "-1001234567890"
W47 = parse_period("weekly", "2026-W47")
OCTOBER = parse_period("monthly", "2026-10")
LATE_NOTICE = "（本期周通报因系统停机补发）"


def local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


MONDAY_23 = date(2026, 11, 23)


@dataclass
class Seeded:
    projects: int
    lead: int
    top: int


async def seed(db: Database, *, projects: int = 3, long_names: bool = False) -> Seeded:
    """The district; every project led by 刘文华, reported on in week 47 (more for the lower codes)."""
    at = local(date(2026, 9, 1))
    async with db.session() as session:
        unit = Unit(name="区住建局", created_at=at)
        session.add(unit)
        await session.flush()

        def person(name: str, role: str, title: str | None = None) -> Person:
            return Person(name=name, title=title, unit_id=unit.id if role in ("unit", "liaison") else None,
                          active=True, created_at=at, roles=[PersonRole(role=role)])

        liaison, handler = person("郝芳", "liaison"), person("赵芳", "unit")
        lead, top = person("刘文华", "lead", "副区长(城建)"), person("王立军", "top", "区长")
        session.add_all([liaison, handler, lead, top])
        await session.flush()
        for chat, someone in ((4001, lead), (5001, top)):
            await people.bind_account(session, person=someone, channel="telegram", external_id=str(chat),
                                      chat_id=str(chat), display_name=someone.name, now=at)
        session.add(BulletinGroup(channel="telegram", chat_id=GROUP, name="领导小组", created_at=at,
                                  created_by="test"))
        suffix = "(含配套道路、综合管网及景观绿化工程)" if long_names else ""
        for n in range(1, projects + 1):
            project = Project(
                code=f"ZD2026-{n:03d}", name=f"城区更新项目{n}{suffix}", category="城建", location="河西镇",
                total_investment=Decimal(100000), annual_plan=Decimal(10000), done_before=Decimal(100 * n),
                baseline_year=2026, stage="在建", lead_unit_id=unit.id, lead_official_id=lead.id,
                liaison_id=liaison.id, created_at=at, updated_at=at,
            )
            session.add(project)
            await session.flush()
            for offset in range(n % 5):
                day = W47.start + timedelta(days=offset)
                session.add(Report(project_id=project.id, person_id=liaison.id, local_day=day,
                                   amount=Decimal(700), progress_text="", channel="telegram",
                                   created_at=local(day, 10)))
        return Seeded(projects=projects, lead=lead.id, top=top.id)


async def weekly_tick(db: Database, now: datetime, files_root: Path) -> list[digests.Produced]:
    """The digest tick, for the weekly bulletin only (a fresh database has every other kind due too)."""
    return await digests.run_due(db, RENDERER, now=now, files_root=files_root, kinds=("weekly",))


async def counts(db: Database) -> tuple[int, int]:
    """(bulletins, outbox rows)."""
    async with db.session() as session:
        bulletins = await session.scalar(select(func.count()).select_from(Bulletin))
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(bulletins or 0), int(rows or 0)


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def group_rows(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    return [r for r in rows if r.chat_id == GROUP]


@pytest.fixture
async def memory() -> AsyncIterator[Database]:
    """An in-memory SQLite database (for rules that do not depend on the backend)."""
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    try:
        yield db
    finally:
        await db.dispose()


# --- produce ------------------------------------------------------------------------------------------


async def test_a_period_is_produced_once(db: Database, tmp_path: Path) -> None:
    await seed(db)
    first = await digests.produce(db, RENDERER, period=W47, now=local(MONDAY_23), files_root=tmp_path)

    assert first == digests.Produced(kind="weekly", period="2026-W47", late=False, notices=7)
    rows = await outbox_rows(db)
    # The group: the text, the chart, the 填报率 heat map and the Excel ledger; 王立军: the summary and the chart;
    # 刘文华: his projects.
    assert sorted((r.chat_id, (r.payload.get("attachment") or {}).get("kind", "")) for r in rows) == [
        (GROUP, ""), (GROUP, "document"), (GROUP, "photo"), (GROUP, "photo"), ("4001", ""), ("5001", ""),
        ("5001", "photo")]
    assert all(r.state == "pending" for r in rows)
    assert (tmp_path / "bulletins" / "weekly" / "2026-W47" / "ranking.png").read_bytes()[:4] == b"\x89PNG"

    again = await digests.produce(db, RENDERER, period=W47, now=local(MONDAY_23, 9, 10), files_root=tmp_path)
    assert again is None
    assert await counts(db) == (1, 7)
    async with db.session() as session:
        bulletin = await session.scalar(select(Bulletin))
    assert bulletin is not None
    assert (bulletin.kind, bulletin.period, bulletin.late) == ("weekly", "2026-W47", False)
    assert bulletin.recipients == 7
    assert bulletin.summary == {"projects": 3, "parts": 1}


@pytest.fixture(params=["sqlite-file", "postgresql"])
async def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database two "processes" can use at once, with the schema: a SQLite file, or a scratch
    PostgreSQL database created next to TEST_DATABASE_URL's (dropped afterwards)."""
    if request.param == "sqlite-file":
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
        database = Database(url)
        await database.create_all()
        await database.dispose()
        yield url
        return
    async with AsyncExitStack() as stack:
        try:
            url = await stack.enter_async_context(database_of_its_own(f"diaodu_digest_{os.getpid()}"))
        except DBAPIError:  # no right to create databases: take turns on the shared test database instead
            async with fresh_database("postgresql") as shared:
                yield shared.url
            return
        database = Database(url)
        await database.create_all()
        await database.dispose()
        yield url


async def test_two_producers_at_once_make_one_bulletin(shared_url: str, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Two processes (two engines on one database) produce the same period at the same moment: both find
    no bulletin yet, the second one's claim waits for the first one's transaction and then hits the
    unique key, and it gives up without sending anything."""
    first, second = Database(shared_url), Database(shared_url)
    try:
        await seed(first)
        with caplog.at_level("INFO", logger="jobs.digests"):
            results = await asyncio.gather(*(
                digests.produce(db, RENDERER, period=W47, now=local(MONDAY_23), files_root=tmp_path / name)
                for db, name in ((first, "a"), (second, "b"))
            ))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert [r.getMessage() for r in caplog.records] == ["weekly 2026-W47 was produced by another process"]
        assert await counts(first) == (1, winners[0].notices) == (1, 7)
        rows = await outbox_rows(second)
        assert len({r.dedupe_key for r in rows}) == len(rows)
        assert sorted(r.chat_id or "" for r in rows) == sorted([GROUP, GROUP, GROUP, GROUP, "4001", "5001", "5001"])
        # Both ticks of a restarted pair find nothing left to do.
        ticks = await asyncio.gather(*(
            digests.run_due(db, RENDERER, now=local(MONDAY_23, 9, 10), files_root=tmp_path, kinds=("weekly",))
            for db in (first, second)
        ))
        assert ticks == [[], []]
        assert await counts(second) == (1, 7)
    finally:
        await first.dispose()
        await second.dispose()


# --- the tick -----------------------------------------------------------------------------------------


async def test_nothing_goes_out_before_the_scheduled_time(memory: Database, tmp_path: Path) -> None:
    """Last week's bulletin went out on Monday 11/16; this week's waits for Monday 11/23 09:00."""
    await seed(memory)
    last_week = await weekly_tick(memory, local(date(2026, 11, 16)), tmp_path)
    assert [(p.period, p.late) for p in last_week] == [("2026-W46", False)]

    for moment in (local(date(2026, 11, 20), 17), local(date(2026, 11, 22), 23, 59), local(MONDAY_23, 8, 59)):
        assert await weekly_tick(memory, moment, tmp_path) == []
    assert await counts(memory) == (1, 7)


@pytest.mark.parametrize(("hour", "minute", "late"),
                         [(9, 0, False), (9, 30, False), (9, 31, True), (11, 0, True)])
async def test_on_time_until_half_an_hour_after_then_late(memory: Database, tmp_path: Path, hour: int,
                                                          minute: int, late: bool) -> None:
    await seed(memory)
    now = local(MONDAY_23, hour, minute)

    produced = await weekly_tick(memory, now, tmp_path)

    assert produced == [digests.Produced(kind="weekly", period="2026-W47", late=late, notices=7)]
    async with memory.session() as session:
        bulletin = await session.scalar(select(Bulletin))
    assert bulletin is not None and bulletin.late is late
    first_part = group_rows(await outbox_rows(memory))[0].payload["html"]
    assert first_part.startswith(LATE_NOTICE) is late
    assert "重点项目周通报（2026-W47，截至 2026-11-22）" in first_part
    # The scheduler's later ticks, that day and the rest of the week, find it done.
    for later in (now + timedelta(minutes=10), now + timedelta(hours=3), local(date(2026, 11, 27), 18)):
        assert await weekly_tick(memory, later, tmp_path) == []
    assert await counts(memory) == (1, 7)


async def test_after_a_week_down_only_the_latest_week_goes_out_once(memory: Database, tmp_path: Path) -> None:
    """Down from Friday 11/20 to Tuesday 12/1: W47 (due 11/23) and W48 (due 11/30) were missed; W48 is
    produced once, late, and W47 never."""
    await seed(memory)
    ticks = [local(date(2026, 12, 1), 10, m) for m in (0, 10, 20)]
    results = [await weekly_tick(memory, t, tmp_path) for t in ticks]
    assert [[(p.period, p.late) for p in r] for r in results] == [[("2026-W48", True)], [], []]
    async with memory.session() as session:
        assert (await session.scalars(select(Bulletin.period))).all() == ["2026-W48"]


async def test_a_long_late_bulletin_still_fits_telegram(memory: Database, tmp_path: Path) -> None:
    """160 projects with long names: the group bulletin stays one message with the late notice in front;
    刘文华's digest of his 160 projects runs over several messages, every part within 4,096 UTF-16 units
    (each traffic-light emoji counts twice)."""
    await seed(memory, projects=160, long_names=True)
    produced = await digests.produce(memory, RENDERER, period=W47, now=local(MONDAY_23, 11),
                                     files_root=tmp_path, late=True)
    assert produced is not None and produced.late
    rows = await outbox_rows(memory)
    texts = [r.payload["html"] for r in rows if r.payload["html"]]
    assert max(utf16_len(t) for t in texts) <= 4096
    group = [r.payload["html"] for r in group_rows(rows) if r.payload["html"]]
    assert len(group) == 1 and group[0].startswith(LATE_NOTICE)
    assert "共 160 个，列前、后各 5 个" in group[0] and "见排名图和附件 Excel 台账" in group[0]
    leader = [r.payload["html"] for r in rows if r.chat_id == "4001"]
    assert len(leader) >= 2 and sum(part.count("城区更新项目") for part in leader) == 160


async def test_october_goes_out_on_the_first_working_day_of_november_with_the_ledger(
        db: Database, tmp_path: Path) -> None:
    await seed(db)
    before = await digests.run_due(db, RENDERER, now=local(date(2026, 11, 2), 8, 30), files_root=tmp_path,
                                   kinds=("monthly",))
    assert before == []

    produced = await digests.run_due(db, RENDERER, now=local(date(2026, 11, 2)), files_root=tmp_path,
                                     kinds=("monthly",))

    assert [(p.kind, p.period, p.late) for p in produced] == [("monthly", "2026-10", False)]
    group = group_rows(await outbox_rows(db))
    html = "\n".join(r.payload["html"] for r in group)
    assert "重点项目月通报（2026-10，2026-10-01 至 2026-10-31）" in html and "附件 Excel 台账" in html
    [text] = [r.payload["html"] for r in group if "重点项目月通报（" in r.payload["html"]]
    assert "\n\n\n" not in text, text  # one blank line between sections, never two
    # the units' scores say their window, the month (a weekly bulletin of a day ending both says its week)
    assert "<b>牵头单位综合得分</b>（按时填报、问题办结按本月 2026-10-01 至 2026-10-31 计" in text, text
    attachments = [r.payload["attachment"] for r in group if r.payload.get("attachment")]
    # ranking, units, the Excel ledger and the Word bulletin
    assert [a["kind"] for a in attachments] == ["photo", "photo", "document", "document"]
    ledger, word = [a for a in attachments if a["kind"] == "document"]
    assert ledger["filename"] == "重点项目台账_2026-10.xlsx" and ledger["path"].endswith(".xlsx")
    assert (tmp_path / ledger["path"]).read_bytes()[:2] == b"PK"  # a zip: an xlsx workbook
    assert word["filename"] == "重点项目通报_2026-10.docx"
    opened = Document(str(tmp_path / word["path"]))
    texts = [p.text for p in opened.paragraphs]
    assert texts[0] == "2026年10月全区重点项目建设月通报" and "一、总体情况" in texts and "四、问题办理情况" in texts
    assert "按时填报、问题办结按本月（10月1日至10月31日）计。" in texts
    assert len(opened.tables) >= 2 and opened.tables[0].rows[0].cells[1].text == "项目编号"
    assert await digests.run_due(db, RENDERER, now=local(date(2026, 11, 3)), files_root=tmp_path,
                                 kinds=("monthly",)) == []


# --- diaodu digest --------------------------------------------------------------------------------------


def _in_thread(function: Any, *args: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite file holding the sample ledger, named by DATABASE_URL; files under DATA_DIR. The ledger is
    in use since January (its projects entered then): a period of the autumn made now lists them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    _in_thread(upgrade, url)
    monkeypatch.chdir(tmp_path)  # no .env file to pick settings up from
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_XLSX)]) == 0
    _in_thread(asyncio.run, _entered_in_january(url))
    return url


async def _entered_in_january(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(update(Project).values(created_at=local(date(2026, 1, 5), 9)))
    finally:
        await db.dispose()


async def _bulletins_and_rows(url: str) -> tuple[list[tuple[str, str, bool]], list[str]]:
    db = Database(url)
    try:
        async with db.session() as session:
            bulletins = [(b.kind, b.period, b.late) for b in (await session.scalars(select(Bulletin))).all()]
            states = list((await session.scalars(select(OutboxMessage.state))).all())
        return bulletins, states
    finally:
        await db.dispose()


def test_digest_dry_run_writes_the_text_the_html_and_the_chart(
        cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"

    assert main(["digest", "weekly", "--period", "2026-W46", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "重点项目周通报（2026-W46，截至 2026-11-15）" in printed
    assert "已写入" in printed and "ranking.png" in printed and "重点项目台账_2026-W46.xlsx" in printed
    plain = (out / "bulletin.txt").read_text(encoding="utf-8")
    html = (out / "bulletin.html").read_text(encoding="utf-8")
    assert "重点项目周通报（2026-W46" in plain and "<b>" not in plain
    # The sample's 42 projects: the first and last five, the red ones furthest behind, and where the rest is.
    assert "<b>项目排名</b>（年度完成率对照序时进度，共 41 个，列前、后各 5 个）" in html
    assert "ZD2026-021" in html and "见排名图和附件 Excel 台账" in html
    assert utf16_len(html) <= 4096
    assert (out / "ranking.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "重点项目台账_2026-W46.xlsx").read_bytes()[:2] == b"PK"
    assert _in_thread(asyncio.run, _bulletins_and_rows(cli_database)) == ([], [])  # nothing recorded, queued


def test_digest_send_goes_once_per_period(cli_database: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["groups", "add", GROUP, "--name", "重点项目领导小组"]) == 0
    capsys.readouterr()

    assert main(["digest", "weekly", "--period", "2026-W46", "--send"]) == 0
    out = capsys.readouterr().out
    assert "2026-W46 通报已生成" in out and "未配置任何渠道" in out
    bulletins, states = _in_thread(asyncio.run, _bulletins_and_rows(cli_database))
    assert bulletins == [("weekly", "2026-W46", False)]
    assert states.count("pending") == 4  # the group's text, chart, heat map, xlsx; nobody else has a chat account
    assert (tmp_path / "data" / "bulletins" / "weekly" / "2026-W46" / "ranking.png").is_file()

    assert main(["digest", "weekly", "--period", "2026-W46", "--send"]) == 1
    err = capsys.readouterr().err
    assert "2026-W46 的通报已经发送过" in err
    assert _in_thread(asyncio.run, _bulletins_and_rows(cli_database)) == (bulletins, states)


def test_removing_a_group_withdraws_its_bulletin_not_yet_sent(cli_database: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`diaodu groups remove` takes with it the bulletin queued for the group and not yet sent: withdrawn, never
    sent, not shown as undelivered; the output says which."""
    assert main(["groups", "add", GROUP, "--name", "重点项目领导小组"]) == 0
    assert main(["digest", "weekly", "--period", "2026-W46", "--send"]) == 0
    capsys.readouterr()

    assert main(["groups", "remove", GROUP]) == 0
    out = capsys.readouterr().out
    assert "已移除通报群；该群尚未发出的 2026-W46 周通报随之撤销，不再发送。" in out, out
    states = _in_thread(asyncio.run, _bulletins_and_rows(cli_database))[1]
    assert states.count("withdrawn") == 4 and "pending" not in states  # the officials' wait for their accounts


async def _bind_top_official(url: str, chat: int) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            [wang] = (await session.scalars(select(Person).where(Person.name == "王立军"))).unique().all()
            await people.bind_account(session, person=wang, channel="telegram", external_id=str(chat),
                                      chat_id=str(chat), display_name=wang.name,
                                      now=local(date(2026, 11, 16)))
    finally:
        await db.dispose()


async def test_digest_send_with_a_bot_delivers_the_summary_and_the_chart(
        cli_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_api: FakeBotAPI) -> None:
    """The chart is stored under DATA_DIR and named relative to it; the CLI's sender finds it there (the
    working directory is elsewhere)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_api.token)
    monkeypatch.setenv("TELEGRAM_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("TELEGRAM_BASE_FILE_URL", fake_api.base_file_url)
    await _bind_top_official(cli_database, 5001)

    status = await asyncio.to_thread(main, ["digest", "weekly", "--period", "2026-W46", "--send"])

    assert status == 0
    [summary] = fake_api.calls_of("sendMessage", chat_id=5001, ok=True)
    assert "周通报摘要（2026-W46）" in summary["text"]
    photos = fake_api.calls_of("sendPhoto", chat_id=5001, ok=True)
    assert len(photos) == 1 and next(iter(photos[0].files.values()))[:4] == b"\x89PNG"


@pytest.mark.parametrize(("kind", "period"), [("weekly", "2026-13"), ("monthly", "2026-13"),
                                              ("weekly", "2026-W54")])
def test_digest_refuses_a_bad_period_in_chinese(cli_database: str, kind: str, period: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", kind, "--period", period, "--send"]) == 1
    err = capsys.readouterr().err
    assert f"「{period}」不是有效的期间" in err
    assert _in_thread(asyncio.run, _bulletins_and_rows(cli_database)) == ([], [])


@pytest.mark.parametrize(("kind", "period", "words"), [
    ("annual", "2025", "2025 无数据：2025 年既没有任何项目的年度计划，也没有任何填报"),
    ("weekly", "2099-W10", "2099-W10 尚未开始"),
    ("monthly", "2099-01", "2099-01 尚未开始"),
    ("weekly", "2026-W01", "2026-W01 无项目：截至 2026-01-04，台账中还没有任何项目（首个项目于 2026-01-05 录入），"
                           "周通报无项目可列，不予生成"),
])
def test_digest_refuses_a_period_without_data_or_in_the_future(
        cli_database: str, tmp_path: Path, kind: str, period: str, words: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The sample ledger holds 2026 plans only: 2025 has nothing to measure (it used to render every
    project red), 2099 has not come, and 2026-W01 was over before the ledger came in (on 5 January). Neither
    a dry run nor a send produces anything."""
    for mode in (["--out", str(tmp_path / "out")], ["--send"]):
        assert main(["digest", kind, "--period", period, *mode]) == 1
        err = capsys.readouterr().err
        assert words in err, err
    assert not (tmp_path / "out").exists()
    assert _in_thread(asyncio.run, _bulletins_and_rows(cli_database)) == ([], [])


def test_digest_refuses_an_unknown_kind(cli_database: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["digest", "fortnightly"])
    assert exit_info.value.code == 2


async def test_a_fresh_install_sends_nothing_that_was_due_before_the_ledger_existed(
        memory: Database, tmp_path: Path) -> None:
    await seed(memory)  # projects entered on 2026-09-01
    produced = await digests.run_due(memory, RENDERER, now=local(date(2026, 9, 1), 10), files_root=tmp_path)
    # W35 was due on Monday 8/31, 2025's annual and H2 in January, Q2 and H1 of 2026 in July: all before the
    # ledger existed, so never. August's is due on Tuesday 9/1 itself, but no project was in the ledger by
    # 8/31: it would list nothing, and is not sent either.
    assert produced == []
    later = await digests.run_due(memory, RENDERER, now=local(date(2026, 9, 7), 10), files_root=tmp_path)
    assert [(p.kind, p.period) for p in later] == [("weekly", "2026-W36")]  # the ledger's first week


# --- nothing heavy on the event loop ----------------------------------------------------------------------


async def test_a_bulletin_draws_and_assembles_off_the_event_loop(db: Database, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a worker process (tests, one-off commands), the standings' assembly, the charts, the workbook
    and the texts run in a worker thread: while they take their seconds for a large district, the event
    loop goes on answering messages. (With the app's worker process: the test below.)"""
    import threading

    import bot.chart
    import bot.services.ledger_export
    import bot.services.standings

    threads: dict[str, set[int]] = {}

    def spy(module: Any, name: str) -> None:
        original = getattr(module, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            threads.setdefault(name, set()).add(threading.get_ident())
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, recorded)

    for module, name in [(bot.chart, "ranking_chart"), (bot.chart, "group_chart"),
                         (bot.services.ledger_export, "ledger_workbook"), (bot.services.standings, "assemble"),
                         (bot.services.standings, "build_standings"), (RENDERER, "render")]:
        spy(module, name)
    await seed(db)
    produced = await digests.run_due(db, RENDERER, now=local(date(2026, 11, 2)), files_root=tmp_path,
                                     kinds=("monthly",))

    assert [p.period for p in produced] == ["2026-10"]
    loop_thread = threading.get_ident()
    assert sorted(threads) == ["assemble", "build_standings", "group_chart", "ledger_workbook",
                               "ranking_chart", "render"]
    assert all(loop_thread not in seen for seen in threads.values()), threads


async def test_the_app_draws_a_bulletin_in_its_worker_process(db: Database, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """As `diaodu run` does: the app's worker process (started by this first bulletin) assembles, draws and
    renders, with none of this process's functions (they would fail here); what it sends is what a worker
    thread renders from the same rows. Work in a thread would hold this process's interpreter lock, and
    every hand-over of the event loop to the database driver's thread would wait for it."""
    import bot.chart
    import bot.services.ledger_export
    import bot.services.standings
    from bot.workers import Workers

    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("ran in the bot's own process")

    await seed(db)
    async with db.session() as session:
        calendar, settings = await load_calendar(session), await load_digest_settings(session)
        in_thread = await digests.render_bulletin(session, RENDERER, period=OCTOBER,
                                                  calendar=calendar, settings=settings, out_dir=tmp_path / "t")
    for module, name in [(bot.chart, "ranking_chart"), (bot.chart, "group_chart"),
                         (bot.services.ledger_export, "ledger_workbook"), (bot.services.standings, "assemble"),
                         (bot.services.standings, "build_standings"), (RENDERER, "render")]:
        monkeypatch.setattr(module, name, not_here)
    workers = Workers()
    assert not workers.started  # nothing started before the first bulletin
    try:
        produced = await digests.run_due(db, RENDERER, now=local(date(2026, 11, 2)), files_root=tmp_path,
                                         kinds=("monthly",), workers=workers)
        assert workers.started and await workers.run(os.getpid) != os.getpid()
    finally:
        workers.close()
    assert not workers.started

    assert [p.period for p in produced] == ["2026-10"]
    sent = [r.payload["html"] for r in group_rows(await outbox_rows(db)) if r.payload["html"]]
    assert sent == in_thread.parts
    out = tmp_path / "bulletins" / "monthly" / "2026-10"
    assert {p.name: p.read_bytes()[:4] for p in out.iterdir()} == {
        "ranking.png": b"\x89PNG", "units.png": b"\x89PNG", in_thread.files["ledger"].name: b"PK\x03\x04",
        in_thread.files["document"].name: b"PK\x03\x04"}


async def test_a_part_that_fails_to_build_leaves_the_rest_and_the_admins_are_told(
        memory: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(memory)
    async with memory.session() as session:
        admin = Person(name="管理员", active=True, created_at=local(date(2026, 9, 1)), roles=[PersonRole(role="admin")])
        session.add(admin)

    def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise ValueError("mathtext cannot parse")

    monkeypatch.setattr(chart, "ranking_chart", broken)  # bulletins import it when they first draw
    produced = await digests.run_due(memory, RENDERER, now=local(date(2026, 11, 2)), files_root=tmp_path,
                                     kinds=("monthly",))

    assert [(p.kind, p.period) for p in produced] == [("monthly", "2026-10")]
    rows = await outbox_rows(memory)
    group = group_rows(rows)
    assert "重点项目月通报" in "\n".join(r.payload["html"] for r in group)
    kinds = [r.payload["attachment"]["kind"] for r in group if r.payload.get("attachment")]
    assert kinds == ["photo", "document", "document"]  # the units' chart, the ledger and the Word bulletin still go out
    [told] = [r for r in rows if r.person_id == admin.id]
    assert "项目排名图未能生成" in told.payload["html"] and "其余附件已照常发送" in told.payload["html"]
