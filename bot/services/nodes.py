"""Milestones (节点) as use cases shared by the chat and the jobs: a node marked done, an admin's changes to
the plan, and the overdue tick.

* **Done.** A liaison (or the substitute of one on leave) marks a node done on a day (today by default; not
  in the future, not before the plan's year), with a note and photos as evidence. A node of a finished project
  not marked done may still be given its real day, by the liaison or an admin: a day on or before the
  confirmed 竣工 day (``finished_by``). A day after the planned
  one is recorded as done late (``bot.domain.nodes``). The lead unit's handlers are told; a node problem
  still open is closed, its history says so, and everyone it had reached is told.
* **Overdue.** A node not done by its planned day is overdue. On the first working day after it (from the
  time of the day reminders go out, ``SlaPolicy.nudge_at``) its liaison (his substitute while he is on leave,
  ``bot.domain.leave``) and lead unit are told, one message
  per person per tick however many nodes, and the node becomes a problem (``Problem.kind`` "node",
  category 节点逾期) assigned to the lead unit: its deadline is the setting ``nodes.escalate_after_days``
  working days after the planned day, and from there the escalation machinery carries it to the 包抓领导
  and up the chain like any problem (``bot.services.problems``, ``jobs.escalation``).
* **Finished.** A finished project (竣工/投产, imported so, set with /project_set or confirmed after /finished)
  expects no more of its nodes: they are not told as overdue, and the node problems still open are closed
  by the same tick (at any hour), everyone they had reached told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day, to_local
from bot.domain.escalation import SlaPolicy
from bot.domain.grouping import Concern
from bot.domain.leave import LeaveSpan, reporter_on
from bot.domain.messages import Button, Reply
from bot.domain.nodes import node_state
from bot.domain.workdays import SHANGHAI, deadline_after
from bot.render import Renderer, html_to_plain, label
from bot.services import grouped_notices
from bot.services import problems as problem_service
from storage import audit, outbox
from storage import leaves as leave_repo
from storage import nodes as repo
from storage import people as people_repo
from storage import problems as problem_repo
from storage.audit import Actor
from storage.models import Person, Problem, Project, ProjectNode
from storage.nodes import NODE_CATEGORY
from storage.settings import get_setting, set_setting

ESCALATE_KEY = "nodes.escalate_after_days"
ESCALATE_DEFAULT = 3
PREFIX = "nd"  # the node buttons (handlers.nodes)


async def escalate_after_days(session: AsyncSession) -> int:
    """Working days after a node's planned day before its problem goes to the 包抓领导 (the setting)."""
    stored = await get_setting(session, key=ESCALATE_KEY)
    return int(stored) if stored else ESCALATE_DEFAULT


async def set_escalate_after_days(session: AsyncSession, *, days: int, now: datetime, actor: Actor) -> None:
    """Change the setting (for nodes that become overdue from now on: a raised problem keeps its own)."""
    SlaPolicy(resolution_default=days)  # the same bounds as every deadline (1 to 250 working days)
    before = await escalate_after_days(session)
    await set_setting(session, key=ESCALATE_KEY, value=days, now=now, by=actor.label)
    await audit.record(session, actor=actor, at=now, action="node.settings", object_type="setting",
                       object_key=ESCALATE_KEY, detail={"before": before, "after": days})


def grace_start(planned_on: date) -> datetime:
    """Where an overdue node's deadline is counted from: its planned day (noon, so that the day is the same
    wherever the count is read)."""
    return datetime.combine(planned_on, time(12), tzinfo=SHANGHAI)


def node_policy(policy: SlaPolicy, days: int) -> SlaPolicy:
    """The policy snapshotted on a node's problem: the node's limit for its category at the unit (also when
    the problem is moved to another unit, which starts the clock again) and the usual limits above it."""
    return replace(policy, resolution_by_category={**policy.resolution_by_category, NODE_CATEGORY: days},
                   response_days=(days, *policy.response_days[1:]))


# --- done -------------------------------------------------------------------------------------------

def refusal_of_day(day: date, *, planned_on: date, today: date, finished_by: date | None = None) -> str | None:
    """Why a done day is refused (a word the template explains), or None. A day of an earlier year than the
    plan's is refused only when that year is gone as well (a slip: 2025-12-08 for a node of 2026): a node of
    next year's plan done early this year is good news, and 今天完成 records it too. ``finished_by``: the day
    its project was confirmed finished (竣工), after which nothing of it was done."""
    if day > today:
        return "future"
    if finished_by is not None and day > finished_by:
        return "after_finish"
    if day.year < min(planned_on.year, today.year):
        return "before_year"
    return None


@dataclass(frozen=True)
class Done:
    """What marking a node done did: its state (done | late) and the problem it closed, if any."""

    state: str
    closed: Problem | None


async def mark_done(session: AsyncSession, renderer: Renderer, node: ProjectNode, project: Project, *,
                    person: Person, actor: Actor, done_on: date, note: str, photos: Sequence[tuple[str, str]],
                    now: datetime) -> Done:
    """Record the node done (see the module docstring); the caller checked who may and the day."""
    await repo.mark_done(session, node, done_on=done_on, note=note, person_id=person.id, photos=photos, now=now)
    state = node_state(node.planned_on, done_on, done_on)
    late_days = (done_on - node.planned_on).days if state == "late" else 0
    await audit.record(session, actor=actor, at=now, action="node.done", object_type="project",
                       object_key=project.code,
                       detail={"name": node.name, "planned_on": node.planned_on.isoformat(),
                               "done_on": done_on.isoformat(), "photos": len(photos), "late_days": late_days})
    closed = await repo.close_problem(session, node, kind="node_done", now=now, actor_id=person.id,
                                      detail=repo.done_detail(node.planned_on, done_on))
    html = renderer.render("node_done_notice", node=node, project=project, by=person, state=state,
                           late_days=late_days, photos=len(photos), closed=closed)
    told: set[int] = {person.id}
    handlers = await people_repo.unit_handlers(session, unit_id=project.lead_unit_id)
    for handler in handlers or await people_repo.people_with_role(session, role="admin"):  # admins stand in
        told.add(handler.id)
        await outbox.enqueue_for_person(session, person_id=handler.id, reply=Reply(html=html),
                                        key=f"node:{node.id}:done:{done_on.isoformat()}:p{handler.id}", now=now)
    if closed is not None:  # whoever the problem had reached (the 包抓领导 and up) hears it is closed
        for other in await problem_repo.people_on(session, problem=closed, day=local_day(now)):
            if other.id not in told:
                await outbox.enqueue_for_person(session, person_id=other.id, reply=Reply(html=html),
                                                key=f"node:{node.id}:done:{done_on.isoformat()}:p{other.id}",
                                                now=now)
    return Done(state=state, closed=closed)


# --- the admins' plan -------------------------------------------------------------------------------

async def add(session: AsyncSession, *, project: Project, name: str, planned_on: date, actor: Actor,
              now: datetime) -> ProjectNode:
    node = await repo.add_node(session, project=project, name=name, planned_on=planned_on, now=now)
    await audit.record(session, actor=actor, at=now, action="node.add", object_type="project",
                       object_key=project.code, detail={"name": name, "planned_on": planned_on.isoformat()})
    return node


async def rename(session: AsyncSession, node: ProjectNode, project: Project, *, name: str, actor: Actor,
                 now: datetime) -> None:
    before = node.name
    node.name, node.updated_at = name, now
    await audit.record(session, actor=actor, at=now, action="node.update", object_type="project",
                       object_key=project.code,
                       detail={"name": name, "changed": {"node_name": name}, "before": {"node_name": before}})


async def replan(session: AsyncSession, node: ProjectNode, project: Project, *, planned_on: date, actor: Actor,
                 now: datetime) -> None:
    before = node.planned_on
    await repo.replan(session, node, planned_on=planned_on, now=now)
    await audit.record(session, actor=actor, at=now, action="node.update", object_type="project",
                       object_key=project.code,
                       detail={"name": node.name, "changed": {"planned_on": planned_on.isoformat()},
                               "before": {"planned_on": before.isoformat()}})


async def remove(session: AsyncSession, node: ProjectNode, project: Project, *, actor: Actor, now: datetime) -> None:
    await repo.remove(session, node, now=now)
    await audit.record(session, actor=actor, at=now, action="node.remove", object_type="project",
                       object_key=project.code, detail={"name": node.name, "via": "chat"})


# --- overdue ----------------------------------------------------------------------------------------

@dataclass
class OverdueResult:
    """What one overdue tick did: the nodes told about, and the problems raised (numbers)."""

    told: list[str]
    raised: list[str]


async def tell_overdue(session: AsyncSession, deps: problem_service.ProblemDeps, *, now: datetime
                       ) -> OverdueResult:
    """The overdue tick (see the module docstring): nothing before `nudge_at` or on a rest day."""
    result = OverdueResult([], [])
    await _close_finished(session, deps.renderer, now=now)
    local = to_local(now)
    today = local.date()
    if not deps.calendar.is_working_day(today) or local.time() < deps.policy.nudge_at:
        return result
    due = await repo.overdue_untold(session, today=today)
    if not due:
        return result
    days = await escalate_after_days(session)
    policy = node_policy(deps.policy, days)
    admins = await people_repo.people_with_role(session, role="admin")
    leaves = await leave_repo.spans_between(session, start=today, end=today)
    concerns: list[Concern] = []
    for node, project in due:
        node.overdue_told_on = today
        problem = await _raise(session, deps, node, project, policy=policy, days=days, admins=admins, now=now)
        result.told.append(f"{project.code}:{node.name}")
        unit = (await problem_repo.level_holders(session, problem=problem, level=0, day=today) if problem is not None
                else await people_repo.unit_handlers(session, unit_id=project.lead_unit_id))
        people: list[tuple[Person, bool]] = [(p, False) for p in unit]
        liaison = await _answering_for(session, project.liaison, leaves, today)
        if liaison is not None:
            people.insert(0, (liaison, True))
        if problem is not None:
            result.raised.append(problem.number)
        seen: set[int] = set()
        for person, is_liaison in people:
            if person.id in seen:
                continue
            seen.add(person.id)
            concerns.append(_concern(deps.renderer, node, project, problem, person, liaison=is_liaison, days=days,
                                     now=now))
    await session.flush()
    await grouped_notices.deliver(session, deps.renderer, concerns, now=now, kind="nodes")
    return result


async def _close_finished(session: AsyncSession, renderer: Renderer, *, now: datetime) -> None:
    """Close the node problems of finished projects and tell everyone on them."""
    for node, problem in await repo.close_problems_of_finished(session, now=now):
        html = renderer.render("node_problem_finished", node=node, project=problem.project, problem=problem)
        for person in await problem_repo.people_on(session, problem=problem, day=local_day(now)):
            await outbox.enqueue_for_person(session, person_id=person.id, reply=Reply(html=html),
                                            key=f"node:{node.id}:finished:{problem.id}:p{person.id}", now=now)


async def _answering_for(session: AsyncSession, liaison: Person | None, leaves: list[LeaveSpan], today: date
                         ) -> Person | None:
    """Who is told for the liaison: the substitute (代理人) while he is on a leave that names one, else he."""
    if liaison is None:
        return None
    stand_in = reporter_on(leaves, liaison.id, today)
    if stand_in is not None and stand_in != liaison.id:
        substitute = await session.get(Person, stand_in)
        if substitute is not None and substitute.active:
            return substitute
    return liaison if liaison.active else None


async def _raise(session: AsyncSession, deps: problem_service.ProblemDeps, node: ProjectNode, project: Project, *,
                 policy: SlaPolicy, days: int, admins: list[Person], now: datetime) -> Problem | None:
    """The node's problem; None when nobody could stand as its raiser (no liaison, 包抓领导 or admin)."""
    raiser = next((p for p in (project.liaison, project.lead_official, *admins) if p is not None), None)
    if raiser is None:
        return None
    due = deadline_after(deps.calendar, grace_start(node.planned_on), days, end_of_day=policy.end_of_day)
    text = html_to_plain(deps.renderer.render("node_problem_text", node=node))
    problem = await problem_service.raise_overdue_node(
        session, deps, project=project, raiser=raiser, text=text, policy=policy, due=due, now=now,
        detail={"node": node.name, "planned_on": node.planned_on.isoformat()})
    node.problem_id = problem.id
    return problem


def _concern(renderer: Renderer, node: ProjectNode, project: Project, problem: Problem | None, person: Person, *,
             liaison: bool, days: int, now: datetime) -> Concern:
    """One person's notice of one overdue node: a short card, or a line of their list."""
    if liaison:
        buttons: tuple[Button, ...] = (Button(label("node_mark_done", node.name)[:30], f"{PREFIX}:d:{node.id}"),)
    elif problem is not None:
        buttons = (Button(label("answer"), f"pb:ans:{problem.id}"),
                   Button(label("problem", problem.number), f"pb:show:{problem.id}"))
    else:
        buttons = ()
    html = renderer.render("node_overdue", node=node, project=project, problem=problem, liaison=liaison,
                           days=days, now=now)
    line = renderer.render("node_overdue_line", node=node, project=project, problem=problem)
    return Concern(person_id=person.id, key=f"node:{node.id}:overdue:{node.planned_on.isoformat()}:p{person.id}",
                   reply=Reply(html=html, buttons=(buttons,) if buttons else ()), line=str(Markup(line)),
                   buttons=buttons[:1])
