"""Alembic migrations: an empty database upgrades to a schema identical to the models, and a database of
the previous release, with data in it, upgrades (and downgrades) keeping every row."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Boolean, Date, MetaData, bindparam, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import bot
from bot.__main__ import main
from bot.app import Core, SchemaOutOfDate
from bot.clock import to_local
from bot.config import load_settings
from bot.domain.messages import Reply
from bot.domain.photo_match import bands, hash_to_text
from storage import outbox, outbox_sending, outbox_views
from storage import photos as photo_repo
from storage import projects as project_repo
from storage import reports as report_repo
from storage.audit import Actor
from storage.db import LOCK_WAIT_SECONDS, Database
from storage.migrate import MIGRATION_LOCK_KEY, downgrade, head_revision, schema_is_current, upgrade
from storage.models import FOLDED_ID_INDEX, Base, OutboxMessage, Problem, Project, Report, ReportPhoto
from storage.types import UTCDateTime, Wan
from tests.databases import BACKENDS, backend_url, database_of_its_own, taking_turns
from tests.photos import reading

from .factories import NOW, build_world
from .test_account_lookup import add_accounts, folded_lookup_plans

PREVIOUS = "0001"  # the schema of the previous release


async def _drop_everything(database: Database) -> None:
    """Drop every table there is (the models' tables, alembic_version, anything a migration made)."""
    async with database.engine.begin() as conn:
        existing = MetaData()
        await conn.run_sync(existing.reflect)
        await conn.run_sync(existing.drop_all)


@pytest.fixture(params=BACKENDS)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database without any table: a new SQLite file, or the test PostgreSQL database emptied."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.sqlite3'}"
    else:
        url = backend_url("postgresql")
    database = Database(url)
    try:
        async with taking_turns(database):
            if not database.is_sqlite:
                await _drop_everything(database)
            try:
                yield database
            finally:
                if not database.is_sqlite:
                    await _drop_everything(database)
    finally:
        await database.dispose()


def _table_names(conn: Connection) -> list[str]:
    return sorted(inspect(conn).get_table_names())


def _differences(conn: Connection) -> list[str]:
    """What autogenerate would change to make the database match the models, one line per difference. SQLite's
    indexes of an expression cannot be reflected, so not compared there (their test reads the planner)."""
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    with warnings.catch_warnings():
        if conn.dialect.name == "sqlite":
            warnings.filterwarnings("ignore", message=".*expression-based index")
        return [_describe(diff) for diff in compare_metadata(context, Base.metadata)]


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    target = rest[0]
    name = getattr(target, "name", None)
    table = getattr(getattr(target, "table", None), "name", None)
    if name is not None:
        return f"{kind} {table + '.' if table else ''}{name}"
    return f"{kind} {rest}"


async def test_empty_database_is_not_current(empty_db: Database) -> None:
    current, revision, head = await schema_is_current(empty_db.engine)
    assert current is False
    assert revision is None
    assert head is not None and head == head_revision()


async def test_upgrade_from_empty_matches_the_models(empty_db: Database) -> None:
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(_table_names) == []

    await asyncio.to_thread(upgrade, empty_db.url)

    current, revision, head = await schema_is_current(empty_db.engine)
    assert current is True
    assert revision == head == head_revision()
    async with empty_db.engine.connect() as conn:
        tables = await conn.run_sync(_table_names)
        differences = await conn.run_sync(_differences)
    assert differences == [], "models and migrations differ:\n" + "\n".join(differences)
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"}

    # Upgrading again is a no-op.
    await asyncio.to_thread(upgrade, empty_db.url)
    assert (await schema_is_current(empty_db.engine))[0] is True

    # The index of WeCom's folded userids (an expression: not compared on SQLite above) serves their lookups.
    await add_accounts(empty_db, (await build_world(empty_db, NOW)).liaison)
    assert all(FOLDED_ID_INDEX.name in plan for plan in await folded_lookup_plans(empty_db))


REPO = Path(__file__).resolve().parents[2]


PROJECT_ROOT = Path(bot.__file__).resolve().parent.parent  # the checkout these tests are of


async def test_concurrent_upgrades_of_an_empty_postgresql_database_all_succeed(tmp_path: Path) -> None:
    """Several instances starting together each run `diaodu db upgrade`: they take turns on an advisory
    lock, the first migrates, the others find the schema at head."""
    async with database_of_its_own("diaodu_migrate") as url:
        # run in a folder of its own, the program is this checkout's whatever PYTHONPATH says (`.` would be that
        # folder, and an installed copy of another checkout would answer instead)
        inherited = os.environ.get("PYTHONPATH")
        path = os.pathsep.join([str(PROJECT_ROOT), *([inherited] if inherited else [])])
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": path}
        upgrades = [subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)]
        outputs = [process.communicate(timeout=120)[0].decode(errors="replace") for process in upgrades]
        assert [process.returncode for process in upgrades] == [0, 0, 0], "\n".join(outputs)
        database = Database(url)
        try:
            assert await schema_is_current(database.engine) == (True, head_revision(), head_revision())
            async with database.engine.connect() as conn:
                assert await conn.run_sync(_differences) == []
        finally:
            await database.dispose()


async def test_an_upgrade_waits_its_turn_longer_than_a_write_waits_for_a_lock() -> None:
    """The instance migrating first may take longer than a chat write waits for a lock (a loaded machine, a fresh
    database's whole history): the others wait for the migration lock until it is free, and do not fail."""
    async with database_of_its_own("diaodu_migrate") as url:
        holder = Database(url)
        try:
            async with holder.engine.connect() as conn:  # an instance migrating: holds the migration lock
                await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                upgrading = asyncio.ensure_future(asyncio.to_thread(upgrade, url))
                await asyncio.sleep(LOCK_WAIT_SECONDS + 1.5)
                assert not upgrading.done(), upgrading.exception()
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await upgrading
            assert (await schema_is_current(holder.engine))[0] is True
        finally:
            await holder.dispose()


async def test_tables_from_the_models_alone_are_not_current(db: Database) -> None:
    # create_all makes the tables but no alembic_version: `diaodu run` must still refuse such a database.
    current, revision, _head = await schema_is_current(db.engine)
    assert (current, revision) == (False, None)


# ---------------------------------------------------------------- from the previous release, with data

# How the previous release's columns are bound, for the plain-SQL inserts below.
_TYPES = {"created_at": UTCDateTime(), "updated_at": UTCDateTime(), "at": UTCDateTime(),
          "level_started_at": UTCDateTime(), "response_due_at": UTCDateTime(), "resolution_due_at": UTCDateTime(),
          "next_check_at": UTCDateTime(), "next_attempt_at": UTCDateTime(), "sent_at": UTCDateTime(),
          "withdrawn_at": UTCDateTime(),
          "total_investment": Wan(), "annual_plan": Wan(), "done_before": Wan(), "amount": Wan(),
          "payload": JSON(), "policy": JSON(), "nudged": JSON(), "detail": JSON(),
          "active": Boolean(), "due_estimated": Boolean(), "local_day": Date(), "planned_start": Date(),
          "planned_finish": Date()}
HTML = "问题 W0001 已提交:<b>ZD2026-001</b> 用地 还有12户未签约"
BUTTONS = [[{"label": "受理", "data": "p:1:ack"}, {"label": "申请改派", "data": "p:1:reassign"}]]


async def _insert(conn: AsyncConnection, table: str, **values: Any) -> int:
    """INSERT one row in plain SQL (as the previous release would have it); its id."""
    columns = ", ".join(values)
    statement = text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)}) RETURNING id")
    statement = statement.bindparams(*(bindparam(c, type_=_TYPES[c]) for c in values if c in _TYPES))
    return int((await conn.execute(statement, values)).scalar_one())


async def _fill_previous_release(conn: AsyncConnection) -> dict[str, int]:
    """A little district in the 0001 schema: two units, a liaison and an admin, a project, a report, a problem,
    three notices (pending, sent, failed) and an audit entry. Returns the ids."""
    ids: dict[str, int] = {}
    ids["housing"] = await _insert(conn, "units", name="区住建局", created_at=NOW)
    ids["reform"] = await _insert(conn, "units", name="区发改局", created_at=NOW)
    ids["liaison"] = await _insert(conn, "people", name="郝芳", phone="13800000001", title="联络员",
                                   unit_id=ids["housing"], active=True, created_at=NOW)
    ids["admin"] = await _insert(conn, "people", name="管理员", phone=None, title=None, unit_id=None,
                                 active=True, created_at=NOW)
    await conn.execute(text("INSERT INTO person_roles (person_id, role) VALUES (:p, 'liaison'), (:a, 'admin')"),
                       {"p": ids["liaison"], "a": ids["admin"]})
    ids["account"] = await _insert(conn, "chat_accounts", person_id=ids["liaison"], channel="telegram",
                                   external_id="1001", chat_id="1001", display_name="郝芳", created_at=NOW)
    ids["project"] = await _insert(
        conn, "projects", code="ZD2026-001", name="城北高速连接线", category="交通", level="市级",
        location="城北街道", owner="区城投公司", total_investment=Decimal("120000"),
        annual_plan=Decimal("30000"), done_before=Decimal("5200.5"), baseline_year=2026, stage="在建",
        planned_start=date(2026, 3, 1), planned_finish=date(2028, 12, 31), lead_official_id=None,
        lead_unit_id=ids["housing"], liaison_id=ids["liaison"], created_at=NOW, updated_at=NOW)
    await conn.execute(text("INSERT INTO project_supporting_units (project_id, unit_id, position) "
                            "VALUES (:p, :u, 0)"), {"p": ids["project"], "u": ids["reform"]})
    ids["report"] = await _insert(conn, "reports", project_id=ids["project"], person_id=ids["liaison"],
                                  local_day=date(2026, 11, 23), amount=Decimal("1.2345"),
                                  progress_text="主体结构完成60%", channel="telegram", created_at=NOW)
    ids["problem"] = await _insert(
        conn, "problems", kind="problem", project_id=ids["project"], raised_by_id=ids["liaison"],
        unit_id=ids["housing"], category="用地", text="还有12户未签约", status="open", level=0,
        policy={"response_days": [1, 1, 1], "resolution_default": 5}, level_started_at=NOW,
        response_due_at=NOW + timedelta(days=1), resolution_due_at=NOW + timedelta(days=7),
        due_estimated=False, nudged=[], next_check_at=NOW + timedelta(days=1), created_at=NOW,
        updated_at=NOW)
    for name, state, attempts, sent_at, error in [
        ("pending", "pending", 0, None, None),
        ("sent", "sent", 1, NOW + timedelta(seconds=2), None),
        ("failed", "failed", 8, None, "TransientError: connection reset"),
    ]:
        ids[name] = await _insert(
            conn, "outbox", dedupe_key=f"problem:{ids['problem']}:{name}|telegram:1001",
            person_id=ids["liaison"], channel="telegram", chat_id="1001",
            payload={"html": HTML, "buttons": BUTTONS}, state=state, attempts=attempts,
            next_attempt_at=NOW, last_error=error, created_at=NOW, sent_at=sent_at)
    ids["audit"] = await _insert(conn, "audit_log", at=NOW, actor_person_id=ids["admin"], actor="管理员",
                                 channel="telegram", action="project.update", object_type="project",
                                 object_key="ZD2026-001", detail={"field": "stage", "from": "前期", "to": "在建"})
    return ids


def _snapshot(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but alembic_version, as column → value, in primary key order."""
    inspector = inspect(conn)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(inspector.get_table_names()):
        if name != "alembic_version":
            key = ", ".join(inspector.get_pk_constraint(name)["constrained_columns"])
            result = conn.execute(text(f"SELECT * FROM {name} ORDER BY {key}"))
            tables[name] = [dict(row) for row in result.mappings()]
    return tables


def _without(tables: dict[str, list[dict[str, Any]]], column: str) -> dict[str, list[dict[str, Any]]]:
    return {name: [{k: v for k, v in row.items() if k != column} for row in rows] for name, rows in tables.items()}


def _outbox_columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("outbox")}


async def test_upgrade_from_the_previous_release_keeps_the_data(empty_db: Database) -> None:
    url = empty_db.url
    await asyncio.to_thread(upgrade, url, PREVIOUS)
    assert await schema_is_current(empty_db.engine) == (False, PREVIOUS, head_revision())
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
    async with empty_db.engine.connect() as conn:
        before = await conn.run_sync(_snapshot)
    assert {name for name, rows in before.items() if rows} == {
        "units", "people", "person_roles", "chat_accounts", "projects", "project_supporting_units", "reports",
        "problems", "outbox", "audit_log"}

    await asyncio.to_thread(upgrade, url)
    await empty_db.engine.dispose()  # forget cached table shapes

    assert await schema_is_current(empty_db.engine) == (True, head_revision(), head_revision())
    async with empty_db.engine.connect() as conn:
        after = await conn.run_sync(_snapshot)
        assert "send_started_at" in await conn.run_sync(_outbox_columns)
    assert [row["send_started_at"] for row in after["outbox"]] == [None, None, None]
    assert [row["parts_sent"] for row in after["outbox"]] == [0, 0, 0]  # nothing sent part-way
    # The notices given up before are set told (as of their making): the admins hear of none of them again.
    assert [(row["failed_at"], row["quiet_since"], row["fail_cause"]) for row in after["outbox"]] == [
        (None, None, None)] * 3  # their cause is read from their recorded error
    assert [(row["state"], row["told_at"] == row["created_at"]) for row in after["outbox"]] == [
        (row["state"], row["state"] == "failed") for row in before["outbox"]]
    assert "failed" in [row["state"] for row in before["outbox"]]
    # The stored report is summed into its project's year (1.2345 万元 = 12,345 元).
    assert after.pop("report_sums") == [{"project_id": ids["project"], "year": 2026, "amount": 12345}]
    for new in ("shared_marks", "halfmonth_reports", "stage_events", "web_links", "web_sessions", "leaves",
                "project_nodes", "node_photos", "album_waits", "passed_days", "sent_messages", "ledger_marks"):
        assert after.pop(new) == []  # new tables, empty
    # Every project keeps its plan as the plan of its baseline's year (3 亿 = 300,000,000 元).
    assert [(row["project_id"], row["year"], row["amount"]) for row in after.pop("annual_plans")] == [
        (ids["project"], 2026, 300000000)]
    # Every project keeps its ledger base as the base of its year (5,200.5 万元, undated as it was).
    assert [(row["project_id"], row["year"], row["done_before"], row["baseline_date"])
            for row in after.pop("ledger_bases")] == [(ids["project"], 2026, 52005000, None)]
    assert after.pop("processed_messages") == []
    # Nobody renamed since the upgrade: no name kept, every person read as named at the upgrade.
    assert after.pop("person_names") == []
    # Every project's version as it stands, valid from its creation: the past read as today, as before.
    held = ("name", "location", "lead_unit_id", "lead_official_id", "liaison_id")
    assert [{k: v for k, v in row.items() if k != "id"} for row in after.pop("project_versions")] == [
        {"project_id": row["id"], "valid_from": row["created_at"], **{k: row[k] for k in held}}
        for row in before["projects"]]
    assert [row["replaces_id"] for row in after["reports"]] == [None]
    assert [bool(row["backfill"]) for row in after["reports"]] == [False]  # the liaison's report, not a 补报
    # Baselines of the previous release have no day: they keep covering no report of their year.
    assert [row["baseline_date"] for row in after["projects"]] == [None]
    assert after.pop("photo_blobs") == []  # a new table, empty
    assert [row["ledger_key"] for row in after["people"]] == [None, None]  # no 人员编号 typed yet
    for column in ("send_started_at", "parts_sent", "baseline_date", "replaces_id", "ledger_key", "failed_at",
                   "quiet_since", "told_at", "fail_cause", "backfill"):
        after = _without(after, column)
    assert after == before

    # The program reads the old rows as it wrote them…
    async with empty_db.session() as session:
        project = await session.get(Project, ids["project"])
        report = await session.get(Report, ids["report"])
        problem = await session.get(Problem, ids["problem"])
        pending = await session.get(OutboxMessage, ids["pending"])
        assert project is not None and report is not None and problem is not None and pending is not None
        assert (project.code, project.total_investment, project.done_before) == (
            "ZD2026-001", Decimal("120000"), Decimal("5200.5"))
        assert (report.amount, report.local_day, report.created_at) == (Decimal("1.2345"), date(2026, 11, 23), NOW)
        assert (problem.status, problem.response_due_at, problem.nudged) == ("open", NOW + timedelta(days=1), [])
        assert (pending.payload, pending.state, pending.send_started_at) == (
            {"html": HTML, "buttons": BUTTONS}, "pending", None)
        assert outbox.reply_from_payload(pending.payload).buttons[0][1].data == "p:1:reassign"

    # …and works on them: the pending notice is claimed, started and sent; the failed one is listed.
    later = NOW + timedelta(minutes=1)
    async with empty_db.session() as session:
        [claimed] = await outbox_sending.claim_due_messages(session, now=later, limit=10,
                                                            lease_until=later + timedelta(minutes=10))
        assert (claimed.id, claimed.state, claimed.attempts) == (ids["pending"], "sending", 1)
    async with empty_db.session() as session:
        assert await outbox_sending.mark_send_started(session, message_id=claimed.id, attempt=1, now=later)
    async with empty_db.session() as session:
        assert await outbox_sending.mark_sent(session, message_id=claimed.id, attempt=1, now=later)
        assert [m.id for m in await outbox_views.failed_messages(session)] == [ids["failed"]]
        # New rows get new ids (on PostgreSQL the sequences went on with the plain-SQL inserts).
        [fresh] = await outbox.enqueue_for_person(session, person_id=ids["liaison"], reply=Reply(html="新通知"),
                                                  key="after-upgrade", now=later)
        assert fresh.id > max(ids["pending"], ids["sent"], ids["failed"])
    async with empty_db.session() as session:  # a send the next leader finds interrupted: in doubt
        [claimed] = await outbox_sending.claim_due_messages(session, now=later, limit=10,
                                                            lease_until=later + timedelta(minutes=10))
    async with empty_db.session() as session:
        assert await outbox_sending.mark_send_started(session, message_id=fresh.id, attempt=1, now=later)
    async with empty_db.session() as session:
        assert await outbox_sending.hold_interrupted_sends(session, now=later + timedelta(minutes=10)) == [fresh.id]
    async with empty_db.engine.connect() as conn:
        upgraded = await conn.run_sync(_snapshot)

    # Down to the previous release: the column goes, the row in doubt becomes a failed one (which that
    # release lists for a retry), everything else stays as it was.
    await asyncio.to_thread(downgrade, url, PREVIOUS)
    await empty_db.engine.dispose()
    assert await schema_is_current(empty_db.engine) == (False, PREVIOUS, head_revision())
    async with empty_db.engine.connect() as conn:
        assert "send_started_at" not in await conn.run_sync(_outbox_columns)
        downgraded = await conn.run_sync(_snapshot)
    expected = upgraded
    for column in ("send_started_at", "parts_sent", "baseline_date", "replaces_id", "ledger_key", "failed_at",
                   "quiet_since", "told_at", "fail_cause", "backfill"):
        expected = _without(expected, column)
    assert expected.pop("processed_messages") == []
    assert expected.pop("report_sums") == [{"project_id": ids["project"], "year": 2026, "amount": 12345}]
    assert "report_sums" not in downgraded
    for new in ("shared_marks", "halfmonth_reports", "stage_events", "web_links", "web_sessions", "photo_blobs",
                "leaves", "project_nodes", "node_photos", "album_waits", "passed_days", "sent_messages",
                "ledger_marks"):
        assert expected.pop(new) == [] and new not in downgraded
    assert len(expected.pop("annual_plans")) == 1 and "annual_plans" not in downgraded
    assert len(expected.pop("ledger_bases")) == 1 and "ledger_bases" not in downgraded
    assert len(expected.pop("project_versions")) == 1 and "project_versions" not in downgraded
    assert expected.pop("person_names") == [] and "person_names" not in downgraded
    assert [row["state"] for row in expected["outbox"]] == ["sent", "sent", "failed", "in_doubt"]
    expected["outbox"][3]["state"] = "failed"
    assert downgraded == expected
    assert {k: v for k, v in downgraded.items() if k != "outbox"} == {k: v for k, v in before.items() if k != "outbox"}

    await asyncio.to_thread(upgrade, url)  # and up again
    await empty_db.engine.dispose()
    assert (await schema_is_current(empty_db.engine))[0] is True
    async with empty_db.session() as session:
        states = (await session.scalars(select(OutboxMessage.state).order_by(OutboxMessage.id))).all()
    assert states == ["sent", "sent", "failed", "failed"]
    # The sums are filled again, and a report stored now is summed with the old one (triggers back too).
    async with empty_db.session() as session:
        await report_repo.add_report(session, project_id=ids["project"], person_id=ids["liaison"],
                                     local_day=date(2026, 11, 24), amount=Decimal("2"), progress_text="",
                                     photos=[], channel="telegram", now=NOW, project_code="ZD2026-001",
                                     actor=Actor(label="郝芳", channel="telegram"))
        found = await project_repo.get_report_target(session, code="ZD2026-001", today=date(2026, 11, 24))
    assert found is not None and found[1].all_reported == Decimal("3.2345")


def test_the_program_refuses_a_previous_release_database_until_it_is_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    upgrade(url, PREVIOUS)
    monkeypatch.chdir(tmp_path)  # no .env file to pick settings up from
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    async def check() -> None:
        core = Core.build(load_settings(DATABASE_URL=url, _env_file=None))
        try:
            await core.check_schema()  # what `diaodu run` does first
        finally:
            await core.db.dispose()

    with pytest.raises(SchemaOutOfDate, match=f"当前 {PREVIOUS}，最新 {head_revision()}"):
        asyncio.run(check())
    assert main(["db", "current"]) == 1
    assert f"当前版本 {PREVIOUS}，最新版本 {head_revision()}，需要运行 diaodu db upgrade" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    asyncio.run(check())


async def test_notices_that_failed_for_want_of_an_account_are_held_after_the_upgrade(empty_db: Database) -> None:
    """0010: the 未绑定聊天账号 failures of before wait for their person like new notices do (and go back)."""
    await asyncio.to_thread(upgrade, empty_db.url, "0009")
    async with empty_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO people (name, active, created_at) "
                                "VALUES ('王刚', true, :now)"), {"now": NOW})
        person = (await conn.execute(text("SELECT id FROM people"))).scalar_one()
        for key, state, error in (("a|none", "undeliverable", outbox.NO_ACCOUNT),
                                  ("b|none", "undeliverable", outbox.ALL_BLOCKED), ("c|none", "failed", "x")):
            await conn.execute(text(
                "INSERT INTO outbox (dedupe_key, person_id, payload, state, attempts, next_attempt_at, "
                "last_error, created_at) VALUES (:key, :person, '{}', :state, 0, :now, :error, :now)"),
                {"key": key, "person": person, "state": state, "error": error, "now": NOW})

    async def states() -> dict[str, str]:
        async with empty_db.engine.connect() as conn:
            return dict((await conn.execute(text("SELECT dedupe_key, state FROM outbox"))).all())

    await asyncio.to_thread(upgrade, empty_db.url)
    assert await states() == {"a|none": "held", "b|none": "undeliverable", "c|none": "failed"}
    await asyncio.to_thread(downgrade, empty_db.url, "0009")
    assert await states() == {"a|none": "undeliverable", "b|none": "undeliverable", "c|none": "failed"}


async def test_photos_sent_before_the_photo_store_are_due_and_survive_a_downgrade(empty_db: Database) -> None:
    """0013 (photo keeping): a report photo stored before it is due for download at its report's time; going
    back to 0012 keeps the photo row as it was."""
    url = empty_db.url
    await asyncio.to_thread(upgrade, url, "0012")
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
        photo = await _insert(conn, "report_photos", report_id=ids["report"], channel="telegram", file_id="AgACold")
    await asyncio.to_thread(upgrade, url)
    await empty_db.engine.dispose()
    async with empty_db.session() as session:
        stored = await session.get(ReportPhoto, photo)
        assert stored is not None
        assert (stored.fetch_after, stored.sha256, stored.fetch_attempts) == (NOW, None, 0)
    await asyncio.to_thread(downgrade, url, "0012")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, report_id, channel, file_id FROM report_photos"))).all()
    assert [tuple(row) for row in rows] == [(photo, ids["report"], "telegram", "AgACold")]


async def test_problem_and_node_photos_stored_before_0016_are_due_at_once(empty_db: Database) -> None:
    """0016: the photos of problems and nodes sent before are due from the time they were sent (the keeper
    downloads them, or gives up on WeCom media already gone); down again, the rows stay as they were."""
    await asyncio.to_thread(upgrade, empty_db.url, "0015")
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
        await conn.execute(text("INSERT INTO problem_photos (problem_id, channel, file_id) "
                                "VALUES (:p, 'wecom', 'MEDIA-1')"), {"p": ids["problem"]})
        node = await _insert(conn, "project_nodes", project_id=ids["project"], seq=1, name="桩基完成",
                             planned_on=date(2026, 11, 30), done_on=date(2026, 11, 30), note="", source="ledger",
                             created_at=NOW, updated_at=NOW)
        await conn.execute(text("INSERT INTO node_photos (node_id, channel, file_id, created_at) "
                                "VALUES (:n, 'telegram', 'AgAC-node', :at)").bindparams(
                                    bindparam("at", type_=UTCDateTime())), {"n": node, "at": NOW + timedelta(days=1)})

    def photo_rows(conn: Connection) -> dict[str, list[dict[str, Any]]]:
        return {table: [dict(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).mappings()]
                for table in ("problem_photos", "node_photos")}

    async with empty_db.engine.connect() as conn:
        before = await conn.run_sync(photo_rows)
    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.session() as session:
        due = await photo_repo.due_photos(session, now=NOW + timedelta(days=2))
        assert await photo_repo.due_photos(session, now=NOW - timedelta(seconds=1)) == []
    assert [(d.kind, d.file_id, d.reported_at, d.attempts) for d in due] == [
        ("problem", "MEDIA-1", NOW, 0), ("node", "AgAC-node", NOW + timedelta(days=1), 0)]

    await asyncio.to_thread(downgrade, empty_db.url, "0015")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(photo_rows) == before


async def _kept(conn: AsyncConnection, table: str, sha: str, **values: Any) -> int:
    """A kept photo of `table` (0016's columns) with the blob `sha`; its id."""
    columns = {**values, "channel": "telegram", "file_id": f"{table}-{sha}", "sha256": sha, "fetch_attempts": 1}
    statement = text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
                     "RETURNING id").bindparams(*(bindparam(c, type_=UTCDateTime()) for c in columns
                                                  if c == "created_at"))
    return int((await conn.execute(statement, columns)).scalar_one())


async def _blob(conn: AsyncConnection, sha: str, phash: int) -> None:
    band_values = dict(zip((f"band{n}" for n in range(5)), bands(phash), strict=True))
    await conn.execute(text(
        "INSERT INTO photo_blobs (sha256, size, content_type, phash, band0, band1, band2, band3, band4, "
        "has_thumbnail, created_at) VALUES (:sha, 1, 'image/jpeg', :phash, :band0, :band1, :band2, :band3, :band4, "
        "false, :at)").bindparams(bindparam("at", type_=UTCDateTime())),
        {"sha": sha, "phash": hash_to_text(phash), "at": NOW, **band_values})


async def test_report_photos_kept_before_0017_repeat_photos_of_every_kind(empty_db: Database) -> None:
    """0017: the repeats of the report photos already kept are worked out again against problem and node photos
    too (the earliest photo repeated, whatever its kind); down again, against report photos only, as before."""
    await asyncio.to_thread(upgrade, empty_db.url, "0016")
    picture, other = 0x0F0F_3C3C_A5A5_5A5A, 0x1234_5678_9ABC_DEF0
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)  # the problem (ZD2026-001) is raised at NOW, 23 November
        await _blob(conn, "a", picture)
        await _blob(conn, "a-resent", picture ^ 0b101)  # the same picture, two bits apart
        await _blob(conn, "b", other)
        second = await _insert(
            conn, "projects", code="ZD2026-002", name="城南污水厂", category="城建", level="区级", location="城南街道",
            owner="区水务公司", total_investment=Decimal("5000"), annual_plan=Decimal("1000"), done_before=Decimal(0),
            baseline_year=2026, stage="在建", planned_start=date(2026, 1, 1), planned_finish=date(2027, 6, 30),
            lead_official_id=None, lead_unit_id=ids["housing"], liaison_id=ids["liaison"], created_at=NOW,
            updated_at=NOW)
        node = await _insert(conn, "project_nodes", project_id=second, seq=1, name="桩基完成",
                             planned_on=date(2026, 11, 30), done_on=date(2026, 11, 22), note="", source="chat",
                             created_at=NOW, updated_at=NOW)
        node_photo = await _kept(conn, "node_photos", "b", node_id=node, created_at=NOW - timedelta(days=1))
        problem_photo = await _kept(conn, "problem_photos", "a", problem_id=ids["problem"])
        reports = {}
        for key, project, day in (("same day", ids["project"], 23), ("next day", ids["project"], 24),
                                  ("elsewhere", second, 25)):
            reports[key] = await _insert(conn, "reports", project_id=project, person_id=ids["liaison"],
                                         local_day=date(2026, 11, day), amount=Decimal(1), progress_text="桩基",
                                         channel="telegram", created_at=NOW + timedelta(days=day - 23, hours=1))
        same_day = await _kept(conn, "report_photos", "a", report_id=reports["same day"])  # the problem's day
        next_day = await _kept(conn, "report_photos", "a-resent", report_id=reports["next day"],
                               duplicate_of_id=same_day, duplicate_distance=2)
        elsewhere = await _kept(conn, "report_photos", "a", report_id=reports["elsewhere"],
                                duplicate_of_id=same_day, duplicate_distance=0)
        also_node = await _kept(conn, "report_photos", "b", report_id=reports["next day"])

    def marks(conn: Connection) -> dict[int, tuple[Any, ...]]:
        columns = [c["name"] for c in inspect(conn).get_columns("report_photos") if c["name"].startswith("duplicate")]
        rows = conn.execute(text(f"SELECT id, {', '.join(sorted(columns))} FROM report_photos ORDER BY id"))
        return {row[0]: tuple(row[1:]) for row in rows}

    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        # (distance, report photo, node photo, problem photo)
        assert await conn.run_sync(marks) == {
            same_day: (None, None, None, None),  # the problem's photo of that day and project: no repeat
            next_day: (2, None, None, problem_photo),  # the problem's photo was the first, a day before
            elsewhere: (0, None, None, problem_photo),
            also_node: (0, None, node_photo, None)}
    shown = {p.id: p for p in await reading.project_photos(empty_db, project_id=ids["project"])}
    repeat = shown[next_day].duplicate
    assert repeat is not None
    assert (repeat.kind, repeat.photo_id, repeat.project_code, repeat.local_day, repeat.identical, repeat.distance) == (
        "problem", problem_photo, "ZD2026-001", date(2026, 11, 23), False, 2)
    repeat = shown[also_node].duplicate
    assert repeat is not None and (repeat.kind, repeat.project_code, repeat.local_day, repeat.identical) == (
        "node", "ZD2026-002", date(2026, 11, 22), True)
    assert shown[same_day].duplicate is None
    async with empty_db.session() as session:
        notes = await photo_repo.photo_notes(session, project_id=ids["project"])
    assert (notes.repeats, sorted(p.id for p in notes.newest_repeats)) == (2, [next_day, also_node])

    await asyncio.to_thread(downgrade, empty_db.url, "0016")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(marks) == {  # (distance, report photo)
            same_day: (None, None), next_day: (2, same_day), elsewhere: (0, same_day), also_node: (None, None)}


async def test_photo_failure_reasons_stored_as_words_become_codes(empty_db: Database) -> None:
    """0020: a photo's failure reason, stored before as the channel's words, is stored as a code the pages word;
    the words stored before are read into their codes once, here."""
    await asyncio.to_thread(upgrade, empty_db.url, "0019")
    old = {"Telegram: Wrong file_id specified": "gone_telegram", "Telegram: File is too big": "too_big",
           "照片超过 20 MB": "too_big", "企业微信:media/get: WeCom errcode 40007: invalid media_id": "gone_wecom",
           "企业微信:media/get: larger than 20971520 bytes": "too_big", "企业微信:media/get: HTTP 404": "refused",
           "渠道 wecom 未配置,无法下载": "no_channel", "Telegram: Timed out": "failed", "": None}
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
        photo_ids = {}
        for n, words in enumerate(old):
            photo_ids[words] = await _insert(conn, "report_photos", report_id=ids["report"], channel="telegram",
                                             file_id=f"AgAC{n}", fetch_attempts=1, fetch_error=words)
        await conn.execute(text("INSERT INTO problem_photos (problem_id, channel, file_id, fetch_attempts, "
                                "fetch_error) VALUES (:p, 'wecom', 'MEDIA-1', 3, 'WeCom errcode 40007')"),
                           {"p": ids["problem"]})
    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        reasons = dict((await conn.execute(text("SELECT id, fetch_reason FROM report_photos"))).all())
        problem_reason = (await conn.execute(text("SELECT fetch_reason FROM problem_photos"))).scalar_one()
    assert {words: reasons[photo_id] for words, photo_id in photo_ids.items()} == old
    assert problem_reason == "gone_wecom"
    await asyncio.to_thread(downgrade, empty_db.url, "0019")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT fetch_error FROM problem_photos"))).scalar_one() == "gone_wecom"


async def test_a_chat_registered_from_two_topics_becomes_one_group_at_the_upgrade(empty_db: Database) -> None:
    """0023: a forum registered as a bulletin group from two topics (and from General) before topics were
    handled is one group after the upgrade: the topic registered last, with its name; the notices waiting for
    the others go there; each merge is audited as a move. Other groups are left alone."""
    await asyncio.to_thread(upgrade, empty_db.url, "0022")
    forum, other = "-1001234567890", "-1009876543210"
    async with empty_db.engine.begin() as conn:
        await _fill_previous_release(conn)
        for n, (chat_id, name) in enumerate([(forum, "领导小组"), (f"{forum}/5", "领导小组（通报）"),
                                             (other, "指挥部"), (f"{forum}/7", "重点项目领导小组")]):
            await _insert(conn, "bulletin_groups", channel="telegram", chat_id=chat_id, name=name,
                          created_at=NOW + timedelta(hours=n), created_by="管理员")
        await _insert(conn, "bulletin_groups", channel="wecom_robot", chat_id="领导小组", name="领导小组",
                      created_at=NOW, created_by="管理员")
        for n, (chat_id, state) in enumerate([(f"{forum}/5", "pending"), (forum, "pending"),
                                              (f"{forum}/5", "sent"), (other, "pending")]):
            await _insert(conn, "outbox", dedupe_key=f"bulletin:{n}", person_id=None, channel="telegram",
                          chat_id=chat_id, payload={"html": HTML}, state=state, attempts=0, next_attempt_at=NOW,
                          created_at=NOW)
    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        groups = (await conn.execute(text("SELECT channel, chat_id, name FROM bulletin_groups ORDER BY id"))).all()
        waiting = (await conn.execute(text("SELECT dedupe_key, chat_id FROM outbox WHERE dedupe_key LIKE "
                                           "'bulletin:%' ORDER BY dedupe_key"))).all()
        moves = (await conn.execute(text("SELECT object_key, detail FROM audit_log WHERE action = 'group.move' "
                                         "ORDER BY id"))).all()
    assert [tuple(g) for g in groups] == [("telegram", other, "指挥部"), ("telegram", f"{forum}/7", "重点项目领导小组"),
                                          ("wecom_robot", "领导小组", "领导小组")]
    assert [tuple(w) for w in waiting] == [("bulletin:0", f"{forum}/7"), ("bulletin:1", f"{forum}/7"),
                                           ("bulletin:2", f"{forum}/5"), ("bulletin:3", other)]  # a sent one stays
    assert [(key, _json(detail)["from"]) for key, detail in moves] == [
        (f"telegram:{forum}/7", forum), (f"telegram:{forum}/7", f"{forum}/5")]


async def test_the_kinds_of_a_file_mark_made_before_0037_are_carried_over_from_its_audit_row(
        empty_db: Database) -> None:
    """0037: the kinds of file a bulletin group was marked as refusing (kept in the mark's audit row before) are
    kept with the group: its latest mark's kinds; a mark whose row names none is both, as it read before; an
    unmarked group has none, whatever its old audit rows say."""
    await asyncio.to_thread(upgrade, empty_db.url, "0036")
    async with empty_db.engine.begin() as conn:
        for chat_id, marked in (("-1001", True), ("-1002", True), ("-1003", False)):
            await _insert(conn, "bulletin_groups", channel="telegram", chat_id=chat_id, name=f"群{chat_id}",
                          created_at=NOW, created_by="管理员")
            if marked:
                await conn.execute(text("UPDATE bulletin_groups SET files_refused_at = created_at "
                                        "WHERE chat_id = :chat"), {"chat": chat_id})
        for chat_id, kinds in (("-1001", ["documents", "photos"]), ("-1001", ["photos"]), ("-1002", None),
                               ("-1003", ["documents"])):
            await _insert(conn, "audit_log", at=NOW, actor="系统", channel="telegram", action="group.no_files",
                          object_type="group", object_key=f"telegram:{chat_id}",
                          detail={"name": "群", **({"kinds": kinds} if kinds else {})})
    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT chat_id, files_refused FROM bulletin_groups ORDER BY id"))).all()
    assert [tuple(row) for row in kept] == [("-1001", "photos"), ("-1002", "documents,photos"), ("-1003", None)]


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


async def test_finishes_recorded_before_their_day_was_are_dated_from_the_audit_trail(empty_db: Database) -> None:
    """0025: a finished project without a confirmed 竣工 gets one of the day its latest audit entry made it
    finished (an admin's change, in Shanghai time; an import that added it finished); one without such an
    entry, and one already dated, are left as they are."""
    url = empty_db.url
    await asyncio.to_thread(upgrade, url, "0022")
    late_evening = datetime(2026, 10, 14, 17, 30, tzinfo=UTC)  # 15 October, 01:30 in Shanghai
    async with empty_db.engine.begin() as conn:
        unit = await _insert(conn, "units", name="区住建局", created_at=NOW)
        admin = await _insert(conn, "people", name="管理员", phone=None, title=None, unit_id=None, active=True,
                              created_at=NOW)
        ids = {}
        for code, stage in [("ZD2026-001", "竣工"), ("ZD2026-002", "投产"), ("ZD2026-003", "竣工"),
                            ("ZD2026-004", "竣工"), ("ZD2026-005", "在建")]:
            ids[code] = await _insert(
                conn, "projects", code=code, name=code, category="交通", total_investment=Decimal(100),
                annual_plan=Decimal(50), done_before=Decimal(0), baseline_year=2026, stage=stage,
                lead_unit_id=unit, created_at=NOW, updated_at=NOW)
        audits = [
            ("ZD2026-001", late_evening - timedelta(days=20), "project.update",
             {"field": "stage", "before": "在建", "after": "竣工"}),
            ("ZD2026-001", late_evening - timedelta(days=10), "project.update",
             {"field": "stage", "before": "竣工", "after": "在建"}),
            ("ZD2026-001", late_evening, "project.update", {"field": "stage", "before": "在建", "after": "竣工"}),
            ("ZD2026-002", NOW, "project.create", {"source": "ledger", "name": "ZD2026-002", "stage": "投产"}),
            ("ZD2026-003", NOW, "project.update", {"field": "name", "before": "甲", "after": "乙"}),
            ("ZD2026-005", NOW, "project.update", {"field": "stage", "before": "在建", "after": "竣工"}),
        ]
        for code, at, action, detail in audits:
            await _insert(conn, "audit_log", at=at, actor_person_id=admin, actor="管理员", channel="telegram",
                          action=action, object_type="project", object_key=code, detail=detail)
        await conn.execute(text("INSERT INTO stage_events (project_id, kind, day, state, created_at) VALUES "
                                "(:p, 'finish', :d, 'confirmed', :at)").bindparams(
            bindparam("d", type_=Date()), bindparam("at", type_=UTCDateTime())),
            {"p": ids["ZD2026-004"], "d": date(2026, 9, 1), "at": NOW})

    await asyncio.to_thread(upgrade, url)
    await empty_db.engine.dispose()

    async with empty_db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT project_id, kind, day, state, raised_by_id FROM stage_events "
                                        "ORDER BY project_id"))).all()
    local_now = to_local(NOW).date()
    assert [(p, k, date.fromisoformat(str(d)), s, r) for p, k, d, s, r in rows] == [
        (ids["ZD2026-001"], "finish", date(2026, 10, 15), "confirmed", admin),
        (ids["ZD2026-002"], "finish", local_now, "confirmed", admin),
        (ids["ZD2026-004"], "finish", date(2026, 9, 1), "confirmed", None)]


async def test_report_photos_kept_before_0027_repeat_the_same_picture_sent_with_them(empty_db: Database) -> None:
    """0027: three identical photos kept with one report before it: the second and third are marked as repeating
    the first; the same picture in that day's next report (a correction) is no repeat. Down again, unmarked."""
    await asyncio.to_thread(upgrade, empty_db.url, "0016")
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
        await _blob(conn, "p", 0x0F0F_3C3C_A5A5_5A5A)
        reports = [await _insert(conn, "reports", project_id=ids["project"], person_id=ids["liaison"],
                                 local_day=date(2026, 11, 24), amount=Decimal(1), progress_text="桩基",
                                 channel="telegram", created_at=NOW + timedelta(days=1, hours=hours))
                   for hours in (1, 2)]
        padded = [await _kept(conn, "report_photos", "p", report_id=reports[0]) for _ in range(3)]
        corrected = await _kept(conn, "report_photos", "p", report_id=reports[1])
    await asyncio.to_thread(upgrade, empty_db.url, "0026")

    def marks(conn: Connection) -> dict[int, tuple[Any, ...]]:
        rows = conn.execute(text("SELECT id, duplicate_of_id, duplicate_distance FROM report_photos ORDER BY id"))
        return {row[0]: tuple(row[1:]) for row in rows}

    unmarked = {photo: (None, None) for photo in (*padded, corrected)}
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(marks) == unmarked
    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(marks) == {**unmarked, padded[1]: (padded[0], 0), padded[2]: (padded[0], 0)}
    async with empty_db.session() as session:
        notes = await photo_repo.photo_notes(session, project_id=ids["project"])
    assert notes.repeats == 2
    await asyncio.to_thread(downgrade, empty_db.url, "0026")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(marks) == unmarked


async def test_node_photos_stored_before_0028_are_numbered_by_their_sendings(empty_db: Database) -> None:
    """0028: a node's photos stored before are numbered by the time they were stored (one time, one sending)
    and the node counts its sendings, so that marking it done again starts a sending of its own; down again,
    the rows are as they were."""
    await asyncio.to_thread(upgrade, empty_db.url, "0027")
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
        nodes = [await _insert(conn, "project_nodes", project_id=ids["project"], seq=seq, name=name,
                               planned_on=date(2026, 11, 30), done_on=date(2026, 11, 30), note="", source="ledger",
                               created_at=NOW, updated_at=NOW) for seq, name in ((1, "桩基完成"), (2, "主体封顶"))]
        for minutes in (0, 0, 5, 9):
            await conn.execute(text("INSERT INTO node_photos (node_id, channel, file_id, created_at, fetch_attempts) "
                                    "VALUES (:n, 'telegram', :f, :at, 0)").bindparams(
                bindparam("at", type_=UTCDateTime())), {"n": nodes[0], "f": f"AgAC-{minutes}",
                                                        "at": NOW + timedelta(minutes=minutes)})

    def rows(conn: Connection) -> tuple[list[tuple[Any, ...]], ...]:
        return ([tuple(row) for row in conn.execute(text("SELECT * FROM node_photos ORDER BY id"))],
                [tuple(row) for row in conn.execute(text("SELECT * FROM project_nodes ORDER BY id"))])

    async with empty_db.engine.connect() as conn:
        before = await conn.run_sync(rows)
    await asyncio.to_thread(upgrade, empty_db.url)
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        numbered = (await conn.execute(text("SELECT sending FROM node_photos ORDER BY id"))).scalars().all()
        counted = (await conn.execute(text("SELECT sendings FROM project_nodes ORDER BY id"))).scalars().all()
    assert (numbered, counted) == ([1, 1, 2, 3], [3, 0])
    await asyncio.to_thread(downgrade, empty_db.url, "0027")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(rows) == before


async def test_backfills_made_before_0041_and_their_corrections_are_marked(empty_db: Database) -> None:
    """0041: a 补报 made before (its ``report.backfill`` audit entry names it) and the version correcting it are
    marked ``backfill``; the liaison's report is not. Down again, the column is gone and the yearly sums'
    triggers still work (the table was altered, not rebuilt)."""
    await asyncio.to_thread(upgrade, empty_db.url, "0040")
    async with empty_db.engine.begin() as conn:
        ids = await _fill_previous_release(conn)
        backfill = await _insert(conn, "reports", project_id=ids["project"], person_id=ids["admin"],
                                 local_day=date(2026, 11, 20), amount=Decimal(50), progress_text="承台",
                                 channel="telegram", created_at=NOW, withdrawn_at=NOW + timedelta(hours=1))
        corrected = await _insert(conn, "reports", project_id=ids["project"], person_id=ids["admin"],
                                  local_day=date(2026, 11, 20), amount=Decimal(60), progress_text="承台",
                                  channel="telegram", created_at=NOW, replaces_id=backfill)
        await _insert(conn, "audit_log", at=NOW, actor_person_id=ids["admin"], actor="管理员", channel="telegram",
                      action="report.backfill", object_type="project", object_key="ZD2026-001",
                      detail={"report_id": backfill, "day": "2026-11-20", "reason": "零点确认被取消"})
    await asyncio.to_thread(upgrade, empty_db.url, "0041")
    await empty_db.engine.dispose()
    async with empty_db.engine.connect() as conn:
        marked = {row[0]: bool(row[1]) for row in await conn.execute(text("SELECT id, backfill FROM reports"))}
    assert marked == {ids["report"]: False, backfill: True, corrected: True}
    await asyncio.to_thread(downgrade, empty_db.url, "0040")
    await empty_db.engine.dispose()
    async with empty_db.engine.begin() as conn:
        assert "backfill" not in {c["name"] for c in await conn.run_sync(
            lambda sync: inspect(sync).get_columns("reports"))}
        await _insert(conn, "reports", project_id=ids["project"], person_id=ids["liaison"],
                      local_day=date(2026, 11, 24), amount=Decimal(3), progress_text="桩基", channel="telegram",
                      created_at=NOW)
        total = (await conn.execute(text("SELECT SUM(amount) FROM report_sums"))).scalar_one()
    assert Decimal(total) / 10000 == Decimal("1.2345") + 60 + 3
