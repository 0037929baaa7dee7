"""The sheet 项目节点计划 through the one ledger import: row errors, dry run, an unchanged re-import writing
nothing, a node missing from the sheet taken off the plan (and back), a workbook without the sheet leaving the
nodes alone, done days and notes recorded in the chat kept, and the /export workbook imported again changing
nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.services.ledger_export import SHEET_PLAN, ledger_workbook
from bot.services.ledger_import import ImportResult, import_ledger_files
from storage import nodes as node_repo
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Project, ProjectNode
from tests.render.factories import make_standings

from .factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV, SAMPLE_XLSX

SAMPLE_NODES_CSV = SAMPLE_XLSX.with_name("nodes_sample.csv")
HEADER = ["项目编号", "节点名称", "计划完成日期", "实际完成日期", "备注"]


def _sheet(tmp_path: Path, rows: list[list[str]], name: str = "nodes.csv", header: list[str] = HEADER) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def _sample_rows() -> list[list[str]]:
    with SAMPLE_NODES_CSV.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))[1:]


async def _import(db: Database, clock: FrozenClock, actor: Actor, files: list[Path], *,
                  dry_run: bool = False) -> ImportResult:
    return await import_ledger_files(db, clock, files, actor=actor, dry_run=dry_run)


async def _nodes(db: Database) -> dict[tuple[str, str], ProjectNode]:
    async with db.session() as session:
        rows = (await session.execute(select(Project.code, ProjectNode)
                                      .join(Project, Project.id == ProjectNode.project_id))).all()
    return {(code, node.name): node for code, node in rows}


async def _audit_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_the_csv_twin_and_the_workbook_hold_the_same_nodes() -> None:
    wb = openpyxl.load_workbook(SAMPLE_XLSX, read_only=True)
    sheet = [[("" if c is None else str(c)) for c in row] for row in wb[SHEET_PLAN].iter_rows(values_only=True)]
    wb.close()
    assert sheet[0] == HEADER and sheet[1:] == _sample_rows()


async def test_sheet_errors_name_row_and_column_and_nothing_is_written(db: Database, clock: FrozenClock,
                                                                      actor: Actor, tmp_path: Path) -> None:
    await _import(db, clock, actor, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV])
    bad = _sheet(tmp_path, [
        ["ZD2026-001", "主体封顶", "2027-03-31", "", ""],
        ["ZD2026-001", "主体封顶", "2027-04-30", "", ""],  # the name twice for one project
        ["ZD2099-001", "开工", "2027-01-01", "", ""],  # no such project
        ["ZD2026-002", "开工", "", "", ""],  # no planned day
        ["ZD2026-002", "桩基完成", "明年三月", "", ""],  # not a day
        ["ZD2026-003", "长" * 51, "2027-01-01", "", ""],  # too long
        ["ZD2026-004", "开工", "2027-01-01", "2027-13-01", ""],  # a bad done day
    ])
    result = await _import(db, clock, actor, [bad])
    assert [str(i) for i in result.issues] == [
        "「nodes.csv」第3行【节点名称】：项目 ZD2026-001 的节点「主体封顶」重复（第2行已有）",
        "「nodes.csv」第4行【项目编号】：项目编号「ZD2099-001」不在项目表中，系统中也没有这个项目",
        "「nodes.csv」第5行【计划完成日期】：计划完成日期不能为空",
        "「nodes.csv」第6行【计划完成日期】：「明年三月」不是有效日期（应类似 2026-07-01）",
        "「nodes.csv」第7行【节点名称】：节点名称最多 50 个字，这里有 51 个字",
        "「nodes.csv」第8行【实际完成日期】：「2027-13-01」不是有效日期（应类似 2026-07-01）",
    ]
    assert not result.written and await _nodes(db) == {}
    missing = _sheet(tmp_path, [["ZD2026-001", "开工"]], name="short.csv", header=["项目编号", "节点名称"])
    assert [str(i) for i in (await _import(db, clock, actor, [missing])).issues] == [
        "「short.csv」第1行【计划完成日期】：缺少这一列"]


async def test_dry_run_then_import_then_unchanged_reimport_writes_nothing(db: Database, clock: FrozenClock,
                                                                         actor: Actor) -> None:
    files = [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV, SAMPLE_NODES_CSV]
    dry = await _import(db, clock, actor, files, dry_run=True)
    assert dry.plan is not None and dry.plan.nodes is not None and dry.plan.nodes.counts["added"] == 197
    assert await _nodes(db) == {} and await _audit_count(db) == 0
    done = await _import(db, clock, actor, files)
    assert done.written and len(await _nodes(db)) == 197
    audits = await _audit_count(db)
    again = await _import(db, clock, actor, [SAMPLE_NODES_CSV])
    assert again.plan is not None and again.plan.nodes is not None
    assert dict(again.plan.nodes.counts) == {"unchanged": 197, "removed": 0}
    assert await _audit_count(db) == audits + 1  # nothing written: the import's own record alone
    nodes = await _nodes(db)
    late = nodes[("ZD2026-001", "开工")]
    assert (str(late.planned_on), str(late.done_on), late.note) == ("2026-07-01", "2026-07-13", "设备到货延迟")


async def test_a_node_left_out_is_taken_off_the_plan_and_comes_back(db: Database, clock: FrozenClock,
                                                                   actor: Actor, tmp_path: Path) -> None:
    await _import(db, clock, actor, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV])
    first = _sheet(tmp_path, [["ZD2026-001", "开工", "2026-07-01", "2026-07-01", ""],
                              ["ZD2026-001", "主体封顶", "2027-03-31", "", ""],
                              ["ZD2026-002", "开工", "2027-04-29", "", ""]])
    await _import(db, clock, actor, [first])
    # the chat records 主体封顶 done with a note; a sheet that leaves the done day blank does not undo it
    async with db.session() as session:
        node = (await node_repo.nodes_of_project(session, project_id=(await session.scalar(
            select(Project.id).where(Project.code == "ZD2026-001"))) or 0))[1]
        await node_repo.mark_done(session, node, done_on=clock.now().date(), note="主体结构验收通过",
                                  person_id=None, photos=[], now=clock.now())
    second = _sheet(tmp_path, [["ZD2026-001", "开工", "2026-07-01", "2026-07-01", ""],
                               ["ZD2026-001", "主体封顶", "2027-04-30", "", ""],
                               ["ZD2026-002", "桩基完成", "2027-06-30", "", ""]], name="second.csv")
    result = await _import(db, clock, actor, [second])
    assert result.plan is not None and result.plan.nodes is not None
    assert (result.plan.nodes.counts["changed"], result.plan.nodes.counts["removed"]) == (1, 1)
    # a sheet naming one project leaves the nodes of the others as they are
    only = _sheet(tmp_path, [["ZD2026-001", "开工", "2026-07-01", "2026-07-01", ""]], name="only.csv")
    alone = await _import(db, clock, actor, [only], dry_run=True)
    assert alone.plan is not None and alone.plan.nodes is not None
    assert [(n.code, n.name) for n in alone.plan.nodes.removals] == [("ZD2026-001", "主体封顶")]
    nodes = await _nodes(db)
    assert nodes[("ZD2026-002", "开工")].removed_at is not None  # off the plan, the row and history kept
    kept = nodes[("ZD2026-001", "主体封顶")]
    assert str(kept.planned_on) == "2027-04-30" and kept.done_on == clock.now().date()
    assert kept.note == "主体结构验收通过"
    async with db.session() as session:
        removed = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "node.remove"))).all()
    assert [(a.object_key, a.detail["name"]) for a in removed] == [("ZD2026-002", "开工")]
    back = await _import(db, clock, actor, [first])
    assert back.plan is not None and back.plan.nodes is not None and back.plan.nodes.counts["added"] == 1
    assert (await _nodes(db))[("ZD2026-002", "开工")].removed_at is None
    assert (await _nodes(db))[("ZD2026-002", "桩基完成")].removed_at is not None


async def test_a_workbook_without_the_sheet_leaves_the_nodes_alone(db: Database, clock: FrozenClock,
                                                                   actor: Actor) -> None:
    await _import(db, clock, actor, [SAMPLE_XLSX])
    before = len(await _nodes(db))
    result = await _import(db, clock, actor, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV])
    assert result.plan is not None and result.plan.nodes is None
    nodes = await _nodes(db)
    assert len(nodes) == before == 197 and all(n.removed_at is None for n in nodes.values())


async def test_the_export_imported_again_changes_nothing(db: Database, clock: FrozenClock, actor: Actor,
                                                         tmp_path: Path) -> None:
    await _import(db, clock, actor, [SAMPLE_XLSX])
    async with db.session() as session:
        rows = await node_repo.ledger_nodes(session)
    exported = tmp_path / "export.xlsx"
    exported.write_bytes(ledger_workbook(make_standings(), [], plan=rows))
    audits = await _audit_count(db)
    result = await _import(db, clock, actor, [exported])
    assert not result.issues, result.issues
    assert result.plan is not None and result.plan.nodes is not None
    assert dict(result.plan.nodes.counts) == {"unchanged": 197, "removed": 0}
    assert await _audit_count(db) == audits + 1  # the import's own record alone
