"""The escalation tick and leaves that begin and end: a 包抓领导's leave naming a stand-in is looked at once on its
first tick (what waited at his level is fixed when it took effect), and once on the tick after it ran out (he is
told he holds his level again), told or not; one ended by 销假 was handled then; a liaison's leave with a substitute
is not fetched at all (he holds no level). Counted in statements, on SQLite and on PostgreSQL when configured.
The district of tests/jobs/test_escalation_job.py (no problem waits for anybody)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock, day_start
from bot.domain.messages import Reply
from bot.services import leave_account
from bot.services.leader_inbox import LEAD_LEVEL
from jobs import escalation
from storage import leaves, outbox
from storage.db import Database
from storage.models import Leave, OutboxMessage, Person, PersonRole, Problem, Project
from tests.databases import BACKENDS, fresh_database
from tests.jobs.test_escalation_job import RENDERER, District, build_district, nov
from tests.reads import reads_of


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with fresh_database(request.param) as database:
        yield database


async def _with_stand_in(db: Database, role: str) -> tuple[District, int]:
    """The district, and another person of `role` (a stand-in or a substitute) bound to no chat."""
    district = await build_district(db, nov(16, 8, 0), bound=True)
    async with db.session() as session:
        other = Person(name="陈建国" if role == "lead" else "武杰", active=True, created_at=nov(16, 8, 0),
                       roles=[PersonRole(role=role)])
        session.add(other)
        await session.flush()
        return district, other.id


async def _tick(db: Database, day: int, hour: int = 9) -> None:
    await escalation.run(db, FrozenClock(nov(day, hour, 0)), RENDERER)


async def test_a_leads_leave_with_nothing_waiting_is_looked_at_once(db: Database) -> None:
    district, chen = await _with_stand_in(db, "lead")
    async with db.session() as session:
        await leaves.add_leave(session, person_id=district.lead, substitute_id=chen, start=date(2026, 11, 17),
                               end=date(2026, 11, 27), now=nov(16, 9, 0), actor="刘文华")
    await _tick(db, 16)  # not begun: nothing looked at
    async with db.session() as session:
        assert (await session.scalar(select(Leave.start_handled_at))) is None

    with reads_of(db, "projects") as projects, reads_of(db, "people") as people:
        await _tick(db, 17, 0)  # its first tick: what waits is looked for, once
    assert projects and people
    async with db.session() as session:
        assert (await session.scalar(select(Leave.start_handled_at))) == nov(17, 0, 0)
        assert (await session.scalars(select(OutboxMessage))).all() == []  # nothing waited: nothing told

    for day, hour in ((17, 9), (18, 9), (20, 17), (23, 9)):  # the week after: one read of the leaves, no more
        with (reads_of(db, "leaves") as read, reads_of(db, "projects") as projects,
              reads_of(db, "people") as people, reads_of(db, "outbox") as outbox):
            await _tick(db, day, hour)
        starts = [r for r in read if "start_handled_at IS NULL" in r]
        assert len(starts) == 1 and (projects, people, outbox) == ([], [], []), (day, read, projects, people, outbox)


async def test_a_liaisons_leave_with_a_substitute_is_not_fetched_by_the_tick(db: Database) -> None:
    district, wu = await _with_stand_in(db, "liaison")
    async with db.session() as session:
        await leaves.add_leave(session, person_id=district.liaison, substitute_id=wu, start=date(2026, 11, 17),
                               end=date(2026, 11, 20), now=nov(16, 9, 0), actor="郝芳")
    async with db.session() as session:
        assert await leaves.leads_begun_unhandled(session, since=date(2026, 11, 10), day=date(2026, 11, 17)) == []
    with reads_of(db, "people") as people:
        await _tick(db, 17, 0)
    assert people == []  # no person read for a leave set aside


async def test_a_leads_leave_that_ran_out_is_looked_at_once(db: Database) -> None:
    district, chen = await _with_stand_in(db, "lead")
    async with db.session() as session:
        await leaves.add_leave(session, person_id=district.lead, substitute_id=chen, start=date(2026, 11, 17),
                               end=date(2026, 11, 20), now=nov(16, 9, 0), actor="刘文华")
    await _tick(db, 17, 0)
    await _tick(db, 20, 17)  # its last day: not over yet
    async with db.session() as session:
        assert (await session.scalar(select(Leave.end_handled_at))) is None
    await _tick(db, 21, 0)  # the day after: 刘文华 told, once
    async with db.session() as session:
        assert (await session.scalar(select(Leave.end_handled_at))) == nov(21, 0, 0)
        told = (await session.scalars(select(OutboxMessage))).all()
    assert [row.person_id for row in told] == [district.lead, chen], told  # and his stand-in, that it is over
    assert "请假已结束" in told[0].payload["html"] and "您不再代为处理" in told[1].payload["html"]

    for day, hour in ((21, 9), (23, 9), (25, 17), (27, 9)):  # the week after: one read of the leaves, no more
        with (reads_of(db, "leaves") as read, reads_of(db, "people") as people,
              reads_of(db, "audit_log") as audit, reads_of(db, "problem_events") as events):
            await _tick(db, day, hour)
        ends = [r for r in read if "end_handled_at IS NULL" in r]
        assert len(ends) == 1 and (people, audit, events) == ([], [], []), (day, read, people, audit, events)


async def test_a_leave_ended_by_hand_is_not_looked_at_by_the_tick(db: Database) -> None:
    district, chen = await _with_stand_in(db, "lead")
    async with db.session() as session:
        leave = await leaves.add_leave(session, person_id=district.lead, substitute_id=chen,
                                       start=date(2026, 11, 17), end=date(2026, 11, 20), now=nov(16, 9, 0),
                                       actor="刘文华")
        assert await leaves.end_leave(session, leave, today=date(2026, 11, 19), now=nov(19, 9, 0))  # 销假
    with reads_of(db, "audit_log") as audit, reads_of(db, "people") as people:
        await _tick(db, 19, 12)
        await _tick(db, 20, 9)
    assert (audit, people) == ([], [])


async def test_a_leave_whose_lead_was_told_before_the_handled_mark_does_not_tell_the_stand_in_late(
        db: Database) -> None:
    """A leave that ran out before its end was marked handled: the code before told 刘文华 the day after (his key
    is used) and not his stand-in. The first tick after looks at it once more and tells nobody, not the stand-in
    days late that from today the lead holds his level again."""
    district, chen = await _with_stand_in(db, "lead")
    async with db.session() as session:
        leave = await leaves.add_leave(session, person_id=district.lead, substitute_id=chen,
                                       start=date(2026, 11, 17), end=date(2026, 11, 20), now=nov(16, 9, 0),
                                       actor="刘文华")
        leave.start_handled_at = nov(17, 0, 0)
        await outbox.enqueue_for_person(session, person_id=district.lead, reply=Reply(html="请假已结束"),
                                        key=f"leave:{leave.id}:back", now=nov(21, 0, 0))
    await _tick(db, 24, 9)
    async with db.session() as session:
        assert (await session.scalar(select(Leave.end_handled_at))) == nov(24, 9, 0)
        told = (await session.scalars(select(OutboxMessage))).all()
    assert [row.person_id for row in told] == [district.lead], told


async def test_what_went_up_after_the_leave_ended_is_not_told_as_gone_up_during_it(db: Database) -> None:
    """Two problems of the lead's project went up past his level: one during his leave (17 to 20 November), one on
    the 23rd, after it ran out. Told late (the bot down over the weekend), he hears only of the first as gone up
    while he was away."""
    district, chen = await _with_stand_in(db, "lead")
    async with db.session() as session:
        project = await session.get(Project, district.project)
        assert project is not None
        for text, went_up in (("还有12户未签约", nov(19, 10, 0)), ("施工用电未接入", nov(23, 10, 0))):
            session.add(Problem(project_id=project.id, raised_by_id=district.liaison, unit_id=district.unit,
                                category="用地", text=text, status="accepted", level=LEAD_LEVEL + 1, policy={},
                                level_started_at=went_up, nudged=[], created_at=nov(16, 9, 0),
                                updated_at=went_up))
    async with db.session() as session:
        projects = [await session.get(Project, district.project)]
        gone_up = await leave_account.gone_up_meanwhile(session, projects, since=day_start(date(2026, 11, 17)),
                                                        until=day_start(date(2026, 11, 21)))
        assert [p.text for p in gone_up] == ["还有12户未签约"]
