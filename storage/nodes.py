"""Repository functions for a project's nodes (节点计划): the writes (the ledger import's plan, the admins'
changes in the chat, a node marked done) and the reads the chat and the jobs need.

A node is never deleted: taken off the plan it keeps its row and history (``removed_at``). When a node's
overdue problem (``ProjectNode.problem_id``, ``Problem.kind`` "node") has no more reason to be (the node is
done, replanned or taken off the plan, or its project is finished), the problem is closed here and its history
says why. The nodes of a finished project (竣工/投产) not done are closed (``bot.domain.nodes``): nobody is asked
to mark them, nor told they are overdue.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.node_plan import NodePlan, StoredNode
from bot.domain.progress import FINISHED_STAGES
from storage import audit
from storage import problems as problem_repo
from storage.audit import Actor
from storage.models import NodePhoto, Problem, Project, ProjectNode

NODE_CATEGORY = "节点逾期"  # the category of a node's overdue problem (Problem.kind "node")


async def stored_nodes(session: AsyncSession) -> list[StoredNode]:
    """Every stored node (those taken off the plan too), as plain values, for planning an import."""
    query = (select(ProjectNode.id, Project.code, ProjectNode.name, ProjectNode.seq, ProjectNode.planned_on,
                    ProjectNode.done_on, ProjectNode.note, ProjectNode.removed_at, ProjectNode.overdue_told_on,
                    ProjectNode.problem_id)
             .join(Project, Project.id == ProjectNode.project_id))
    return [StoredNode(id=i, code=code, name=name, seq=seq, planned_on=planned, done_on=done, note=note or "",
                       removed=removed is not None, told_on=told, problem_id=problem)
            for i, code, name, seq, planned, done, note, removed, told, problem
            in (await session.execute(query)).all()]


async def write_node_plan(session: AsyncSession, plan: NodePlan, *, now: datetime, actor: Actor
                          ) -> list[dict[str, Any]]:
    """Write the import's node changes (see bot.domain.node_plan) in a few bulk statements; returns the audit
    entries (one per node changed) for the caller to write with its own."""
    table = ProjectNode.__table__
    codes = {a.code for a in plan.adds}
    ids = dict((await session.execute(select(Project.code, Project.id).where(Project.code.in_(codes)))).all()) \
        if codes else {}
    entries: list[dict[str, Any]] = []
    if plan.adds:
        await session.execute(insert(table), [
            {"project_id": ids[a.code], "seq": a.seq, "name": a.name, "planned_on": a.planned_on,
             "done_on": a.done_on, "note": a.note, "source": "ledger", "created_at": now, "updated_at": now}
            for a in plan.adds])
        entries += [_entry(actor, now, "node.add", a.code, _shown(a.name, a.planned_on, a.done_on))
                    for a in plan.adds]
    closing: list[tuple[int, str, str, dict[str, Any]]] = []  # (problem id, node name, event kind, what happened)
    if plan.updates:
        columns = ("seq", "planned_on", "done_on", "note", "removed_at", "overdue_told_on", "updated_at")
        statement = (update(table).where(table.c.id == bindparam("b_id"))
                     .values({c: bindparam(f"b_{c}") for c in columns}))
        await session.execute(statement, [
            {"b_id": c.node.id, "b_seq": c.seq, "b_planned_on": c.planned_on, "b_done_on": c.done_on,
             "b_note": c.note, "b_removed_at": None, "b_updated_at": now,
             "b_overdue_told_on": c.node.told_on if c.planned_on == c.node.planned_on else None}
            for c in plan.updates])
        for c in plan.updates:
            before = {"seq": c.node.seq, "planned_on": c.node.planned_on, "done_on": c.node.done_on,
                      "note": c.node.note}
            after = {"seq": c.seq, "planned_on": c.planned_on, "done_on": c.done_on, "note": c.note}
            changed = [f for f in c.fields if f != "restored"]
            entries.append(_entry(actor, now, "node.update", c.node.code, {
                "name": c.node.name, "changed": {f: _iso(after[f]) for f in changed},
                "before": {f: _iso(before[f]) for f in changed}, "restored": c.restored}))
            if c.node.problem_id is None:
                continue
            if c.done_on is not None and c.node.done_on is None:
                closing.append((c.node.problem_id, c.node.name, "node_done",
                                {**done_detail(c.node.planned_on, c.done_on), "via": "ledger"}))
            elif c.planned_on != c.node.planned_on:
                closing.append((c.node.problem_id, c.node.name, "node_replanned",
                                {**replanned_detail(c.node.planned_on, c.planned_on), "via": "ledger"}))
    if plan.removals:
        await session.execute(update(table).where(table.c.id == bindparam("b_id"))
                              .values(removed_at=bindparam("b_at"), updated_at=bindparam("b_at")),
                              [{"b_id": n.id, "b_at": now} for n in plan.removals])
        entries += [_entry(actor, now, "node.remove", n.code, {"name": n.name, "via": "ledger"})
                    for n in plan.removals]
        closing += [(n.problem_id, n.name, "node_removed", {"via": "ledger"}) for n in plan.removals
                    if n.problem_id is not None]
    for problem_id, name, kind, detail in closing:
        await _close(session, problem_id=problem_id, name=name, kind=kind, now=now, detail=detail, actor_id=None)
    return entries


def _entry(actor: Actor, now: datetime, action: str, code: str, detail: dict[str, Any]) -> dict[str, Any]:
    return audit.entry_values(actor=actor, at=now, action=action, object_type="project", object_key=code,
                              detail=detail)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def done_detail(planned_on: date, done_on: date) -> dict[str, Any]:
    """What a node problem's history keeps of the node done (worded by ``_problem_event.j2``)."""
    return {"done_on": done_on.isoformat(), "late_days": max((done_on - planned_on).days, 0)}


def replanned_detail(before: date, after: date) -> dict[str, Any]:
    """What a node problem's history keeps of the node planned again (worded by ``_problem_event.j2``)."""
    return {"planned_from": before.isoformat(), "planned_to": after.isoformat()}


def _shown(name: str, planned_on: date, done_on: date | None) -> dict[str, Any]:
    return {"name": name, "planned_on": planned_on.isoformat(), "done_on": done_on.isoformat() if done_on else None}


# --- reads ------------------------------------------------------------------------------------------

async def get_node(session: AsyncSession, *, node_id: int) -> ProjectNode | None:
    return await session.get(ProjectNode, node_id)


async def node_named(session: AsyncSession, *, project_id: int, name: str) -> ProjectNode | None:
    """The project's node of that name (taken off the plan or not)."""
    return await session.scalar(select(ProjectNode).where(ProjectNode.project_id == project_id,
                                                          ProjectNode.name == name))


async def nodes_of_project(session: AsyncSession, *, project_id: int) -> list[ProjectNode]:
    """The project's nodes on the plan, in the plan's order (then by planned day)."""
    query = (select(ProjectNode).where(ProjectNode.project_id == project_id, ProjectNode.removed_at.is_(None))
             .order_by(ProjectNode.planned_on, ProjectNode.seq, ProjectNode.id))
    return list((await session.scalars(query)).all())


def _unfinished() -> ColumnElement[bool]:
    """The project (joined) is not finished: its nodes not done are still expected."""
    return Project.stage.not_in(FINISHED_STAGES)


async def open_nodes(session: AsyncSession, *, project_ids: Collection[int]) -> list[tuple[ProjectNode, Project]]:
    """The nodes on the plan not yet done of these projects (not finished ones), by project code and planned
    day."""
    if not project_ids:
        return []
    query = (select(ProjectNode, Project).join(Project, Project.id == ProjectNode.project_id)
             .where(ProjectNode.project_id.in_(list(project_ids)), ProjectNode.removed_at.is_(None),
                    ProjectNode.done_on.is_(None), _unfinished())
             .order_by(Project.code, ProjectNode.planned_on, ProjectNode.seq, ProjectNode.id))
    return [(node, project) for node, project in (await session.execute(query)).unique().all()]


async def has_open_nodes(session: AsyncSession, *, project_id: int) -> bool:
    query = (select(ProjectNode.id).join(Project, Project.id == ProjectNode.project_id)
             .where(ProjectNode.project_id == project_id, ProjectNode.removed_at.is_(None),
                    ProjectNode.done_on.is_(None), _unfinished()).limit(1))
    return (await session.scalar(query)) is not None


async def unrecorded_of_finished(session: AsyncSession, *, project_ids: Collection[int]
                                 ) -> list[tuple[Project, int]]:
    """The finished projects (竣工/投产) among these whose nodes on the plan are not all marked done, by code,
    with how many are not: their real days may still be recorded (补记完成)."""
    if not project_ids:
        return []
    counts = (select(ProjectNode.project_id, func.count(ProjectNode.id).label("n"))
              .where(ProjectNode.project_id.in_(list(project_ids)), ProjectNode.removed_at.is_(None),
                     ProjectNode.done_on.is_(None))
              .group_by(ProjectNode.project_id).subquery())
    query = (select(Project, counts.c.n).join(counts, counts.c.project_id == Project.id)
             .where(Project.stage.in_(FINISHED_STAGES)).order_by(Project.code))
    return [(project, count) for project, count in (await session.execute(query)).unique().all()]


async def overdue_untold(session: AsyncSession, *, today: date) -> list[tuple[ProjectNode, Project]]:
    """The nodes on the plan, not done, planned before `today`, whose people have not been told yet (of projects
    not finished)."""
    query = (select(ProjectNode, Project).join(Project, Project.id == ProjectNode.project_id)
             .where(ProjectNode.planned_on < today, ProjectNode.done_on.is_(None),
                    ProjectNode.removed_at.is_(None), ProjectNode.overdue_told_on.is_(None), _unfinished())
             .order_by(Project.code, ProjectNode.planned_on, ProjectNode.id))
    return [(node, project) for node, project in (await session.execute(query)).unique().all()]


async def close_problems_of_finished(session: AsyncSession, *, now: datetime) -> list[tuple[ProjectNode, Problem]]:
    """Close the node problems still open of the projects now finished (their history says so: event
    ``node_project_finished``); the nodes and the problems closed."""
    query = (select(ProjectNode, Problem).join(Project, Project.id == ProjectNode.project_id)
             .join(Problem, Problem.id == ProjectNode.problem_id)
             .where(Project.stage.in_(FINISHED_STAGES), ProjectNode.done_on.is_(None),
                    Problem.status.in_(ACTIVE | {"resolved"}))
             .order_by(Problem.id))
    closed: list[tuple[ProjectNode, Problem]] = []
    for node, _problem in (await session.execute(query)).unique().all():
        problem = await close_problem(session, node, kind="node_project_finished", now=now)
        if problem is not None:
            closed.append((node, problem))
    return closed


@dataclass(frozen=True)
class LedgerNode:
    """A node as the sheet 项目节点计划 writes it."""

    code: str
    name: str
    planned_on: date
    done_on: date | None
    note: str


async def ledger_nodes(session: AsyncSession) -> list[LedgerNode]:
    """Every node on the plan, by project code and the plan's order: the rows of 项目节点计划."""
    query = (select(Project.code, ProjectNode.name, ProjectNode.planned_on, ProjectNode.done_on, ProjectNode.note)
             .join(Project, Project.id == ProjectNode.project_id).where(ProjectNode.removed_at.is_(None))
             .order_by(Project.code, ProjectNode.seq, ProjectNode.planned_on, ProjectNode.id))
    return [LedgerNode(c, n, p, d, note or "") for c, n, p, d, note in (await session.execute(query)).all()]


# --- writes -----------------------------------------------------------------------------------------

async def add_node(session: AsyncSession, *, project: Project, name: str, planned_on: date, now: datetime
                   ) -> ProjectNode:
    """A node added in the chat; one of the same name taken off the plan before comes back instead."""
    node = await node_named(session, project_id=project.id, name=name)
    last = await session.scalar(select(ProjectNode.seq).where(ProjectNode.project_id == project.id)
                                .order_by(ProjectNode.seq.desc()).limit(1))
    if node is None:
        node = ProjectNode(project_id=project.id, seq=(last or 0) + 1, name=name, planned_on=planned_on, note="",
                           source="chat", created_at=now, updated_at=now)
        session.add(node)
        await session.flush()
        return node
    node.removed_at, node.updated_at = None, now
    await replan(session, node, planned_on=planned_on, now=now)
    return node


async def replan(session: AsyncSession, node: ProjectNode, *, planned_on: date, now: datetime) -> None:
    """A new planned day: a new commitment, so a missed one is told again and its problem is closed."""
    if node.planned_on == planned_on:
        return
    before = node.planned_on
    node.planned_on, node.updated_at, node.overdue_told_on = planned_on, now, None
    await close_problem(session, node, kind="node_replanned", now=now, detail=replanned_detail(before, planned_on))


async def remove(session: AsyncSession, node: ProjectNode, *, now: datetime) -> None:
    """Take the node off the plan (its row and history kept)."""
    node.removed_at = node.updated_at = now
    await close_problem(session, node, kind="node_removed", now=now)


async def mark_done(session: AsyncSession, node: ProjectNode, *, done_on: date, note: str, person_id: int | None,
                    photos: Sequence[tuple[str, str]], now: datetime) -> None:
    """Record the node done on `done_on`, by whom, with the evidence (a note, photos as (channel, file id)): a
    sending of its own, numbered (``sendings``), however soon after the one before."""
    node.done_on, node.done_by_id, node.done_at, node.updated_at = done_on, person_id, now, now
    node.sendings = (node.sendings or 0) + 1
    if note:
        node.note = note
    for channel, file_id in photos:  # due for download at once (the photo keeper keeps them for good)
        session.add(NodePhoto(node_id=node.id, channel=channel, file_id=file_id, created_at=now, fetch_after=now,
                              sending=node.sendings))
    await session.flush()


async def add_photos(session: AsyncSession, *, node_id: int, channel: str, photos: Sequence[str],
                     now: datetime) -> ProjectNode | None:
    """Add more evidence photos to a node done (the rest of an album sent as it was marked done), due for
    download at once; the node, or None when it is no longer done (or gone). They were sent with the photos
    that marked it done: they are stored as sent then, with its sending (one sending, as 疑似重复照片 counts)."""
    node = await get_node(session, node_id=node_id)
    if node is None or node.done_on is None or node.removed_at is not None:
        return None
    sent = node.done_at or now
    for file_id in photos:
        session.add(NodePhoto(node_id=node.id, channel=channel, file_id=file_id, created_at=sent, fetch_after=now,
                              sending=node.sendings))
    await session.flush()
    return node


async def photo_count(session: AsyncSession, *, node_id: int) -> int:
    """How many evidence photos the node has."""
    return int(await session.scalar(select(func.count()).where(NodePhoto.node_id == node_id)) or 0)


async def close_problem(session: AsyncSession, node: ProjectNode, *, kind: str, now: datetime,
                        detail: dict[str, Any] | None = None, actor_id: int | None = None) -> Problem | None:
    """Close the node's overdue problem if it is still open (its history says why: `kind` is a problem event,
    node_done | node_replanned | node_removed | node_project_finished, and `detail` what happened, as values:
    ``done_detail``, ``replanned_detail``, "via" "ledger" for the ledger's import); the problem closed, or
    None."""
    if node.problem_id is None:
        return None
    return await _close(session, problem_id=node.problem_id, name=node.name, kind=kind, now=now,
                        detail=detail or {}, actor_id=actor_id)


async def _close(session: AsyncSession, *, problem_id: int, name: str, kind: str, now: datetime,
                 detail: dict[str, Any], actor_id: int | None) -> Problem | None:
    problem = await problem_repo.get_problem(session, problem_id=problem_id)
    if problem is None or problem.status not in ACTIVE | {"resolved"}:
        return None
    problem.status = "closed"
    problem.closed_at = problem.updated_at = now
    problem.next_check_at = None
    await problem_repo.add_event(session, problem=problem, at=now, kind=kind, actor_id=actor_id,
                                 detail={"node": name, **detail})
    return problem
