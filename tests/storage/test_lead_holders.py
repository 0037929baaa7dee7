"""Who holds a 包抓领导's level on a day (storage.problems.lead_holders), read once however many leaders are asked,
and everyone on a problem (`people_on`) with each level's holders read once, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import leaves
from storage import problems as repo
from storage.db import Database
from storage.models import Person, PersonRole, Problem, ProblemEvent, Project
from tests.reads import reads_of

from .factories import NOW, build_world

TODAY = NOW.date()


def _lead(name: str, *, active: bool = True) -> Person:
    return Person(name=name, title="副区长", active=active, created_at=NOW, roles=[PersonRole(role="lead")])


async def test_the_holders_of_many_leaders_levels_are_read_at_once(db: Database) -> None:
    """周海燕 away with 陈建国 standing in, 孙立新 away without anyone, 马志强 away with a stand-in since deactivated,
    刘文华 at work, 李强 deactivated: one read of the leaves and the substitutes for all of them."""
    await build_world(db, NOW)
    async with db.session() as session:
        liu = await session.scalar(select(Person).where(Person.name == "刘文华"))
        zhou, sun, ma, chen, gone, li = (_lead(n) for n in ("周海燕", "孙立新", "马志强", "陈建国", "王伟", "李强"))
        gone.active, li.active = False, False
        session.add_all([zhou, sun, ma, chen, gone, li])
        await session.flush()
        for person, substitute in ((zhou, chen), (sun, None), (ma, gone)):
            await leaves.add_leave(session, person_id=person.id, substitute_id=substitute and substitute.id,
                                   start=TODAY, end=TODAY + timedelta(days=2), now=NOW, actor="test")
        assert liu is not None
        everyone = [liu, zhou, sun, ma, li]
        with reads_of(db, "leaves") as reads:
            holders = await repo.lead_holders(session, everyone, day=TODAY)
        assert len(reads) == 1, reads
        assert holders == {liu.id: liu, zhou.id: chen, sun.id: sun, ma.id: ma, li.id: None}
        assert await repo.lead_holder(session, zhou, day=TODAY + timedelta(days=3)) is zhou  # back
        cache = repo.RoleCache()
        assert (await repo.lead_holders(session, everyone, day=TODAY, cache=cache))[zhou.id] is chen
        with reads_of(db, "leaves") as reads:
            assert await repo.lead_holder(session, zhou, day=TODAY, cache=cache) is chen
        assert reads == []  # kept for the transaction


async def test_everyone_on_a_problem_reads_each_levels_holders_once(db: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """W at the 包抓领导's level with 批示 from two leaders who no longer see it (the project was handed over):
    the lead official now hears in their place, his level read once, not once more for each 批示."""
    world = await build_world(db, NOW)
    async with db.session() as session:
        old, older = _lead("孙立新"), _lead("马志强")
        session.add_all([old, older])
        await session.flush()
        problem = Problem(kind="problem", project_id=world.p1, unit_id=world.housing, raised_by_id=world.liaison,
                          category="用地", text="x", status="open", level=1, policy={}, level_started_at=NOW,
                          nudged=[], created_at=NOW, updated_at=NOW)
        session.add(problem)
        await session.flush()
        for leader in (old, older):
            session.add(ProblemEvent(problem_id=problem.id, at=NOW, kind="comment", actor_person_id=leader.id,
                                     level=1, text="请抓紧", detail={}))
        await session.flush()
        problem = await repo.get_problem(session, problem_id=problem.id)
        assert problem is not None and (await session.get(Project, world.p1)) is not None
        asked: list[int] = []
        level_holders = repo.level_holders

        async def counted(session, *, problem, level, day, cache=None):  # type: ignore[no-untyped-def]
            asked.append(level)
            return await level_holders(session, problem=problem, level=level, day=day, cache=cache)

        monkeypatch.setattr(repo, "level_holders", counted)
        people = await repo.people_on(session, problem=problem, day=TODAY)
    assert sorted(asked) == [0, 1], asked
    assert {p.id for p in people} >= {world.liaison, world.lead, world.handler}
    assert not {old.id, older.id} & {p.id for p in people}
