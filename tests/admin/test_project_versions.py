"""Every path that changes what the ledger says of a project (its name, town, lead unit, 包抓领导, liaison)
keeps the project's new version, dated, in the same transaction (storage.project_versions): the ledger import
through the chat, /project_set and /handover. (The command line's import: tests/ops/test_cli_project_versions.py.)"""

from __future__ import annotations

from sqlalchemy import func, select

from storage import people
from storage.models import Person, Project, ProjectVersion, Unit
from tests.admin.admin_support import ADMIN_NAME, Desk
from tests.admin.test_admin_import import SAMPLE_CSV, upload

CODE = "ZD2026-001"


async def _versions(desk: Desk, code: str = CODE) -> list[ProjectVersion]:
    async with desk.session() as session:
        return list(await session.scalars(
            select(ProjectVersion).join(Project, Project.id == ProjectVersion.project_id)
            .where(Project.code == code).order_by(ProjectVersion.valid_from, ProjectVersion.id)))


async def _count(desk: Desk) -> int:
    async with desk.session() as session:
        return await session.scalar(select(func.count(ProjectVersion.id))) or 0


async def _id_of(desk: Desk, model: type[Person] | type[Unit], name: str) -> int:
    async with desk.session() as session:
        if model is Person:
            [person] = await people.find_people_by_name(session, name=name)
            return person.id
        found = await session.scalar(select(Unit.id).where(Unit.name == name))
        assert found is not None
        return found


async def test_every_project_imported_has_its_version_from_its_creation(desk: Desk) -> None:
    async with desk.session() as session:
        projects = list(await session.scalars(select(Project)))
        versions = list(await session.scalars(select(ProjectVersion)))
    assert len(projects) == 42
    held = ("name", "location", "lead_unit_id", "lead_official_id", "liaison_id")
    assert sorted((v.project_id, v.valid_from, *(getattr(v, k) for k in held)) for v in versions) == sorted(
        (p.id, p.created_at, *(getattr(p, k) for k in held)) for p in projects)


async def test_a_ledger_import_keeps_the_new_version_of_a_project_renamed_and_handed_over(desk: Desk) -> None:
    before = await _count(desk)
    text = SAMPLE_CSV.read_text(encoding="utf-8-sig")
    row = "ZD2026-001,城北高速连接线,基础设施,市级,龙首新区"
    assert row in text and ",区住建局,区工信局" in text
    changed = text.replace(row, "ZD2026-001,城北高速连接线一期,基础设施,市级,河西镇", 1).replace(
        ",区住建局,区工信局", ",区城管局,区工信局", 1)
    await desk.send(ADMIN_NAME, "/import")
    preview = await desk.send(ADMIN_NAME, document=upload("台账.csv", changed.encode("utf-8-sig")))
    assert "更新 1" in preview or "更新项目 ZD2026-001" in preview, preview
    assert await _count(desk) == before  # a preview writes nothing

    assert "导入完成" in await desk.press(ADMIN_NAME, "确认")

    *_, last = await _versions(desk)
    assert (last.name, last.location, last.lead_unit_id) == ("城北高速连接线一期", "河西镇",
                                                             await _id_of(desk, Unit, "区城管局"))
    assert last.valid_from == desk.core.clock.now()
    assert await _count(desk) == before + 1  # the others did not change


async def test_an_import_changing_only_money_keeps_no_version(desk: Desk) -> None:
    before = await _count(desk)
    text = SAMPLE_CSV.read_text(encoding="utf-8-sig").replace("68000,40800,26051", "68000,45000,26051", 1)
    await desk.send(ADMIN_NAME, "/import")
    await desk.send(ADMIN_NAME, document=upload("台账.csv", text.encode("utf-8-sig")))
    assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
    assert await _count(desk) == before


async def test_project_set_keeps_a_version_for_the_unit_the_lead_the_liaison_and_the_name(desk: Desk) -> None:
    before = await _count(desk)
    for command in (f"/project_set {CODE} 牵头单位 区城管局", f"/project_set {CODE} 包抓领导 周海燕",
                    f"/project_set {CODE} 联络员 武杰", f"/project_set {CODE} 名称 城北高速连接线一期"):
        assert "→" in await desk.send(ADMIN_NAME, command), command
    await desk.send(ADMIN_NAME, f"/project_set {CODE} 年度计划 45000")  # money: no version

    assert await _count(desk) == before + 4
    *_, unit, lead, liaison, name = await _versions(desk)
    assert unit.lead_unit_id == await _id_of(desk, Unit, "区城管局")
    assert lead.lead_official_id == await _id_of(desk, Person, "周海燕")
    assert lead.lead_unit_id == unit.lead_unit_id  # each version is the whole project as it then stood
    assert liaison.liaison_id == await _id_of(desk, Person, "武杰")
    assert (name.name, name.liaison_id, name.valid_from) == ("城北高速连接线一期", liaison.liaison_id,
                                                             desk.core.clock.now())


async def test_handover_keeps_a_version_of_each_project_handed_over(desk: Desk) -> None:
    before = await _count(desk)
    assert "已将 郝芳 的工作移交给 赵芳" in await desk.send(ADMIN_NAME, "/handover 郝芳 赵芳")

    *_, last = await _versions(desk)
    assert last.liaison_id == await _id_of(desk, Person, "赵芳")
    assert await _count(desk) == before + 1  # 郝芳 was the liaison of ZD2026-001 only
