"""The ledger import end to end: read and validate the sample files, then upsert all or nothing."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from bot.clock import FrozenClock
from bot.services.ledger_import import ImportResult, import_ledger_files
from storage import ledger_import as ledger_writes
from storage.annual_plans import plan_for, plans_of_year
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Person, Project, StageEvent, Unit

from .factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV, SAMPLE_XLSX, count

CSV_TWINS = [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV]
TOTAL = "总投资(万元)"
PLAN = "年度计划投资(万元)"


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def edited_projects_csv(tmp_path: Path, edit: Callable[[dict[str, str]], None],
                        name: str = "projects.csv", columns: Sequence[str] = ()) -> Path:
    """A copy of the sample projects CSV with `edit` applied to every row (as a header → value dict), and
    `columns` added after the template's, empty unless `edit` fills them."""
    header, *body = _rows(SAMPLE_PROJECTS_CSV)
    header = [*header, *columns]
    rows = [header]
    for values in body:
        row = dict(zip(header, [*values, *("" for _ in columns)], strict=True))
        edit(row)
        rows.append([row[h] for h in header])
    return _write(tmp_path / name, rows)


def _set(code: str, column: str, value: str) -> Callable[[dict[str, str]], None]:
    def edit(row: dict[str, str]) -> None:
        if row["项目编号"] == code:
            row[column] = value
    return edit


def _nothing_new(summary: ImportResult) -> bool:
    return not summary.issues and not +summary.added and not +summary.changed


async def _import(db: Database, clock: FrozenClock, actor: Actor, files: list[Path], *,
                  dry_run: bool = False) -> ImportResult:
    return await import_ledger_files(db, clock, files, actor=actor, dry_run=dry_run)


async def _counts(db: Database) -> dict[str, int]:
    return {model.__tablename__: await count(db, model) for model in (Project, Person, Unit, AuditEntry)}


@pytest.fixture
async def imported(db: Database, clock: FrozenClock, actor: Actor) -> ImportResult:
    """The sample workbook imported once."""
    summary = await _import(db, clock, actor, [SAMPLE_XLSX])
    assert summary.issues == []
    return summary


async def _only_person(db: Database, name: str) -> Person:
    async with db.session() as session:
        found = list((await session.scalars(select(Person).where(Person.name == name))).unique().all())
    assert len(found) == 1, f"{name}: {len(found)} people"
    return found[0]


async def test_sample_workbook_dry_run_then_import(db: Database, clock: FrozenClock, actor: Actor) -> None:
    # A dry run reports what an import would do, and writes nothing.
    dry = await _import(db, clock, actor, [SAMPLE_XLSX], dry_run=True)
    assert dry.issues == []
    assert dry.added["project"] == 42
    assert await _counts(db) == {"projects": 0, "people": 0, "units": 0, "audit_log": 0}

    # The real import does just that: projects, people, units and roles, all audited.
    imported = await _import(db, clock, actor, [SAMPLE_XLSX])
    assert (dry.added, dry.changed, dry.unchanged, dry.issues, dry.changes) == (
        imported.added, imported.changed, imported.unchanged, imported.issues, imported.changes)
    assert imported.added["project"] == 42
    assert imported.added["person"] >= 67
    assert imported.added["unit"] >= 1
    assert not +imported.changed
    counts = await _counts(db)
    assert counts["projects"] == 42
    assert counts["people"] == imported.added["person"]
    assert counts["units"] == imported.added["unit"]
    # Every unit, person, project and node created is in the audit trail.
    assert imported.plan is not None and imported.plan.nodes is not None
    assert dry.plan is not None and dry.plan.nodes is not None and dry.plan.nodes.counts["added"] == 197
    # (and the import itself, once)
    assert counts["audit_log"] == sum(imported.added.values()) + imported.plan.nodes.counts["added"] + 1
    async with db.session() as session:
        unit_names = set((await session.scalars(select(Unit.name))).all())
    assert {"区住建局", "区工信局", "区发改局", "城北街道", "区重大项目办"} <= unit_names

    liaison = await _only_person(db, "郝芳")
    assert liaison.role_names == {"liaison"}
    assert liaison.unit is not None and liaison.unit.name == "区住建局"
    assert liaison.phone == "13900007919"
    lead = await _only_person(db, "刘文华")
    assert lead.role_names == {"lead"}
    assert lead.title == "副区长(城建)"
    assert (await _only_person(db, "王立军")).role_names == {"top"}
    assert (await _only_person(db, "管理员(区重大项目办)")).role_names == {"admin"}
    handler = await _only_person(db, "赵芳")
    assert handler.role_names == {"unit"}
    assert handler.unit is not None and handler.unit.name == "区住建局"

    async with db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        supporting = [s.unit.name for s in project.supporting]
    assert project.name == "城北高速连接线"
    assert project.lead_official is not None and project.lead_official.id == lead.id
    assert project.liaison is not None and project.liaison.id == liaison.id
    assert project.lead_unit.name == "区住建局"
    assert supporting == ["区工信局", "区发改局", "城北街道"]
    assert (project.total_investment, project.annual_plan, project.done_before) == (
        Decimal(68000), Decimal(40800), Decimal(26051))
    assert project.baseline_year == 2026
    assert project.stage == "在建"


async def test_reimporting_the_workbook_or_its_csv_twins_changes_nothing(
    db: Database, clock: FrozenClock, actor: Actor, imported: ImportResult
) -> None:
    before = await _counts(db)
    clock.advance(days=1)
    for imports, files in enumerate(([SAMPLE_XLSX], CSV_TWINS), start=1):
        again = await _import(db, clock, actor, files)
        assert _nothing_new(again), (files, again.changes)
        assert again.changes == []
        assert again.unchanged["project"] == 42
        # no new rows; in the audit trail only the import's own record
        assert await _counts(db) == {**before, "audit_log": before["audit_log"] + imports}


async def test_changes_to_an_imported_ledger(
    db: Database, clock: FrozenClock, actor: Actor, imported: ImportResult, tmp_path: Path
) -> None:
    before = await _counts(db)

    async def plan_of_001() -> Decimal | None:
        async with db.session() as session:
            return await session.scalar(select(Project.annual_plan).where(Project.code == "ZD2026-001"))

    edited = edited_projects_csv(tmp_path, _set("ZD2026-001", PLAN, "41000.5"))

    # A dry run tells what would change and leaves everything as it was.
    dry = await _import(db, clock, actor, [edited, SAMPLE_PEOPLE_CSV], dry_run=True)
    assert dry.issues == []
    assert dict(dry.changed) == {"project": 1}
    assert await _counts(db) == before
    assert await plan_of_001() == Decimal(40800)

    # The same good change next to one bad row: nothing at all is written.
    def edit_with_bad_row(row: dict[str, str]) -> None:
        _set("ZD2026-001", PLAN, "41000.5")(row)
        _set("ZD2026-002", TOTAL, "abc")(row)

    broken = edited_projects_csv(tmp_path, edit_with_bad_row, name="broken.csv")
    refused = await _import(db, clock, actor, [broken, SAMPLE_PEOPLE_CSV])
    assert refused.issues
    assert not +refused.changed
    assert await _counts(db) == before
    assert await plan_of_001() == Decimal(40800)

    # The real import: one changed project, one audit entry naming the field (and the import's own).
    clock.advance(hours=1)
    summary = await _import(db, clock, actor, [edited, SAMPLE_PEOPLE_CSV])
    assert summary.issues == []
    assert not +summary.added
    assert dict(summary.changed) == {"project": 1}
    assert summary.unchanged["project"] == 41
    assert summary.changes == dry.changes
    assert [(c.key, [f.field for f in c.fields]) for c in summary.changes] == [("ZD2026-001", ["annual_plan"])]
    after = await _counts(db)
    assert after == {**before, "audit_log": before["audit_log"] + 2}
    async with db.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action != "ledger.import")
                                     .order_by(AuditEntry.id.desc()).limit(1))
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
    assert entry is not None and project is not None
    assert entry.action == "project.update"
    assert entry.object_type == "project"
    assert entry.object_key == "ZD2026-001"
    assert (entry.actor, entry.channel) == (actor.label, actor.channel)
    assert set(entry.detail["changed"]) == set(entry.detail["before"]) == {"annual_plan"}
    assert (Decimal(entry.detail["before"]["annual_plan"]), Decimal(entry.detail["changed"]["annual_plan"])) == (
        Decimal(40800), Decimal("41000.5"))
    assert entry.at == clock.now()
    assert project.annual_plan == Decimal("41000.5")
    assert project.updated_at == clock.now()
    assert project.created_at < clock.now()


async def test_one_bad_row_writes_nothing(
    db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path
) -> None:
    bad = edited_projects_csv(tmp_path, _set("ZD2026-007", TOTAL, "约三亿"))
    summary = await _import(db, clock, actor, [bad, SAMPLE_PEOPLE_CSV])
    assert summary.issues
    assert any(issue.column == TOTAL for issue in summary.issues), [str(i) for i in summary.issues]
    assert not +summary.added
    assert await _counts(db) == {"projects": 0, "people": 0, "units": 0, "audit_log": 0}


async def test_two_people_with_the_same_name_and_different_phones_are_two_people(
    db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path
) -> None:
    roster = _write(tmp_path / "people.csv", [
        ["姓名", "角色", "单位/职务", "手机", "负责项目"],
        ["张伟", "联络员", "区住建局", "13912340001", ""],
        ["张伟", "联络员", "区发改局", "13912340002", ""],
    ])
    summary = await _import(db, clock, actor, [roster])
    assert summary.issues == []
    assert summary.added["person"] == 2
    async with db.session() as session:
        found = list((await session.scalars(select(Person).where(Person.name == "张伟").order_by(Person.id)))
                     .unique().all())
    assert [(p.phone, p.unit.name if p.unit else None) for p in found] == [
        ("13912340001", "区住建局"), ("13912340002", "区发改局")]
    assert all(p.role_names == {"liaison"} for p in found)

    again = await _import(db, clock, actor, [roster])
    assert _nothing_new(again), again.changes
    assert await count(db, Person) == 2


async def test_reimporting_an_amount_finer_than_one_yuan_changes_nothing(
    db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path
) -> None:
    # Excel formula results carry float noise; money is kept to the 元, so such a value must not show
    # up as a change on every re-import.
    header, *body = _rows(SAMPLE_PROJECTS_CSV)
    row = dict(zip(header, body[0], strict=True))
    assert row["项目编号"] == "ZD2026-001"
    row[PLAN] = "40800.300000000003"
    projects = _write(tmp_path / "projects.csv", [header, [row[h] for h in header]])
    roster = _write(tmp_path / "people.csv", [
        ["姓名", "角色", "单位/职务", "手机", "负责项目"],
        ["郝芳", "联络员", "区住建局", "13900007919", "ZD2026-001"],
        ["刘文华", "包抓领导", "副区长(城建)", "", ""],
        *([name, "单位经办人", unit, phone, ""] for name, unit, phone in (
            ("胡杰", "区工信局", "13800209458"), ("王刚", "区发改局", "13800000000"),
            ("段桂英", "城北街道", "13801152019"))),
    ])
    first = await _import(db, clock, actor, [projects, roster])
    assert first.issues == []
    assert first.added["project"] == 1
    before = await _counts(db)
    again = await _import(db, clock, actor, [projects, roster])
    assert _nothing_new(again), again.changes
    assert await _counts(db) == {**before, "audit_log": before["audit_log"] + 1}  # the import's own record
    async with db.session() as session:
        plan = await session.scalar(select(Project.annual_plan).where(Project.code == "ZD2026-001"))
    assert plan == Decimal("40800.3")


async def test_each_year_keeps_its_plan_and_last_years_ledger_stays_last_years(
        db: Database, clock: FrozenClock, actor: Actor, imported: ImportResult, tmp_path: Path) -> None:
    """The 2027 ledger writes the 2027 plans beside 2026's; the 2026 workbook (titled 「2026年…」, no 截至 day)
    brought in again in January 2027 is 2026's, up to 31 December: it changes no 2027 plan."""
    ours = await _project_id(db, "ZD2026-001")
    clock.set(datetime(2027, 1, 8, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    ledger_2027 = edited_projects_csv(tmp_path, _set("ZD2026-001", PLAN, "44880"))
    summary = await import_ledger_files(db, clock, [ledger_2027, SAMPLE_PEOPLE_CSV], actor=actor,
                                        as_of=date(2027, 1, 7))
    assert summary.issues == [] and summary.written
    async with db.session() as session:
        assert await plan_for(session, project_id=ours, year=2026) == Decimal(40800)
        assert await plan_for(session, project_id=ours, year=2027) == Decimal(44880)
        assert len([p for p in (await plans_of_year(session, year=2027)).values() if p is not None]) == 42

    clock.set(datetime(2027, 1, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    old = await import_ledger_files(db, clock, [SAMPLE_XLSX], actor=actor)
    assert old.issues == [] and old.written
    assert old.plan is not None and (old.plan.as_of, old.plan.as_of_source) == (date(2026, 12, 31), "title")
    async with db.session() as session:
        assert await plan_for(session, project_id=ours, year=2027) == Decimal(44880)
        assert await plan_for(session, project_id=ours, year=2026) == Decimal(40800)


async def _project_id(db: Database, code: str) -> int:
    async with db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == code))
    assert project_id is not None
    return project_id


async def test_a_stage_history_against_the_project_s_stage_is_refused_and_nothing_is_written(
    db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path
) -> None:
    """ZD2026-001 is 在建, yet its 阶段记录 ends with a 竣工: past bulletins would read it finished. The import
    refuses it, naming the sheet, row and column, and writes nothing."""
    stages = _write(tmp_path / "stages.csv", [["项目编号", "阶段变化", "日期"], ["ZD2026-001", "开工", "2026-03-02"],
                                               ["ZD2026-001", "竣工", "2026-06-30"]])
    summary = await _import(db, clock, actor, [*CSV_TWINS, stages])
    assert [(issue.sheet, issue.row, issue.column) for issue in summary.issues] == [("stages.csv", 3, "阶段变化")]
    assert "建设阶段为「在建」" in summary.issues[0].message
    assert "最后一条阶段变化应为「开工」或「恢复在建」，此行却是「竣工」" in summary.issues[0].message
    assert not +summary.added
    assert await _counts(db) == {"projects": 0, "people": 0, "units": 0, "audit_log": 0}
    assert await count(db, StageEvent) == 0


async def test_every_row_is_built_before_the_first_write(db: Database, clock: FrozenClock, actor: Actor,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows are built a few at a time, the event loop answering others between: never once the first
    statement has written, which would hold the write lock across those turns (a report of this process
    meanwhile waits for it, and fails past LOCK_WAIT_SECONDS)."""
    writing: list[str] = []
    built_while_writing: list[int] = []
    built = ledger_writes._built

    async def watched(items, build):  # type: ignore[no-untyped-def]
        if writing:
            built_while_writing.append(len(writing))
        return await built(items, build)

    def record(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writing.append(statement)

    monkeypatch.setattr(ledger_writes, "_built", watched)
    monkeypatch.setattr(ledger_writes, "_TURN", 1)
    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        summary = await _import(db, clock, actor, [SAMPLE_XLSX])
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    assert summary.written and summary.added["project"] == 42 and summary.added["person"] > 0
    assert writing and built_while_writing == []
    counts = await _counts(db)
    assert (counts["projects"], counts["people"], counts["units"]) == (
        42, summary.added["person"], summary.added["unit"])
