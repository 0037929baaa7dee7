"""Repository functions: people and accounts, invites, reports, project figures and visibility, flows."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from storage import conversations, people
from storage import projects as project_repo
from storage import reports as report_repo
from storage.audit import Actor
from storage.db import Database
from storage.models import ChatAccount, Conversation, Invite, Person, Project, Report

from .factories import NOW, World, build_world, count

TODAY = date(2026, 11, 23)


@pytest.fixture
async def world(db: Database) -> World:
    return await build_world(db, NOW)


async def _person(db: Database, person_id: int) -> Person:
    async with db.session() as session:
        person = await people.get_person(session, person_id=person_id)
    assert person is not None
    return person


async def _add_report(db: Database, world: World, *, project_id: int | None = None, amount: str = "1",
                      day: date = TODAY, minutes: int = 0, photos: tuple[str, ...] = (),
                      withdrawn: bool = False) -> int:
    at = NOW + timedelta(minutes=minutes)
    async with db.session() as session:
        report = await report_repo.add_report(
            session, project_id=project_id or world.p1, person_id=world.liaison, local_day=day,
            amount=Decimal(amount), progress_text="桩基施工", photos=photos, channel="telegram", now=at,
            actor=Actor(label="测试", channel="telegram"), project_code="ZD-TEST",
        )
        if withdrawn:
            await session.execute(update(Report).where(Report.id == report.id)
                                  .values(withdrawn_at=at + timedelta(minutes=1)))
        return report.id


# --- people, accounts, invites ------------------------------------------------------------------


async def test_bind_account_is_unique_per_channel_and_external_id(db: Database, world: World) -> None:
    liaison, handler = await _person(db, world.liaison), await _person(db, world.handler)
    async with db.session() as session:
        first = await people.bind_account(session, person=liaison, channel="telegram", external_id="1001",
                                          chat_id="1001", display_name="郝芳", now=NOW)
        wecom = await people.bind_account(session, person=handler, channel="wecom", external_id="1001",
                                          chat_id="1001", display_name="赵芳", now=NOW)
    assert first.id != wecom.id

    # The same channel identity bound again moves to the new person instead of adding a row.
    async with db.session() as session:
        blocked = await people.get_account(session, channel="telegram", external_id="1001")
        assert blocked is not None
        blocked.blocked_at = NOW
    async with db.session() as session:
        rebound = await people.bind_account(session, person=handler, channel="telegram", external_id="1001",
                                            chat_id="c-2", display_name="赵芳", now=NOW + timedelta(days=1))
    assert rebound.id == first.id
    assert await count(db, ChatAccount) == 2

    async with db.session() as session:
        telegram = await people.get_account(session, channel="telegram", external_id="1001")
        other = await people.get_account(session, channel="wecom", external_id="1001")
        missing = await people.get_account(session, channel="telegram", external_id="1002")
        handler_accounts = await people.accounts_of(session, person_id=world.handler)
        liaison_accounts = await people.accounts_of(session, person_id=world.liaison)
    assert telegram is not None and other is not None
    assert (telegram.person_id, telegram.chat_id, telegram.blocked_at) == (world.handler, "c-2", None)
    assert telegram.created_at == NOW
    assert other.person_id == world.handler
    assert missing is None
    assert [a.channel for a in handler_accounts] == ["telegram", "wecom"]
    assert liaison_accounts == []


async def test_database_refuses_a_second_account_row_for_the_same_identity(
    db: Database, world: World
) -> None:
    async with db.session() as session:
        session.add(ChatAccount(person_id=world.liaison, channel="telegram", external_id="7", chat_id="7",
                                created_at=NOW))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(ChatAccount(person_id=world.handler, channel="telegram", external_id="7", chat_id="7",
                                    created_at=NOW))
    assert await count(db, ChatAccount) == 1


async def test_invites_are_kept_only_as_a_hash(db: Database, world: World) -> None:
    code = "K7Q2-M9XA-4TZP"
    liaison = await _person(db, world.liaison)
    async with db.session() as session:
        await people.add_invite(session, code=code, person=liaison, role="liaison", now=NOW,
                                expires_at=NOW + timedelta(hours=72), created_by="管理员")
    async with db.session() as session:
        rows = (await session.execute(text("SELECT * FROM invites"))).all()
        found = await people.get_invite(session, code=code)
        wrong = await people.get_invite(session, code="K7Q2-M9XA-4TZQ")
    assert len(rows) == 1
    assert all(code not in str(value) for value in rows[0])
    assert found is not None
    assert found.code_hash == hashlib.sha256(code.encode()).hexdigest() == people.hash_code(code)
    assert (found.person_id, found.role, found.used_at) == (world.liaison, "liaison", None)
    assert found.expires_at - found.created_at == timedelta(hours=72)
    assert wrong is None


async def test_invite_hashes_are_unique(db: Database, world: World) -> None:
    liaison = await _person(db, world.liaison)
    async with db.session() as session:
        await people.add_invite(session, code="SAME", person=liaison, role="liaison", now=NOW,
                                expires_at=NOW + timedelta(hours=1), created_by="管理员")
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await people.add_invite(session, code="SAME", person=liaison, role="liaison", now=NOW,
                                    expires_at=NOW + timedelta(hours=1), created_by="管理员")
    assert await count(db, Invite) == 1


async def test_find_people_by_name_and_grant_role(db: Database, world: World) -> None:
    async with db.session() as session:
        session.add(Person(name="郝芳", phone="13900000001", active=False, created_at=NOW))
    async with db.session() as session:
        both = await people.find_people_by_name(session, name="郝芳")
        narrowed = await people.find_people_by_name(session, name="郝芳", phone="13900007919")
        person = both[0]
        assert people.grant_role(person, "unit") is True
        assert people.grant_role(person, "unit") is False
    assert [p.phone for p in both] == ["13900007919", "13900000001"]
    assert [p.id for p in narrowed] == [world.liaison]
    assert (await _person(db, world.liaison)).role_names == {"liaison", "unit"}


# --- reports ----------------------------------------------------------------------------------------


async def test_add_report_stores_photos_and_fields(db: Database, world: World) -> None:
    report_id = await _add_report(db, world, amount="850.25", photos=("photo-a", "photo-b"))
    async with db.session() as session:
        report = await session.get(Report, report_id)
        assert report is not None
        photos = [(p.channel, p.file_id) for p in report.photos]
    assert photos == [("telegram", "photo-a"), ("telegram", "photo-b")]
    assert (report.project_id, report.person_id, report.local_day) == (world.p1, world.liaison, TODAY)
    assert report.amount == Decimal("850.25")
    assert report.progress_text == "桩基施工"
    assert report.created_at == NOW
    assert report.withdrawn_at is None


async def test_last_report_of_day_ignores_withdrawn_and_other_days(db: Database, world: World) -> None:
    first = await _add_report(db, world, minutes=0)
    second = await _add_report(db, world, project_id=world.p2, minutes=5)  # one report a project a day
    await _add_report(db, world, day=TODAY + timedelta(days=1), minutes=60 * 24)
    async with db.session() as session:
        latest = await report_repo.last_report_of_day(session, person_id=world.liaison, local_day=TODAY)
        assert latest is not None and latest.id == second
        latest.withdrawn_at = NOW + timedelta(minutes=6)
    async with db.session() as session:
        latest = await report_repo.last_report_of_day(session, person_id=world.liaison, local_day=TODAY)
        assert latest is not None and latest.id == first
        latest.withdrawn_at = NOW + timedelta(minutes=7)
    async with db.session() as session:
        assert await report_repo.last_report_of_day(session, person_id=world.liaison, local_day=TODAY) is None
        assert await report_repo.last_report_of_day(session, person_id=world.handler,
                                                    local_day=TODAY + timedelta(days=1)) is None
    assert await count(db, Report) == 3  # withdrawn reports stay


async def test_projects_reported_on(db: Database, world: World) -> None:
    await _add_report(db, world, project_id=world.p1)
    await _add_report(db, world, project_id=world.p2, withdrawn=True)
    await _add_report(db, world, project_id=world.p3, day=TODAY - timedelta(days=1))
    all_ids = [world.p1, world.p2, world.p3]
    async with db.session() as session:
        today = await report_repo.projects_reported_on(session, project_ids=all_ids, local_day=TODAY)
        yesterday = await report_repo.projects_reported_on(session, project_ids=all_ids,
                                                            local_day=TODAY - timedelta(days=1))
        only_p3 = await report_repo.projects_reported_on(session, project_ids=[world.p3], local_day=TODAY)
        nothing = await report_repo.projects_reported_on(session, project_ids=[], local_day=TODAY)
    assert today == {world.p1}
    assert yesterday == {world.p3}
    assert only_p3 == set()
    assert nothing == set()


# --- projects -------------------------------------------------------------------------------------


async def test_project_figures(db: Database, world: World) -> None:
    await _add_report(db, world, amount="10", day=TODAY - timedelta(days=1), minutes=0, photos=("a",))
    latest = await _add_report(db, world, amount="20.5", minutes=10, photos=("b", "c"))
    await _add_report(db, world, amount="5", day=TODAY - timedelta(days=2), minutes=20, photos=("d",),
                      withdrawn=True)
    await _add_report(db, world, amount="7", day=date(2025, 12, 31), minutes=-60 * 24 * 330)
    await _add_report(db, world, project_id=world.p2, amount="99", minutes=30, photos=("e",))

    async with db.session() as session:
        project = await session.get(Project, world.p1)
        assert project is not None
        this_year = await project_repo.project_figures(session, project=project, today=TODAY)
        next_year = await project_repo.project_figures(session, project=project, today=date(2027, 1, 5))
        empty = await session.get(Project, world.p3)
        assert empty is not None
        none_yet = await project_repo.project_figures(session, project=empty, today=TODAY)

    # The baseline (截至上月累计完成, 100) counts in its own year, plus this year's live reports.
    assert this_year.ytd_done == Decimal("130.5")
    assert this_year.all_reported == Decimal("37.5")
    assert this_year.last_report is not None and this_year.last_report.id == latest
    assert this_year.photo_count == 3
    # A year later the baseline no longer counts, nor do last year's reports.
    assert next_year.ytd_done == Decimal(0)
    assert next_year.all_reported == Decimal("37.5")
    assert project_repo.remaining_investment(project, this_year.all_reported) == Decimal("9862.5")

    assert none_yet.ytd_done == Decimal(100)
    assert none_yet.all_reported == Decimal(0)
    assert none_yet.last_report is None
    assert none_yet.photo_count == 0


async def test_get_project_by_code_normalises_the_code(db: Database, world: World) -> None:
    async with db.session() as session:
        found = await project_repo.get_project_by_code(session, code=" zd2026-002 ")
        missing = await project_repo.get_project_by_code(session, code="ZD2026-999")
    assert found is not None and found.id == world.p2
    assert missing is None


async def test_projects_for_person(db: Database, world: World) -> None:
    expected = {
        "liaison": ["ZD2026-001"],
        "lead": ["ZD2026-001"],
        "handler": ["ZD2026-001", "ZD2026-002"],  # lead unit of 001, supporting unit of 002
        "other_handler": ["ZD2026-003"],
        "top": ["ZD2026-001", "ZD2026-002", "ZD2026-003"],
        "admin": ["ZD2026-001", "ZD2026-002", "ZD2026-003"],
    }
    found: dict[str, list[str]] = {}
    for who in expected:
        person = await _person(db, getattr(world, who))
        async with db.session() as session:
            found[who] = [p.code for p in await project_repo.projects_for_person(session, person=person)]
    assert found == expected


async def test_unit_projects_need_the_unit_role(db: Database, world: World) -> None:
    # 郝芳 works at 区住建局 but is only a liaison: she follows her own project, not her unit's.
    async with db.session() as session:
        liaison = await people.get_person(session, person_id=world.liaison)
        assert liaison is not None
        assert liaison.unit_id == world.housing
        before = [p.code for p in await project_repo.projects_for_person(session, person=liaison)]
        people.grant_role(liaison, "unit")
        await session.flush()
        after = [p.code for p in await project_repo.projects_for_person(session, person=liaison)]
        mine = [p.code for p in await project_repo.projects_of_liaison(session, person_id=world.liaison)]
    assert before == ["ZD2026-001"]
    assert after == ["ZD2026-001", "ZD2026-002"]
    assert mine == ["ZD2026-001"]


# --- conversations ----------------------------------------------------------------------------------


async def test_conversation_save_get_clear(db: Database) -> None:
    key = {"channel": "telegram", "chat_id": "c-1", "user_id": "u-1"}
    async with db.session() as session:
        assert await conversations.get_conversation(session, **key) is None
        await conversations.save_conversation(session, **key, flow="report",
                                              state={"step": "amount", "code": "ZD2026-001"}, now=NOW)
    async with db.session() as session:
        saved = await conversations.get_conversation(session, **key)
        assert saved is not None
        assert (saved.flow, saved.state, saved.updated_at) == (
            "report", {"step": "amount", "code": "ZD2026-001"}, NOW)
        later = NOW + timedelta(minutes=3)
        await conversations.save_conversation(
            session, **key, flow="report",
            state={"step": "progress", "amount": "850", "progress": "桩基完成"}, now=later)
        # Another user in the same chat has a flow of their own.
        await conversations.save_conversation(session, channel="telegram", chat_id="c-1", user_id="u-2",
                                              flow="report", state={"step": "project"}, now=NOW)
    async with db.session() as session:
        updated = await conversations.get_conversation(session, **key)
        assert updated is not None
        assert updated.state == {"step": "progress", "amount": "850", "progress": "桩基完成"}
        assert updated.updated_at == later
    assert await count(db, Conversation) == 2

    async with db.session() as session:
        assert await conversations.clear_conversation(session, **key) is True
    async with db.session() as session:
        assert await conversations.get_conversation(session, **key) is None
        assert await conversations.clear_conversation(session, **key) is False
        other = await conversations.get_conversation(session, channel="telegram", chat_id="c-1",
                                                     user_id="u-2")
    assert other is not None and other.state == {"step": "project"}
