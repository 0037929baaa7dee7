"""The exported ledger (/export, the web's download) holds the import's sheets: imported again on the same
database it changes nothing, and on a fresh database it gives the same ledger (projects, people, leaders,
units, towns, plans, baselines, 开工 and 竣工 days, and nodes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.domain.stage_events import DAY_TYPED, FINISH, REOPEN, START, StageMove
from bot.domain.stage_history import Move
from bot.render import shared_renderer
from bot.services.ledger_download import ledger_file
from bot.services.ledger_import import ImportResult, import_ledger_files
from bot.services.standings import compute_standings
from storage.audit import Actor
from storage.db import Database
from storage.ledger_export import LedgerTemplate, ledger_template
from storage.models import Person, PersonRole, Project, Unit
from storage.nodes import LedgerNode, ledger_nodes
from storage.settings import load_calendar
from storage.stage_events import histories, record_moves
from tests.databases import BACKENDS, fresh_database
from tests.render.factories import make_standings
from tests.storage.factories import NOW, SAMPLE_XLSX

ACTOR = Actor(label="测试管理员", channel="cli")


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with fresh_database(request.param) as database:
        yield database


async def _import(db: Database, files: list[Path], *, clock: FrozenClock | None = None,
                  **options: object) -> ImportResult:
    result = await import_ledger_files(db, clock or FrozenClock(NOW), files, actor=ACTOR, **options)
    assert not result.issues, [str(i) for i in result.issues]
    return result


async def _export(db: Database, path: Path) -> Path:
    async with db.session() as session:
        path.write_bytes(await ledger_file(session, make_standings()))
    return path


async def _ledger(db: Database) -> tuple[LedgerTemplate, list[LedgerNode], set[str]]:
    async with db.session() as session:
        return (await ledger_template(session), await ledger_nodes(session),
                set((await session.scalars(select(Unit.name))).all()))


async def test_the_export_holds_the_sheets_the_import_reads_in_the_ledger_s_layout(db: Database,
                                                                                    tmp_path: Path) -> None:
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    exported = await _export(db, tmp_path / "export.xlsx")
    wb = openpyxl.load_workbook(exported, read_only=True)
    assert wb.sheetnames[-4:] == ["重点项目包抓责任分解表", "人员名单", "项目节点计划", "阶段记录"]
    projects = list(wb["重点项目包抓责任分解表"].iter_rows(max_row=3, values_only=True))
    sample = list(openpyxl.load_workbook(SAMPLE_XLSX, read_only=True)["重点项目包抓责任分解表"]
                  .iter_rows(max_row=3, values_only=True))
    assert projects[0][0] == sample[0][0] == "2026年全区重点项目包抓责任分解表"
    assert projects[1][8] == "截至2026年11月20日累计完成(万元)"  # the day the baselines are of
    assert projects[1][:8] + projects[1][9:17] == sample[1][:8] + sample[1][9:]
    assert projects[1][17:] == ("实际开工", "竣工日期")  # the import's optional columns, last
    assert projects[2][:2] == sample[2][:2] and projects[2][6:9] == sample[2][6:9]
    assert projects[2][12:17] == sample[2][12:]  # 刘文华(副区长(城建)), the units, the liaison and his phone
    assert projects[2][17:] == (None, None)  # 在建 with no 开工 recorded
    people = list(wb["人员名单"].iter_rows(max_row=1, values_only=True))
    assert people[0] == ("姓名", "角色", "单位/职务", "手机", "负责项目", "状态", "人员编号")


async def test_the_export_imported_again_changes_nothing(db: Database, tmp_path: Path) -> None:
    await _import(db, [SAMPLE_XLSX])
    before = await _ledger(db)
    result = await _import(db, [await _export(db, tmp_path / "export.xlsx")])
    assert not result.added and not result.changed and not result.conflicts, result.changes
    assert result.unchanged["project"] == 42 and result.unchanged["person"] == 67
    assert result.plan is not None and result.plan.nodes is not None and result.plan.nodes.empty
    assert await _ledger(db) == before


async def test_the_export_imported_into_a_fresh_database_gives_the_same_ledger(db: Database, tmp_path: Path) -> None:
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    exported = await _export(db, tmp_path / "export.xlsx")
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported])
        assert await _ledger(fresh) == await _ledger(db)


async def _moves(db: Database) -> dict[str, list[Move]]:
    async with db.session() as session:
        codes = dict((await session.execute(select(Project.id, Project.code))).all())
        return {codes[project_id]: moves for project_id, moves in (await histories(session)).items()}


async def test_the_export_imported_into_a_fresh_database_keeps_each_project_s_start_and_finish_days(
        db: Database, tmp_path: Path) -> None:
    """ZD2026-001 (在建) started on 2 March; ZD2026-021 (竣工) started on 1 May last year and finished on
    1 October, earlier than the import that added it finished (23 November). Exported with 实际开工 and 竣工日期
    (and 阶段记录) and imported into a fresh database ten days later, both keep their days and their whole
    history, not the day of that import."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        ids = dict((await session.execute(select(Project.code, Project.id))).all())
        moves = [StageMove(ids["ZD2026-001"], START, date(2026, 3, 2), DAY_TYPED),
                 StageMove(ids["ZD2026-021"], START, date(2025, 5, 1), DAY_TYPED),
                 StageMove(ids["ZD2026-021"], FINISH, date(2026, 10, 1), DAY_TYPED)]
        await record_moves(session, moves, person_id=None, now=NOW)
    exported = await _export(db, tmp_path / "export.xlsx")
    rows = {row[0]: row[17:] for row in openpyxl.load_workbook(exported, read_only=True)["重点项目包抓责任分解表"]
            .iter_rows(min_row=3, values_only=True)}
    assert [value.date() for value in rows["ZD2026-001"][:1]] == [date(2026, 3, 2)] and rows["ZD2026-001"][1] is None
    assert [value.date() for value in rows["ZD2026-021"]] == [date(2025, 5, 1), date(2026, 10, 1)]
    assert rows["ZD2026-002"] == (None, None)  # 前期
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported], clock=FrozenClock(NOW + timedelta(days=10)))
        assert await _ledger(fresh) == await _ledger(db)
        kept = await _moves(fresh)
        assert kept["ZD2026-001"] == [Move(START, date(2026, 3, 2))]
        assert kept["ZD2026-021"] == [Move(START, date(2025, 5, 1)), Move(FINISH, date(2026, 10, 1)),
                                      Move(FINISH, date(2026, 11, 23))]
        assert kept == await _moves(db)
        assert "ZD2026-002" not in kept


async def _people(db: Database) -> dict[tuple[str, str | None], tuple[tuple[str, ...], str | None, str | None, bool]]:
    """(name, phone) → the person's roles, title, unit and whether active."""
    async with db.session() as session:
        units = dict((await session.execute(select(Unit.id, Unit.name))).all())
        roles: dict[int, list[str]] = {}
        for person_id, role in await session.execute(select(PersonRole.person_id, PersonRole.role)):
            roles.setdefault(person_id, []).append(role)
        return {(name, phone): (tuple(sorted(roles.get(pid, ()))), title, units.get(unit_id), active)
                for pid, name, phone, title, unit_id, active in await session.execute(
                    select(Person.id, Person.name, Person.phone, Person.title, Person.unit_id, Person.active))}


async def test_a_person_with_several_roles_keeps_them_all_on_a_fresh_database(db: Database, tmp_path: Path) -> None:
    """陈建国 (包抓领导) is also an admin of 区重大项目办, 赵芳 (单位经办人 of 区住建局) also a liaison: the roster has
    a row for each role, and a fresh database gives each of them every role, title and unit."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        office = await session.scalar(select(Unit.id).where(Unit.name == "区重大项目办"))
        lead = await session.scalar(select(Person).where(Person.name == "陈建国"))
        handler = await session.scalar(select(Person).where(Person.name == "赵芳"))
        assert lead is not None and handler is not None and office is not None
        lead.unit_id = office
        session.add_all([PersonRole(person_id=lead.id, role="admin"), PersonRole(person_id=handler.id, role="liaison")])
    before = await _people(db)
    assert before[("陈建国", None)][0] == ("admin", "lead")
    assert before[("赵芳", "13800104729")][0] == ("liaison", "unit")
    exported = await _export(db, tmp_path / "export.xlsx")
    rows = [row for row in openpyxl.load_workbook(exported, read_only=True)["人员名单"].iter_rows(values_only=True)
            if row[0] in ("陈建国", "赵芳")]
    assert [row[:3] for row in rows] == [("陈建国", "包抓领导", "常务副区长"), ("陈建国", "管理员", "区重大项目办"),
                                         ("赵芳", "单位经办人", "区住建局"), ("赵芳", "联络员", "区住建局")]
    # 陈建国 has no phone: his rows carry one 人员编号, which joins them (a title and a unit alone would not)
    assert rows[0][6] == rows[1][6] is not None and rows[2][6] is None
    again = await _import(db, [exported])
    assert not again.added and not again.changed and not again.conflicts, again.changes
    assert await _people(db) == before
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported])
        assert await _people(fresh) == before


def _with_status(source: Path, target: Path, statuses: dict[str, str | None], *, column_name: str = "状态") -> Path:
    """The workbook with the 状态 (or another column of the roster) of the roster rows of these names set."""
    wb = openpyxl.load_workbook(source)
    sheet = wb["人员名单"]
    header = [cell.value for cell in sheet[1]]
    column = header.index(column_name) + 1 if column_name in header else len(header) + 1
    sheet.cell(row=1, column=column, value=column_name)
    for row in range(2, sheet.max_row + 1):
        name = sheet.cell(row=row, column=1).value
        if name in statuses:
            sheet.cell(row=row, column=column, value=statuses[name])
    wb.save(target)
    return target


async def test_the_number_typed_for_a_person_comes_back_in_the_export(db: Database, tmp_path: Path) -> None:
    """The 人员编号 the office types in the roster, for a person with a phone (郝芳) or without (陈建国), is the one the
    export writes, not an internal id; the export imported again changes nothing, and a fresh database has them."""
    numbered = _with_status(SAMPLE_XLSX, tmp_path / "numbered.xlsx", {"郝芳": "LY-007", "陈建国": "A01"},
                            column_name="人员编号")
    await _import(db, [numbered], as_of=NOW.date().replace(day=20))
    before = await _ledger(db)
    exported = await _export(db, tmp_path / "export.xlsx")
    numbers = {row[0]: row[6] for row in openpyxl.load_workbook(exported, read_only=True)["人员名单"]
               .iter_rows(min_row=2, values_only=True) if row[6] is not None}
    assert numbers["郝芳"] == "LY-007" and numbers["陈建国"] == "A01"
    assert "赵芳" not in numbers  # a phone and no number typed: none needed (without a phone: his internal id)
    again = await _import(db, [exported])
    assert not again.added and not again.changed and not again.conflicts, again.changes
    assert await _ledger(db) == before
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported])
        assert await _ledger(fresh) == before


async def test_a_number_typed_later_is_kept_and_said(db: Database, tmp_path: Path) -> None:
    """A roster numbered after the people were imported: the number is a change of the person (人员编号 （空） →
    A01), kept; the export writes it."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    numbered = _with_status(SAMPLE_XLSX, tmp_path / "numbered.xlsx", {"陈建国": "A01"}, column_name="人员编号")
    result = await _import(db, [numbered])
    assert result.changed["person"] == 1
    summary = shared_renderer().plain("import_summary", result=result, dry_run=False, take_file=False, limit=30)
    assert "更新人员 陈建国：人员编号 （空） → A01" in summary, summary
    exported = await _export(db, tmp_path / "export.xlsx")
    assert {row[6] for row in openpyxl.load_workbook(exported, read_only=True)["人员名单"]
            .iter_rows(min_row=2, values_only=True) if row[0] == "陈建国"} == {"A01"}


async def test_a_deactivated_person_is_exported_marked_and_stays_deactivated(db: Database, tmp_path: Path) -> None:
    """郝芳, liaison of ZD2026-001, is deactivated without a handover: the roster names her 停用, so a fresh database
    has her, deactivated and still the project's liaison (the problems and decisions that name her are hers), and
    the same database changes nothing. A sheet that does not say 在用 never brings her back, 全部用台账 or not."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        hao = await session.scalar(select(Person).where(Person.name == "郝芳"))
        assert hao is not None
        hao.active = False
    before = await _people(db)
    assert before[("郝芳", "13900007919")] == (("liaison",), None, "区住建局", False)
    exported = await _export(db, tmp_path / "export.xlsx")
    rows = [row for row in openpyxl.load_workbook(exported, read_only=True)["人员名单"].iter_rows(values_only=True)]
    assert [row for row in rows if row[0] == "郝芳"] == [
        ("郝芳", "联络员", "区住建局", "13900007919", "ZD2026-001", "停用", None)]  # a phone: no 人员编号
    assert all(row[5] is None for row in rows[1:] if row[0] != "郝芳")
    again = await _import(db, [exported], take_file=True)
    assert not again.added and not again.changed and not again.conflicts, (again.changes, again.conflicts)
    assert await _people(db) == before
    async with fresh_database("sqlite") as fresh:
        added = await _import(fresh, [exported])
        assert await _people(fresh) == before
        assert await _ledger(fresh) == await _ledger(db)
        async with fresh.session() as session:
            project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
            assert project is not None and project.liaison is not None and project.liaison.name == "郝芳"
        assert [c.person.active for c in added.changes if c.kind == "person" and c.name == "郝芳"] == [False]
    unsaid = await _import(db, [SAMPLE_XLSX], take_file=True)
    assert [(c.kind, c.subject, c.choice) for c in unsaid.conflicts if c.kind == "deactivated"] == [
        ("deactivated", "郝芳", None)]
    assert await _people(db) == before
    back = _with_status(exported, tmp_path / "back.xlsx", {"郝芳": "在用"})
    kept = await _import(db, [back])
    assert [(c.kind, c.choice) for c in kept.conflicts] == [("deactivated", "keep")]
    assert (await _people(db))[("郝芳", "13900007919")][3] is False
    await _import(db, [back], take_file=True)
    assert (await _people(db))[("郝芳", "13900007919")][3] is True


async def test_a_roster_marking_an_active_person_stopped_leaves_him_active(db: Database, tmp_path: Path) -> None:
    """Deactivating is /deactivate's, which lists what to hand over: a roster row saying 停用 for someone active
    is listed and changes nothing."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    before = await _people(db)
    stopped = _with_status(await _export(db, tmp_path / "export.xlsx"), tmp_path / "stopped.xlsx", {"郝芳": "停用"})
    result = await _import(db, [stopped], take_file=True)
    assert [(c.kind, c.subject, c.choice) for c in result.conflicts] == [("stop_marked", "郝芳", None)]
    assert not result.changed and await _people(db) == before


async def _july(db: Database) -> tuple[object, ...]:
    """What July's monthly bulletin (as of 31 July) says of the projects' stages: 开工率, 竣工率, those planned
    to have started and not, and each project's stage and days then."""
    async with db.session() as session:
        july = await compute_standings(session, period="2026-07", cutoff=date(2026, 7, 31),
                                       window_start=date(2026, 7, 1), calendar=await load_calendar(session))
    return (july.start_rate, july.finish_rate, [p.code for p in july.not_started],
            [(p.code, p.stage, p.started_on, p.finished_on, p.finished) for p in july.projects])


async def test_a_reopened_project_keeps_its_history_and_past_figures_on_a_fresh_database(
        db: Database, tmp_path: Path) -> None:
    """ZD2026-001 started on 2 March, was finished on 30 June and set back to 在建 on 15 September: July's
    monthly counts it finished. The export's 阶段记录 carries the three moves, so a fresh database reads July
    the same (with 实际开工 alone it would read July 在建); imported again, the sheet changes nothing."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == "ZD2026-001"))
        assert project_id is not None
        await record_moves(session, [StageMove(project_id, START, date(2026, 3, 2), DAY_TYPED),
                                     StageMove(project_id, FINISH, date(2026, 6, 30), DAY_TYPED),
                                     StageMove(project_id, REOPEN, date(2026, 9, 15), DAY_TYPED)],
                           person_id=None, now=NOW)
    july = await _july(db)
    assert ("ZD2026-001", "竣工", date(2026, 3, 2), date(2026, 6, 30), True) in july[3]
    exported = await _export(db, tmp_path / "export.xlsx")
    rows = list(openpyxl.load_workbook(exported, read_only=True)["阶段记录"].iter_rows(values_only=True))
    assert rows[0] == ("项目编号", "阶段变化", "日期")
    assert [(code, move, day.date()) for code, move, day in rows[1:] if code == "ZD2026-001"] == [
        ("ZD2026-001", "开工", date(2026, 3, 2)), ("ZD2026-001", "竣工", date(2026, 6, 30)),
        ("ZD2026-001", "恢复在建", date(2026, 9, 15))]
    again = await _import(db, [exported])
    assert not again.changed and again.plan is not None and again.plan.histories_kept == 0
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported], clock=FrozenClock(NOW + timedelta(days=10)))
        assert await _moves(fresh) == await _moves(db)
        assert await _july(fresh) == july


async def test_a_stage_history_other_than_the_recorded_one_is_kept_and_said(db: Database, tmp_path: Path) -> None:
    """A project with a history recorded keeps it, whatever 阶段记录 says of it: the summary says so."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    before = await _moves(db)
    wb = openpyxl.load_workbook(await _export(db, tmp_path / "export.xlsx"))
    stages = wb["阶段记录"]
    stages.append(["ZD2026-021", "恢复在建", NOW.date()])  # reopened and finished again: another history
    stages.append(["ZD2026-021", "竣工", NOW.date()])
    stages.append(["ZD2026-999", "开工", date(2025, 5, 1)])
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    refused = await import_ledger_files(db, FrozenClock(NOW), [edited], actor=ACTOR)
    assert [str(issue) for issue in refused.issues] == [
        f"「阶段记录」第{stages.max_row}行【项目编号】：项目编号「ZD2026-999」不在一同导入的「重点项目包抓责任分解表」中"
        "（阶段记录随项目表导入）"]
    stages.delete_rows(stages.max_row)
    wb.save(edited)
    result = await _import(db, [edited])
    assert result.plan is not None and result.plan.histories_kept == 1 and not result.changed
    assert await _moves(db) == before
    summary = shared_renderer().plain("import_summary", result=result, dry_run=False, take_file=False, limit=30)
    assert "阶段记录：1 个项目与系统中已有的开工、竣工记录不同，保留系统中的记录" in summary


async def test_what_one_of_a_person_s_rows_says_of_his_status_is_his(db: Database, tmp_path: Path) -> None:
    """赵芳, 单位经办人 and liaison, is deactivated: both her rows say 停用 and a fresh database has her deactivated
    in both roles. Her first row left blank and the second saying 在用, she may be brought back (as chosen)."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        handler = await session.scalar(select(Person).where(Person.name == "赵芳"))
        assert handler is not None
        session.add(PersonRole(person_id=handler.id, role="liaison"))
        handler.active = False
    before = await _people(db)
    exported = await _export(db, tmp_path / "export.xlsx")
    rows = list(openpyxl.load_workbook(exported, read_only=True)["人员名单"].iter_rows(values_only=True))
    assert [(row[1], row[5]) for row in rows if row[0] == "赵芳"] == [("单位经办人", "停用"), ("联络员", "停用")]
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported])
        assert (await _people(fresh))[("赵芳", "13800104729")] == (("liaison", "unit"), None, "区住建局", False)
    wb = openpyxl.load_workbook(exported)
    sheet = wb["人员名单"]
    first, second = (row for row in range(2, sheet.max_row + 1) if sheet.cell(row=row, column=1).value == "赵芳")
    sheet.cell(row=first, column=6).value = None
    sheet.cell(row=second, column=6).value = "在用"
    wb.save(tmp_path / "back.xlsx")
    kept = await _import(db, [tmp_path / "back.xlsx"])
    assert [(c.kind, c.choice) for c in kept.conflicts] == [("deactivated", "keep")]
    assert await _people(db) == before


async def test_namesakes_without_a_phone_never_become_one_person(db: Database, tmp_path: Path) -> None:
    """A roster with 王伟 包抓领导 (a 职务) and 王伟 联络员 (a 单位), neither with a phone nor a 人员编号: refused where
    the second row is, asking for the 手机, and nothing written (else the liaison's account would act as the
    leader). Once the database holds one 王伟 in both roles, the export of him (with his 人员编号) and the same
    rows without it both import as him, changing nothing."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    exported = await _export(db, tmp_path / "export.xlsx")
    wb = openpyxl.load_workbook(exported)
    roster = wb["人员名单"]
    roster.append(["王伟", "包抓领导", "副区长", None, None, None, None])
    roster.append(["王伟", "联络员", "区住建局", None, None, None, None])
    wb.save(tmp_path / "namesakes.xlsx")
    refused = await import_ledger_files(db, FrozenClock(NOW), [tmp_path / "namesakes.xlsx"], actor=ACTOR)
    last = roster.max_row
    assert [(i.sheet, i.row, i.column) for i in refused.issues] == [("人员名单", last, "手机")]
    assert f"与第{last - 1}行同名，均未填手机号" in refused.issues[0].message and not refused.written
    assert ("王伟", None) not in await _people(db)

    async with db.session() as session:
        unit = await session.scalar(select(Unit.id).where(Unit.name == "区住建局"))
        wang = Person(name="王伟", phone=None, title="副区长", unit_id=unit, active=True, created_at=NOW)
        session.add(wang)
        await session.flush()
        session.add_all([PersonRole(person_id=wang.id, role="lead"), PersonRole(person_id=wang.id, role="liaison")])
    before = await _people(db)
    again = await _import(db, [tmp_path / "namesakes.xlsx"])
    assert not again.added and not again.changed, again.changes
    assert await _people(db) == before
    own = await _import(db, [await _export(db, tmp_path / "again.xlsx")])
    assert not own.added and not own.changed, own.changes
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [tmp_path / "again.xlsx"])
        assert (await _people(fresh))[("王伟", None)] == (("lead", "liaison"), "副区长", "区住建局", True)


async def _liaisons(db: Database) -> dict[str, tuple[str, str | None, str | None]]:
    """Project code → its liaison's name, phone and unit."""
    async with db.session() as session:
        units = dict((await session.execute(select(Unit.id, Unit.name))).all())
        rows = await session.execute(select(Project.code, Person.name, Person.phone, Person.unit_id)
                                     .join(Person, Person.id == Project.liaison_id))
        return {code: (name, phone, units.get(unit_id)) for code, name, phone, unit_id in rows}


async def test_namesakes_of_one_role_without_a_phone_keep_their_own_projects(db: Database, tmp_path: Path) -> None:
    """Two liaisons 王伟 without a phone, of 区住建局 and 区工信局, each the liaison of one project: the export gives
    them 人员编号 of their own; imported again it changes nothing, and a fresh database has the two of them, each
    the liaison of his own project (the project rows name only 王伟: the roster's 负责项目 tells them apart)."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        units = dict((await session.execute(select(Unit.name, Unit.id))).all())
        first = Person(name="王伟", phone=None, unit_id=units["区住建局"], active=True, created_at=NOW)
        second = Person(name="王伟", phone=None, unit_id=units["区工信局"], active=True, created_at=NOW)
        session.add_all([first, second])
        await session.flush()
        session.add_all([PersonRole(person_id=first.id, role="liaison"),
                         PersonRole(person_id=second.id, role="liaison")])
        for code, person in (("ZD2026-002", second), ("ZD2026-003", first)):
            project = await session.scalar(select(Project).where(Project.code == code))
            assert project is not None
            project.liaison_id = person.id
    before, liaisons = await _ledger(db), await _liaisons(db)
    assert liaisons["ZD2026-002"] == ("王伟", None, "区工信局") and liaisons["ZD2026-003"] == ("王伟", None, "区住建局")
    exported = await _export(db, tmp_path / "export.xlsx")
    rows = [row for row in openpyxl.load_workbook(exported, read_only=True)["人员名单"].iter_rows(values_only=True)
            if row[0] == "王伟"]
    assert [(row[2], row[4]) for row in rows] == [("区住建局", "ZD2026-003"), ("区工信局", "ZD2026-002")]
    assert rows[0][6] != rows[1][6]
    again = await _import(db, [exported])
    assert not again.added and not again.changed and not again.conflicts, again.changes
    assert await _ledger(db) == before and await _liaisons(db) == liaisons
    async with fresh_database("sqlite") as fresh:
        await _import(fresh, [exported])
        assert await _liaisons(fresh) == liaisons
        assert await _ledger(fresh) == before


async def test_the_blank_template_an_empty_district_exports_has_the_optional_columns(tmp_path: Path) -> None:
    """Before any import, /export is the blank template a 项目办 fills in: its roster has the optional 状态 and
    人员编号 (to tell namesakes without a phone apart), its projects 实际开工 and 竣工日期; the bundled sample has
    none of them and imports all the same."""
    async with fresh_database("sqlite") as empty:
        blank = openpyxl.load_workbook(await _export(empty, tmp_path / "blank.xlsx"), read_only=True)
        assert next(blank["人员名单"].iter_rows(values_only=True)) == (
            "姓名", "角色", "单位/职务", "手机", "负责项目", "状态", "人员编号")
        assert next(blank["重点项目包抓责任分解表"].iter_rows(values_only=True))[-2:] == ("实际开工", "竣工日期")
        sample = openpyxl.load_workbook(SAMPLE_XLSX, read_only=True)
        assert next(sample["人员名单"].iter_rows(values_only=True)) == ("姓名", "角色", "单位/职务", "手机", "负责项目")
        result = await _import(empty, [SAMPLE_XLSX])
        assert result.added["project"] == 42 and result.added["person"] == 67


async def test_a_typed_number_equal_to_a_namesake_s_internal_id_goes_to_the_person_it_was_typed_for(
        db: Database, tmp_path: Path) -> None:
    """Two liaisons 王伟 without a phone: one never numbered (his export writes his internal id), the other numbered
    by the office with that very figure. The roster row of that number, first in the file, is the numbered one's:
    neither takes the other's 单位, and the first gets the number now typed for him."""
    await _import(db, [SAMPLE_XLSX], as_of=NOW.date().replace(day=20))
    async with db.session() as session:
        units = dict((await session.execute(select(Unit.name, Unit.id))).all())
        plain = Person(name="王伟", phone=None, unit_id=units["区住建局"], active=True, created_at=NOW)
        session.add(plain)
        await session.flush()
        numbered = Person(name="王伟", phone=None, unit_id=units["区工信局"], active=True, created_at=NOW,
                          ledger_key=str(plain.id))
        session.add(numbered)
        await session.flush()
        session.add_all([PersonRole(person_id=plain.id, role="liaison"),
                         PersonRole(person_id=numbered.id, role="liaison")])
        for code, person in (("ZD2026-002", numbered), ("ZD2026-003", plain)):
            project = await session.scalar(select(Project).where(Project.code == code))
            assert project is not None
            project.liaison_id = person.id
        ids = {"plain": plain.id, "numbered": numbered.id}
    liaisons = await _liaisons(db)
    exported = await _export(db, tmp_path / "export.xlsx")
    wb = openpyxl.load_workbook(exported)
    sheet = wb["人员名单"]
    rows = [row for row in range(2, sheet.max_row + 1) if sheet.cell(row=row, column=1).value == "王伟"]
    values = [[sheet.cell(row=row, column=column).value for column in range(1, 8)] for row in rows]
    assert [(v[2], v[6]) for v in values] == [("区住建局", str(ids["plain"])), ("区工信局", str(ids["plain"]))]
    values[0][6] = "77"  # the office numbers the other 王伟 now
    for row, line in zip(rows, reversed(values), strict=True):  # the numbered one's row first
        for column, value in enumerate(line, start=1):
            sheet.cell(row=row, column=column, value=value)
    wb.save(tmp_path / "renumbered.xlsx")

    result = await _import(db, [tmp_path / "renumbered.xlsx"])
    assert not result.conflicts and not result.added, result.changes
    async with db.session() as session:
        stored = {p.id: (p.unit_id, p.ledger_key)
                  for p in (await session.scalars(select(Person).where(Person.name == "王伟"))).all()}
    assert stored == {ids["plain"]: (units["区住建局"], "77"), ids["numbered"]: (units["区工信局"], str(ids["plain"]))}
    assert await _liaisons(db) == liaisons
