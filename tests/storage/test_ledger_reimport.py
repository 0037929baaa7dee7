"""Re-importing the ledger over work done since (storage, both databases): the dated baseline, the day
asked for when it matters, the conflicts with the chat, and nothing deleted by omission."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import event, select

from bot.__main__ import main
from bot.clock import FrozenClock, to_local
from bot.render import shared_renderer
from bot.services.ledger_import import ImportResult, import_ledger_files
from storage import audit
from storage import projects as project_repo
from storage.audit import Actor
from storage.db import Database
from storage.migrate import upgrade
from storage.models import AuditEntry, Person, Problem, Project, Report

from .factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV, SAMPLE_XLSX, count
from .test_ledger_import import _set, edited_projects_csv

CODE = "ZD2026-001"
DONE = "截至上月累计完成(万元)"


async def _import(db: Database, clock: FrozenClock, actor: Actor, files: list[Path],
                  **options: object) -> ImportResult:
    result = await import_ledger_files(db, clock, files, actor=actor, **options)
    assert result.issues == [], [str(i) for i in result.issues]
    return result


async def _report(db: Database, code: str, day: date, amount: str) -> None:
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        assert project is not None and project.liaison_id is not None
        session.add(Report(project_id=project.id, person_id=project.liaison_id, local_day=day,
                           amount=Decimal(amount), channel="telegram", created_at=project.created_at))


async def _ytd(db: Database, code: str, day: date) -> Decimal:
    async with db.session() as session:
        found = await project_repo.get_project_and_figures(session, code=code, today=day)
        assert found is not None
        return found[1].ytd_done


async def test_a_report_before_the_baseline_day_is_not_counted_twice(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    first = await _import(db, clock, actor, [SAMPLE_XLSX])  # 2026-11-23, nothing reported yet
    # undated: 截至上月 as the header says, so the 11-20 report (sent late) is not in it
    assert (first.plan.as_of, first.plan.as_of_source) == (date(2026, 10, 31), "default")
    await _report(db, CODE, date(2026, 11, 20), "1000")
    assert await _ytd(db, CODE, date(2026, 12, 3)) == Decimal(27051)

    clock.advance(days=10)  # 2026-12-03: the end-of-November ledger says 27,051 done by 11-30
    edited = edited_projects_csv(tmp_path, _set(CODE, DONE, "27051"))
    files = [edited, SAMPLE_PEOPLE_CSV]
    refused = await import_ledger_files(db, clock, files, actor=actor)
    assert refused.needs_as_of and not refused.written  # the day decides what is counted twice: asked
    async with db.session() as session:
        assert await session.scalar(select(Project.done_before).where(Project.code == CODE)) == Decimal(26051)

    await _report(db, CODE, date(2026, 12, 1), "500")
    dry = await _import(db, clock, actor, files, as_of=date(2026, 11, 30), dry_run=True)
    [ytd] = [y for y in dry.plan.year_to_date if y.code == CODE]
    assert (ytd.before, ytd.after, ytd.covered_reports) == (Decimal(27551), Decimal(27551), 1)
    assert dry.plan.covered_reports == 1

    done = await _import(db, clock, actor, files, as_of=date(2026, 11, 30))
    assert done.written and done.plan.as_of_source == "given"
    assert await _ytd(db, CODE, date(2026, 12, 3)) == Decimal(27551)  # 27,051 + the 500 of 12-01
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None
        assert (project.baseline_year, project.baseline_date) == (2026, date(2026, 11, 30))


async def test_the_day_a_title_names_is_the_baseline_day(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(SAMPLE_XLSX)
    workbook["重点项目包抓责任分解表"]["A1"] = "2026年全区重点项目包抓责任分解表（截至2026年10月31日）"
    titled = tmp_path / "titled.xlsx"
    workbook.save(titled)
    result = await _import(db, clock, actor, [titled], as_of=date(2026, 11, 15))
    assert (result.plan.as_of, result.plan.as_of_source) == (date(2026, 10, 31), "file")


async def test_chat_work_is_kept_unless_the_file_is_chosen(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    await _import(db, clock, actor, [SAMPLE_XLSX])
    async with db.session() as session:  # /handover 郝芳 严超 then /deactivate 郝芳, as the chat does them
        hao = await session.scalar(select(Person).where(Person.name == "郝芳"))
        yan = await session.scalar(select(Person).where(Person.name == "严超"))
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert hao is not None and yan is not None and project is not None
        project.liaison_id, hao.active = yan.id, False
        clock.advance(minutes=5)
        await audit.record(session, actor=actor, at=clock.now(), action="project.update", object_type="project",
                           object_key=CODE, detail={"field": "liaison", "before": "郝芳", "after": "严超",
                                                    "handover": True})
        hao_id, yan_id = hao.id, yan.id
    clock.advance(days=1)

    kept = await _import(db, clock, actor, [SAMPLE_XLSX])
    # The roster does not say 郝芳 is 在用: she stays deactivated whatever is chosen.
    assert [(c.kind, c.choice) for c in kept.conflicts] == [("deactivated", None), ("handover", "keep")]
    assert kept.conflicts[1].chat == "严超" and kept.conflicts[1].file == "郝芳"
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        hao = await session.get(Person, hao_id)
        assert project is not None and hao is not None
        assert (project.liaison_id, hao.active) == (yan_id, False)

    unsaid = await _import(db, clock, actor, [SAMPLE_XLSX], take_file=True)
    assert [(c.kind, c.choice, c.blocked) for c in unsaid.conflicts] == [("deactivated", None, False),
                                                                         ("handover", "file", True)]
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        hao = await session.get(Person, hao_id)
        assert project is not None and hao is not None
        assert (project.liaison_id, hao.active) == (yan_id, False)

    lines = SAMPLE_PEOPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    said = [f"{lines[0]},状态", *(f"{line},在用" if line.startswith("郝芳,") else f"{line}," for line in lines[1:])]
    people = tmp_path / "people.csv"
    people.write_text("\n".join(said) + "\n", encoding="utf-8-sig")
    taken = await _import(db, clock, actor, [SAMPLE_PROJECTS_CSV, people], take_file=True)
    assert [(c.kind, c.choice) for c in taken.conflicts] == [("deactivated", "file"), ("handover", "file")]
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        hao = await session.get(Person, hao_id)
        assert project is not None and hao is not None
        assert (project.liaison_id, hao.active) == (hao_id, True)


async def _hand_over(db: Database, clock: FrozenClock, to: str) -> None:
    """/handover of CODE's liaison to `to`, as the chat does it: the row and its audit entry, by an admin."""
    async with db.session() as session:
        person = await session.scalar(select(Person).where(Person.name == to))
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert person is not None and project is not None
        before = await session.scalar(select(Person.name).where(Person.id == project.liaison_id))
        project.liaison_id = person.id
        clock.advance(minutes=5)
        await audit.record(session, actor=Actor(label="管理员", channel="telegram"), at=clock.now(),
                           action="project.update", object_type="project", object_key=CODE,
                           detail={"field": "liaison", "before": before, "after": to, "handover": True})
    clock.advance(days=1)


async def _liaison(db: Database) -> str | None:
    async with db.session() as session:
        return await session.scalar(select(Person.name).join(Project, Project.liaison_id == Person.id)
                                    .where(Project.code == CODE))


async def test_the_command_lines_import_is_recorded_and_counted_from(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """`diaodu import` leaves the chat's record, a ``ledger.import`` entry, and the next import counts the
    changes made in the chat from it: a handover the office's ledger has since taken up is no conflict any more,
    and a later ledger naming another liaison is imported as it says, not kept back as the chat's."""
    await _import(db, clock, actor, [SAMPLE_XLSX])
    await _hand_over(db, clock, "严超")
    agreed = edited_projects_csv(tmp_path, lambda row: row.update({"首办秘书(联络员)": "严超",
                                                                   "联络员手机": "13900126704"})
                                 if row["项目编号"] == CODE else None, name="v2.csv")
    taken_up = await _import(db, clock, actor, [agreed, SAMPLE_PEOPLE_CSV])
    assert taken_up.written and taken_up.conflicts == []
    async with db.session() as session:
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.import")
                                         .order_by(AuditEntry.id))).all()
    assert [(e.actor, e.channel, e.object_key) for e in entries] == [
        (actor.label, "cli", SAMPLE_XLSX.name), (actor.label, "cli", f"v2.csv + {SAMPLE_PEOPLE_CSV.name}")]
    assert entries[0].detail["sha256"] == hashlib.sha256(SAMPLE_XLSX.read_bytes()).hexdigest()
    assert (entries[1].detail["changed"], entries[1].detail["unchanged"]["project"]) == ({}, 42)  # it agreed
    clock.advance(days=1)

    back = await _import(db, clock, actor, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV])  # the office names 郝芳 again
    assert back.written and [c.kind for c in back.conflicts] == []
    assert await _liaison(db) == "郝芳"


async def test_a_handover_kept_by_the_command_lines_import_is_asked_about_again(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    """A handover made in the chat after `diaodu import` is a conflict when the old file is imported again, kept
    by default; and again at the next import of that old file (kept, it is still the chat's, not the file's)."""
    await _import(db, clock, actor, [SAMPLE_XLSX])
    await _hand_over(db, clock, "严超")
    for _again in range(2):
        kept = await _import(db, clock, actor, [SAMPLE_XLSX])
        assert kept.written and [(c.kind, c.choice) for c in kept.conflicts] == [("handover", "keep")]
        assert await _liaison(db) == "严超"
        clock.advance(days=1)


async def test_a_handover_kept_by_an_import_recorded_before_its_kept_list_is_asked_about_again(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    """An import's audit entry written before imports listed the handovers they kept (``handovers_kept``) still
    holds the admin's choice of each conflict: a handover kept then is asked about again at the first import after
    the upgrade, and kept by default, not undone by the old file."""
    await _import(db, clock, actor, [SAMPLE_XLSX])
    await _hand_over(db, clock, "严超")
    kept = await _import(db, clock, actor, [SAMPLE_XLSX])
    assert kept.written and [(c.kind, c.choice) for c in kept.conflicts] == [("handover", "keep")]
    async with db.session() as session:  # as the entry was written then: the choices, no list of those kept
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.import")
                                     .order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None and entry.detail["handovers_kept"] == [f"handover:{CODE}:liaison"]
        entry.detail = {k: v for k, v in entry.detail.items() if k != "handovers_kept"}
    clock.advance(days=1)
    again = await _import(db, clock, actor, [SAMPLE_XLSX])
    assert again.written and [(c.kind, c.choice) for c in again.conflicts] == [("handover", "keep")]
    assert await _liaison(db) == "严超"


async def test_rows_absent_from_the_file_are_listed_and_kept(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    await _import(db, clock, actor, [SAMPLE_XLSX])
    before = await count(db, Project), await count(db, Person)
    without_002 = edited_projects_csv(tmp_path, lambda row: None)
    lines = without_002.read_text(encoding="utf-8-sig").splitlines()
    without_002.write_text("\n".join(line for line in lines if not line.startswith("ZD2026-002,")) + "\n",
                           encoding="utf-8-sig")
    people = SAMPLE_PEOPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    roster = tmp_path / "people.csv"
    roster.write_text("\n".join(line for line in people if not line.startswith("赵芳,")) + "\n",
                      encoding="utf-8-sig")

    result = await _import(db, clock, actor, [without_002, roster])
    absent = [(c.kind, c.subject, c.choice) for c in result.conflicts]
    assert ("absent_project", "ZD2026-002 滨江四期沿江路", None) in absent
    assert ("absent_person", "赵芳", None) in absent
    assert (await count(db, Project), await count(db, Person)) == before


async def test_projects_without_a_roster_into_an_empty_database_give_one_issue(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    result = await import_ledger_files(db, clock, [SAMPLE_PROJECTS_CSV], actor=actor)
    assert [str(issue) for issue in result.issues] == [
        "「人员名单」：未提供。系统中还没有任何单位和人员，首次导入须同时提供人员名单"
        "（同一工作簿中的「人员名单」表，或另一个人员名单 CSV 文件），项目表才能核对单位"]
    assert await count(db, Project) == 0


async def test_a_large_import_writes_in_a_few_statements(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await _import(db, clock, actor, [SAMPLE_XLSX])
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    # 42 projects, 67+ people, 197 nodes, 300+ audit entries: a statement per table and kind, not one per row
    # (the year's plans and ledger bases: a DELETE and an INSERT each; the day the projects imported finished
    # are so from: one INSERT; the projects' versions: one INSERT; the change marks it compared, taken before the
    # write, one INSERT each: the ledger's, the nodes' and, the baseline's day not given, the reports').
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]  # PostgreSQL's, around the write
    writes = [s for s in statements if s in ("INSERT", "UPDATE", "DELETE")]
    assert len(writes) <= 16, statements
    # (the nodes add three reads: the project codes a node may name, the stored nodes, the new projects' ids;
    # the roster check one: the people stored without a phone; the units absent from the file one: the open
    # problems of each unit; the change marks two: with the state, and again just before they are taken; the
    # moves made in the chat one; and the import's own ledger.import audit entry, one INSERT)
    assert len(statements) <= 36, statements


def test_the_command_line_asks_for_the_day_then_takes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`diaodu import` refuses with a clear message when the baseline's day matters and is unknown, and
    imports with --as-of; conflicts are listed and kept by default."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_XLSX)]) == 0
    today = to_local(datetime.now(UTC)).date()
    yesterday = today - timedelta(days=1)  # a base's day must be over: today is not

    async def report_and_deactivate() -> None:
        db = Database(url)
        try:
            await _report(db, CODE, yesterday, "1000")
            async with db.session() as session:
                hao = await session.scalar(select(Person).where(Person.name == "郝芳"))
                assert hao is not None
                hao.active = False
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, report_and_deactivate()).result()
    edited = edited_projects_csv(tmp_path, _set(CODE, DONE, "27051"))
    capsys.readouterr()

    assert main(["import", str(edited), str(SAMPLE_PEOPLE_CSV)]) == 1
    refused = capsys.readouterr().err
    assert "没有注明累计完成数的截至日期" in refused and "--as-of" in refused

    assert main(["import", str(edited), str(SAMPLE_PEOPLE_CSV), "--as-of", yesterday.isoformat()]) == 0
    done = capsys.readouterr().out
    assert f"累计完成基数截至 {yesterday.isoformat()}（按指定日期），基数已含 1 条已有填报" in done
    assert "郝芳 已在系统中停用，台账仍列有此人：保留停用（不任联络员、包抓领导）" in done
    assert "默认保留系统中的更改；加 --take-file 则采用台账" in done


def test_sheets_the_import_does_not_read_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The exported workbook (项目台账, rankings, 项目节点计划) imported back: its node sheet is read, and the
    report sheets are named as not imported instead of passing silently as if nothing had changed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_XLSX)]) == 0
    workbook = openpyxl.Workbook()
    ledger = workbook.active
    ledger.title = "项目台账"
    ledger.append(["编号", "名称", "年度计划(万元)", "累计完成(万元)"])
    ledger.append([CODE, "城北高速连接线", 40800, 30000])
    workbook.create_sheet("单位排名").append(["排名", "牵头单位"])
    workbook.create_sheet("说明")  # blank: nothing to name
    workbook.create_sheet("项目节点计划").append(["项目编号", "节点名称", "计划完成日期", "实际完成日期", "备注"])
    old = workbook.create_sheet("旧名单")  # an old roster kept out of sight: not read, named
    old.append(["姓名", "角色", "单位/职务", "手机", "负责项目"])
    old.append(["郝芳", "联络员", "区住建局", "13911111111", CODE])
    old.sheet_state = "hidden"
    exported = tmp_path / "export.xlsx"
    workbook.save(exported)
    capsys.readouterr()

    assert main(["import", str(exported), "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert "未读取的工作表：「项目台账」「单位排名」（只导入" in said
    assert "未读取的隐藏工作表：「旧名单」（隐藏的工作表不导入" in said and "人员：新增 0，更新 0" in said
    assert "说明" not in said

    assert main(["import", str(SAMPLE_XLSX), "--dry-run"]) == 0
    assert "未读取的工作表" not in capsys.readouterr().out


def test_a_file_of_nodes_only_says_nothing_of_the_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A 项目节点计划 sent on its own changes no baseline nor plan: its summary does not claim one."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_XLSX)]) == 0
    first = capsys.readouterr().out
    assert "累计完成基数截至" in first
    # a project new to the database had no year-to-date: its figure is given, not a change from 0
    assert "- ZD2026-001 城北高速连接线：本年累计完成 26,051.0 万元（新增项目）" in first
    assert "0.0 → 26,051.0" not in first
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("项目编号,节点名称,计划完成日期,实际完成日期,备注\nZD2026-001,桩基完成,2026-10-31,,\n",
                     encoding="utf-8")

    assert main(["import", str(nodes)]) == 0
    said = capsys.readouterr().out
    assert "节点：新增 1，" in said
    assert "累计完成基数" not in said


async def test_a_unit_the_ledger_no_longer_names_is_listed_with_its_open_problems(
        db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path) -> None:
    """The office renames 区住建局 in its ledger (the projects' 牵头单位 and the roster): the import adds the new
    unit and moves the projects and people to it, but the problems 区住建局 still has to handle stay its own.
    The preview lists the old unit with them and says how to move them (/assign); a unit with no open problem,
    or one the ledger still names, is not listed."""
    await _import(db, clock, actor, [SAMPLE_XLSX])
    now = clock.now()
    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None and project.liaison_id is not None
        for status in ("open", "answered", "resolved"):
            session.add(Problem(project_id=project.id, raised_by_id=project.liaison_id, unit_id=project.lead_unit_id,
                                category="用地", text="还有12户未签约", status=status, policy={},
                                level_started_at=now, nudged=[], created_at=now, updated_at=now))
    renamed = tmp_path / "renamed.xlsx"
    wb = openpyxl.load_workbook(SAMPLE_XLSX)
    for sheet in (wb["重点项目包抓责任分解表"], wb["人员名单"]):
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "区住建局" in cell.value:
                    cell.value = cell.value.replace("区住建局", "区住房和城乡建设局")
    wb.save(renamed)
    result = await import_ledger_files(db, clock, [renamed], actor=actor, dry_run=True)
    assert [(c.kind, c.subject, c.file) for c in result.conflicts if c.kind == "absent_unit"] == [
        ("absent_unit", "区住建局", "2")]
    summary = shared_renderer().plain("import_summary", result=result, dry_run=True, take_file=False, limit=30)
    assert ("系统中的单位 区住建局 不在台账中：保留，仍有 2 个未办结问题由该单位办理"
            "（如为单位改名，请用 /assign 将这些问题改派给新单位）") in summary
    again = await import_ledger_files(db, clock, [SAMPLE_XLSX], actor=actor, dry_run=True)
    assert [c for c in again.conflicts if c.kind == "absent_unit"] == []
