"""Notices go to active people only: a deactivated person's go to their successor (along a chain of
handovers), else to the active admins, through every way of queueing a notice to a person."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from bot.domain.messages import Reply
from storage import outbox
from storage.audit import Actor, record
from storage.db import Database
from storage.models import OutboxMessage, Person, PersonRole
from storage.recipients import HANDOVER, stand_ins
from tests.databases import BACKENDS, fresh_database
from tests.outbox.test_outbox import NOW, add_person

ACTOR = Actor(label="test", channel="cli")


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with fresh_database(request.param) as database:
        yield database


async def deactivate(db: Database, *person_ids: int) -> None:
    async with db.session() as session:
        await session.execute(update(Person).where(Person.id.in_(person_ids)).values(active=False))


async def hand_over(db: Database, giver: int, taker: int) -> None:
    async with db.session() as session:
        await record(session, actor=ACTOR, at=NOW, action=HANDOVER, object_type="person",
                     object_key=str(giver), detail={"to": taker})


async def make_admin(db: Database, person_id: int) -> None:
    async with db.session() as session:
        session.add(PersonRole(person_id=person_id, role="admin"))


async def rows_by_person(db: Database) -> list[tuple[int | None, str | None, str]]:
    async with db.session() as session:
        found = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.person_id, m.chat_id, m.payload["html"]) for m in found.all()]


async def test_active_people_get_their_own_notices(db: Database) -> None:
    alive = await add_person(db, "在岗", ("telegram", "1"))
    async with db.session() as session:
        assert await stand_ins(session, [alive]) == {alive: (alive,)}
        await outbox.enqueue_for_person(session, person_id=alive, reply=Reply(html="通知"), key="n1", now=NOW)
    assert await rows_by_person(db) == [(alive, "1", "通知")]


async def test_a_deactivated_persons_notice_goes_to_the_successor(db: Database) -> None:
    gone = await add_person(db, "离任", ("telegram", "1"))
    middle = await add_person(db, "中间", ("telegram", "2"))
    taker = await add_person(db, "接任", ("telegram", "3"))
    await hand_over(db, gone, middle)
    await hand_over(db, middle, taker)
    await deactivate(db, gone, middle)
    async with db.session() as session:
        assert await stand_ins(session, [gone, middle, taker]) == {gone: (taker,), middle: (taker,),
                                                                    taker: (taker,)}
        await outbox.enqueue_for_person(session, person_id=gone, reply=Reply(html="已解决"), key="n1", now=NOW)
    assert await rows_by_person(db) == [(taker, "3", "已解决")]  # never to the deactivated one's chat


async def test_without_a_successor_the_admins_are_told_once(db: Database) -> None:
    gone = await add_person(db, "离任", ("telegram", "1"))
    also_gone = await add_person(db, "也离任", ("telegram", "2"))
    admin = await add_person(db, "管理员", ("telegram", "9"))
    retired_admin = await add_person(db, "前管理员", ("telegram", "8"))
    for person in (admin, retired_admin):
        await make_admin(db, person)
    await deactivate(db, gone, also_gone, retired_admin)
    notices = [outbox.PersonNotice(person_id=p, reply=Reply(html="问题已解决"), key=f"n:p{p}")
               for p in (gone, also_gone, admin)]
    async with db.session() as session:
        await outbox.enqueue_for_people(session, notices, now=NOW)
    # The admin would have been told anyway: one row, on the admin's own chat.
    assert await rows_by_person(db) == [(admin, "9", "问题已解决")]


async def test_with_nobody_to_stand_in_the_notice_stays_with_the_person(db: Database) -> None:
    gone = await add_person(db, "离任", ("telegram", "1"))
    await deactivate(db, gone)
    async with db.session() as session:
        assert await stand_ins(session, [gone]) == {gone: (gone,)}
