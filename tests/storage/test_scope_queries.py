"""The scope queries (storage.scope, storage.projects.projects_for_person) say in SQL what the pure rules
(bot.domain.scope) say, on both databases: every person of a small district, every kind of problem."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

from sqlalchemy import select

from bot.domain.scope import can_see, follows_project
from bot.services.scope import facts_of
from storage import problems as repo
from storage import projects as project_repo
from storage import scope
from storage.db import Database
from storage.leaves import add_leave
from storage.models import Person, PersonRole, Problem, Project
from tests.reads import reads_of

from .factories import NOW, build_world

STATUSES = ("open", "accepted", "answered", "resolved", "closed")


async def _problems(db: Database) -> None:
    """A problem for every project (and none: a meeting decision) × unit × raiser × status × level."""
    world = await build_world(db, NOW)
    async with db.session() as session:
        both = Person(name="陈建国", title="区委常委", active=True, created_at=NOW, unit_id=world.reform,
                      roles=[PersonRole(role="lead"), PersonRole(role="unit")])  # 包抓 ZD2026-002, and a handler
        session.add(both)
        await session.flush()
        p2 = await session.get(Project, world.p2)
        assert p2 is not None
        p2.lead_official_id = both.id
        for project, unit, raiser, status, level in product(
                (world.p1, world.p2, world.p3, None), (world.housing, world.reform, world.industry),
                (world.liaison, world.admin), STATUSES, (0, 2)):
            session.add(Problem(kind="problem" if project else "decision", project_id=project, unit_id=unit,
                                raised_by_id=raiser, category="用地", text="x", status=status, level=level,
                                policy={}, level_started_at=NOW, nudged=[], created_at=NOW, updated_at=NOW))


async def test_visible_problems_are_those_the_rules_let_each_person_see(db: Database) -> None:
    await _problems(db)
    async with db.session() as session:
        everyone = list((await session.scalars(select(Person))).unique().all())
        problems = list((await session.scalars(select(Problem))).unique().all())
        assert len(everyone) == 7 and len(problems) == 4 * 3 * 2 * 5 * 2
        seen_by: dict[str, int] = {}
        for person in everyone:
            viewer = scope.viewer_of(person)
            expected = {p.id for p in problems if can_see(viewer, facts_of(p, unit_staffed=True))}
            open_expected = {p.id for p in problems if p.id in expected and p.status != "closed"}
            listed = await scope.visible_problems(session, viewer=viewer, include_closed=True)
            assert {p.id for p in listed} == expected, person.name
            assert [p.id for p in listed] == sorted(expected)
            default = await scope.visible_problems(session, viewer=viewer)
            assert {p.id for p in default} == open_expected, person.name
            seen_by[person.name] = len(expected)
    # The table at work: everything for 王立军 and the admin; 刘文华 ZD2026-001's 60 problems; 郝芳 those of
    # her project and those she raised; 赵芳 and 胡杰 their unit's; 陈建国 ZD2026-002's and 区发改局's.
    assert seen_by == {"王立军": 240, "管理员": 240, "刘文华": 60, "郝芳": 150, "赵芳": 80, "胡杰": 80,
                       "陈建国": 120}


async def test_projects_followed_are_those_the_rules_say(db: Database) -> None:
    await _problems(db)
    async with db.session() as session:
        everyone = list((await session.scalars(select(Person))).unique().all())
        projects = list((await session.scalars(select(Project))).unique().all())
        for person in everyone:
            viewer = scope.viewer_of(person)
            expected = {p.code for p in projects if follows_project(viewer, scope.project_facts(p))}
            found = await project_repo.projects_for_person(session, person=person)
            assert {p.code for p in found} == expected, person.name


async def test_the_followed_condition_holds_the_projects_the_rule_says(db: Database) -> None:
    """``scope.followed`` (what the web pages read of the projects a person follows) for every person, and for
    a stand-in (陈建国 for 刘文华, whose ZD2026-001 he then follows too)."""
    await _problems(db)
    async with db.session() as session:
        everyone = list((await session.scalars(select(Person))).unique().all())
        projects = list((await session.scalars(select(Project))).unique().all())
        liu = next(p for p in everyone if p.name == "刘文华")
        viewers = [scope.viewer_of(person) for person in everyone]
        viewers += [scope.viewer_of(person, stands_for=frozenset({liu.id})) for person in everyone
                    if person.name == "陈建国"]
        for viewer in viewers:
            expected = {p.code for p in projects if follows_project(viewer, scope.project_facts(p))}
            found = set((await session.scalars(select(Project.code).where(scope.followed(viewer)))).all())
            assert found == expected, viewer
        assert {"ZD2026-001", "ZD2026-002"} <= found  # the stand-in's own and the absent lead's


async def test_staffed_units_are_those_with_an_active_handler(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        units = [world.housing, world.reform, world.industry]
        assert await scope.staffed_units(session, unit_ids=units) == {world.housing, world.industry}
        handler = await session.get(Person, world.other_handler)
        assert handler is not None
        handler.active = False
        await session.flush()
        assert await scope.staffed_units(session, unit_ids=units) == {world.housing}
        assert await scope.staffed_units(session, unit_ids=[]) == set()


async def test_everyone_a_problem_notifies_sees_it(db: Database) -> None:
    """Notices go to the people on a problem (its raiser and the holders of every level it reached, admins
    standing in): each of them sees it in their /issues and may open it."""
    await _problems(db)
    async with db.session() as session:
        problems = list((await session.scalars(select(Problem).where(Problem.status != "closed"))).unique().all())
        for problem in problems:
            facts = facts_of(problem, unit_staffed=True)
            for person in await repo.people_on(session, problem=problem, day=NOW.date()):
                assert can_see(scope.viewer_of(person), facts), (problem.id, person.name)


async def test_a_stand_in_sees_the_absent_leads_problems_and_is_told_whose_while_the_leave_runs(db: Database) -> None:
    """陈建国 stands in for 刘文华 (ZD2026-001) for three days: on them `viewer_on` gives him ZD2026-001's problems
    and `standing_on` names 刘文华 with his leave's last day (what the web pages say), reading the leaves once;
    the day after, neither."""
    await _problems(db)
    today = NOW.date()
    async with db.session() as session:
        chen = await session.scalar(select(Person).where(Person.name == "陈建国"))
        liu = await session.scalar(select(Person).where(Person.name == "刘文华"))
        assert chen is not None and liu is not None
        await add_leave(session, person_id=liu.id, substitute_id=chen.id, start=today - timedelta(days=1),
                        end=today + timedelta(days=1), now=NOW, actor="test")
        p1 = {p.id for p in await scope.visible_problems(session, viewer=scope.viewer_of(liu))}
        for day, standing in ((today, True), (today + timedelta(days=1), True), (today + timedelta(days=2), False)):
            viewer = await scope.viewer_on(session, chen, day=day)
            seen = {p.id for p in await scope.visible_problems(session, viewer=viewer)}
            assert (p1 <= seen) is standing, day
            expected = [scope.StandIn(lead_id=liu.id, name="刘文华", until=today + timedelta(days=1))]
            with reads_of(db, "leaves") as reads:
                both = await scope.standing_on(session, chen, day=day)
            assert both == (viewer, expected if standing else []), day
            assert len(reads) == 1, reads  # the web pages' viewer and his stand-in line from one read
        assert (await scope.standing_on(session, liu, day=today))[1] == []
