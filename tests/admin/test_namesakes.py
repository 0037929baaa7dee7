"""Namesakes (同名人员) in /person, /handover and /project_set are picked by button, not by typing a phone
number: through the Router with console accounts.

Sample roster: 严超 (liaison of ZD2026-016, phone 139****6704), 刘文华 (lead official of ZD2026-001 and
others), 郝芳 (liaison of ZD2026-001). Each test adds a second 严超 (137****2222) without unit or title.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import AuditEntry, Person, Project
from tests.admin.admin_support import ADMIN_NAME, Desk

OTHER_YAN = "严超 137****2222"


async def add_person(desk: Desk, name: str, phone: str) -> int:
    async with desk.session() as session:
        person = Person(name=name, phone=phone, title=None, active=True, roles=[],
                        created_at=datetime(2026, 1, 1, tzinfo=UTC))
        session.add(person)
        await session.flush()
        return person.id


async def project(desk: Desk, code: str) -> Project:
    async with desk.session() as session:
        found = await session.scalar(select(Project).where(Project.code == code))
        assert found is not None
        return found


async def person_named(desk: Desk, name: str, phone: str) -> Person:
    async with desk.session() as session:
        found = await session.scalar(select(Person).where(Person.name == name, Person.phone == phone))
        assert found is not None
        return found


async def test_person_lists_namesakes_as_buttons_and_shows_the_one_picked(desk: Desk) -> None:
    await add_person(desk, "严超", "13711112222")

    listed = await desk.send(ADMIN_NAME, "/person 严超")

    assert "多位「严超」,请点击下方按钮选择" in listed and "改用" not in listed, listed
    assert len(desk.labels(ADMIN_NAME)) == 2 and OTHER_YAN in desk.labels(ADMIN_NAME)
    card = await desk.press(ADMIN_NAME, OTHER_YAN)
    assert "手机:137****2222" in card and "139****6704" not in card and "项目:无" in card
    assert "手机:139****6704" in await desk.send(ADMIN_NAME, "/person 严超 13900126704")  # by phone still


async def test_handover_to_a_namesake_picked_by_button(desk: Desk) -> None:
    other = await add_person(desk, "严超", "13711112222")

    asked = await desk.send(ADMIN_NAME, "/handover 郝芳 严超")

    assert "多位「严超」,请点击下方按钮选择接替人员" in asked, asked
    assert (await project(desk, "ZD2026-001")).liaison is not None
    assert (await project(desk, "ZD2026-001")).liaison.name == "郝芳"  # nothing moved yet
    done = await desk.press(ADMIN_NAME, OTHER_YAN)
    assert "已将 郝芳 的工作移交给 严超" in done and "联络员项目(1):ZD2026-001" in done, done
    assert (await project(desk, "ZD2026-001")).liaison_id == other
    [entry] = [e for e in await desk.audits("person.handover")]
    assert entry.detail["to"] == other


async def test_handover_from_and_to_namesakes_asks_twice(desk: Desk) -> None:
    await add_person(desk, "严超", "13711112222")
    await add_person(desk, "刘文华", "13722223333")  # leads nothing
    lead_id = (await project(desk, "ZD2026-001")).lead_official_id

    giver = await desk.send(ADMIN_NAME, "/handover 刘文华 严超")
    assert "多位「刘文华」,请点击下方按钮选择移交工作的人员" in giver, giver
    picked = [label for label in desk.labels(ADMIN_NAME) if "137****3333" not in label]
    assert len(picked) == 1
    taker = await desk.press(ADMIN_NAME, picked[0])
    assert "多位「严超」,请点击下方按钮选择接替人员" in taker, taker
    done = await desk.press(ADMIN_NAME, OTHER_YAN)
    assert "已将 刘文华 的工作移交给 严超" in done and "包抓项目(" in done, done
    other = await person_named(desk, "严超", "13711112222")
    assert (await project(desk, "ZD2026-001")).lead_official_id == other.id
    assert lead_id != other.id


async def test_project_set_liaison_to_a_namesake_picked_by_button(desk: Desk) -> None:
    other = await add_person(desk, "严超", "13711112222")

    asked = await desk.send(ADMIN_NAME, "/project_set ZD2026-001 联络员 严超")

    assert "多位「严超」,请点击下方按钮选择作为 ZD2026-001 的联络员" in asked, asked
    assert (await project(desk, "ZD2026-001")).liaison_id != other
    done = await desk.press(ADMIN_NAME, OTHER_YAN)
    assert "联络员" in done and "郝芳 → 严超" in done, done
    assert (await project(desk, "ZD2026-001")).liaison_id == other
    async with desk.session() as session:
        audits = list((await session.scalars(select(AuditEntry).where(AuditEntry.action == "project.update"))).all())
    assert [(a.detail["before"], a.detail["after"]) for a in audits] == [("郝芳", "严超")]
    # The pick is used once: the same button again is expired, nothing changes twice.
    again = await desk.tap(ADMIN_NAME, f"ps:pp:{other}")
    assert "按钮已失效" in again
