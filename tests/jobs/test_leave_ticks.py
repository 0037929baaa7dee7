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
from storage.models import Leave, OutboxMessage, Person, PersonRole, Problem, ProblemEvent, Project
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


async def test_what_went_up_past_the_lead_during_his_leave_is_told_as_gone_up_whatever_came_after(
        db: Database) -> None:
    """Problems of the lead's project, his leave running 17 to 20 November, each gone up past his level (to the
    区长) once: on the leave's first instant, told; on the 19th and moved to another unit and up again (its present
    level begun on the 23rd, after the leave), told: it went above him while he was away; on the 19th to the
    区长 and on the 23rd to the 区委书记, told; on the instant the leave ended and on the 23rd, not told: after his
    return; one gone up on the 19th and solved since, not told. Told late (the bot down over the weekend)."""
    district, _ = await _with_stand_in(db, "lead")
    since, until = day_start(date(2026, 11, 17)), day_start(date(2026, 11, 21))
    up, top = LEAD_LEVEL + 1, LEAD_LEVEL + 2  # the 区长's level, the 区委书记's
    cases = (  # text, status, level now, when it began, the levels it went up to and when
        ("在请假首刻上报", "accepted", up, since, [(since, up)]),
        ("改派后又上报", "accepted", up, nov(23, 17, 30),
         [(nov(19, 17, 30), up), (nov(23, 9, 0), LEAD_LEVEL), (nov(23, 17, 30), up)]),
        ("上报区长后又上报书记", "accepted", top, nov(23, 17, 30), [(nov(19, 17, 30), up), (nov(23, 17, 30), top)]),
        ("请假结束时刻上报", "accepted", up, until, [(until, up)]),
        ("返岗后上报", "accepted", up, nov(23, 10, 0), [(nov(23, 10, 0), up)]),
        ("已解决", "closed", up, nov(19, 17, 30), [(nov(19, 17, 30), up)]))
    async with db.session() as session:
        for text, status, level, began, went_up in cases:
            problem = Problem(project_id=district.project, raised_by_id=district.liaison, unit_id=district.unit,
                              category="用地", text=text, status=status, level=level, policy={},
                              level_started_at=began, nudged=[], created_at=nov(16, 9, 0), updated_at=began)
            session.add(problem)
            await session.flush()
            session.add_all([ProblemEvent(problem_id=problem.id, at=at, kind="escalated", detail={"to": to})
                             for at, to in went_up])
            if text == "改派后又上报":  # moved to another unit on the 22nd: back to level 0
                session.add(ProblemEvent(problem_id=problem.id, at=nov(22, 10, 0), kind="reassigned",
                                         detail={"from_level": up}))
    async with db.session() as session:
        projects = [await session.get(Project, district.project)]
        gone_up = await leave_account.gone_up_meanwhile(session, projects, since=since, until=until)
        assert [p.text for p in gone_up] == ["在请假首刻上报", "改派后又上报", "上报区长后又上报书记"]
