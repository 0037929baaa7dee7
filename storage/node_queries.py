"""Reads of the milestones (节点, ``ProjectNode``) for bulletins, scores and project pages.

A node taken off the plan (``removed_at`` set) is never read here. The states and punctuality are the pure
rules of ``bot.domain.nodes`` (a node of a project finished, 竣工/投产, on the day it is read for is read with
the day from which it was finished then, ``bot.domain.stage_history.finished_from``: closed unless done);
the lists a bulletin shows are chosen by ``bot.domain.node_lists``.
Each function runs two queries whatever the number of projects (the nodes, the projects' stage histories),
one when the caller has read the histories; a project's stage is read once whatever its number of nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.node_lists import NodeItem, year_count
from bot.domain.nodes import NodePlan
from bot.domain.stage_history import Move, finished_from
from storage.models import Project, ProjectNode, Unit
from storage.project_versions import Held, Versions, held_at
from storage.rows import all_rows
from storage.stage_events import histories

__all__ = ["node_counts", "nodes_for_bulletin", "project_nodes"]


async def node_counts(session: AsyncSession, *, cutoff: date, moves: Mapping[int, Sequence[Move]] | None = None
                      ) -> dict[int, tuple[int, int]]:
    """Project id → (nodes done on time, nodes counted) on ``cutoff`` (``bot.domain.node_lists.year_count``:
    the nodes planned in the cut-off day's year, as the other figures of a bulletin are the year's; the query
    reads only those it may count). Projects with no counted node are absent. ``moves``: the projects' stage
    histories (``storage.stage_events.histories``) when the caller has read them."""
    year_start = date(cutoff.year, 1, 1)
    query = (
        select(ProjectNode.project_id, ProjectNode.planned_on, ProjectNode.done_on, Project.stage)
        .join(Project, Project.id == ProjectNode.project_id)
        .where(ProjectNode.removed_at.is_(None), ProjectNode.planned_on >= year_start,
               ProjectNode.planned_on <= date(cutoff.year, 12, 31),
               or_(ProjectNode.planned_on < cutoff, ProjectNode.done_on <= cutoff))
    )
    if moves is None:
        moves = await histories(session)
    finished = _FinishDays(moves, cutoff)
    plans: dict[int, list[NodePlan]] = {}
    for project_id, planned_on, done_on, stage in await all_rows(session, query):
        plans.setdefault(project_id, []).append(NodePlan(planned_on, done_on, finished.of(project_id, stage)))
    counts = {project_id: year_count(nodes, cutoff) for project_id, nodes in plans.items()}
    return {project_id: count for project_id, count in counts.items() if count[1]}


async def nodes_for_bulletin(session: AsyncSession, *, planned_to: date, done_since: date, as_of: date,
                             moves: Mapping[int, Sequence[Move]] | None = None,
                             held: datetime | None = None, versions: Versions | None = None) -> list[NodeItem]:
    """The nodes a weekly bulletin of the day ``as_of`` may list (``bot.domain.node_lists.bulletin_nodes``
    picks): those planned up to ``planned_to`` that are not done or were done on or after ``done_since``; by
    project code and plan. ``moves``: the projects' stage histories when the caller has read them. ``held``:
    the instant whose name, lead unit and 包抓领导 each project is listed with (``storage.project_versions``:
    the end of a past period; ``versions``: when the caller has read them); else as they are now."""
    query = _items().where(
        ProjectNode.removed_at.is_(None), ProjectNode.planned_on <= planned_to,
        or_(ProjectNode.done_on.is_(None), ProjectNode.done_on >= done_since),
    ).order_by(Project.code, ProjectNode.seq, ProjectNode.planned_on)
    if moves is None:
        moves = await histories(session)
    finished = _FinishDays(moves, as_of)
    then = await held_at(session, at=held, versions=versions) if held is not None else {}
    return [_item(row, finished, then) for row in await all_rows(session, query)]


async def project_nodes(session: AsyncSession, *, project_id: int, today: date) -> list[NodeItem]:
    """A project's nodes in the plan's order (as the ledger lists them, then by planned day), as of ``today``."""
    query = _items().where(ProjectNode.project_id == project_id, ProjectNode.removed_at.is_(None)).order_by(
        ProjectNode.seq, ProjectNode.planned_on, ProjectNode.id)
    finished = _FinishDays(await histories(session, project_ids=[project_id]), today)
    return [_item(row, finished) for row in await all_rows(session, query)]


async def project_node_ids(session: AsyncSession, *, project_id: int) -> dict[str, int]:
    """A project's nodes on the plan: name → id (a project has each name once)."""
    query = select(ProjectNode.name, ProjectNode.id).where(ProjectNode.project_id == project_id,
                                                           ProjectNode.removed_at.is_(None))
    return {name: node_id for name, node_id in await all_rows(session, query)}


class _FinishDays:
    """The day from which each project was finished on ``day`` (``finished_from``), if it was: worked out once
    per project, however many nodes it has."""

    def __init__(self, moves: Mapping[int, Sequence[Move]], day: date) -> None:
        self._moves, self._day = moves, day
        self._days: dict[int, date | None] = {}

    def of(self, project_id: int, stage: str) -> date | None:
        """The day for a project now in ``stage``."""
        if project_id not in self._days:
            self._days[project_id] = finished_from(stage, self._moves.get(project_id, ()), self._day)
        return self._days[project_id]


def _item(row: Any, finished: _FinishDays, then: Mapping[int, Held] | None = None) -> NodeItem:
    """A row of ``_items`` as a ``NodeItem``, its project (id and stage last in the row) read as finished
    from the day it was on the day asked, if it was, and named and held as ``then`` has it, if there."""
    *fields, project_id, stage = row
    item = NodeItem(*fields, finished_on=finished.of(project_id, stage))
    held = then.get(project_id) if then else None
    if held is None:
        return item
    return replace(item, project_name=held.name, lead_unit=held.lead_unit, lead_official_id=held.lead_official_id)


def _items() -> Select[Any]:
    """A select of ``NodeItem``'s columns, in its field order, and the project's id and stage last."""
    return (
        select(Project.code, Project.name, Unit.name, Project.lead_official_id, ProjectNode.name,
               ProjectNode.planned_on, ProjectNode.done_on, ProjectNode.note, Project.id, Project.stage)
        .join(Project, Project.id == ProjectNode.project_id)
        .join(Unit, Unit.id == Project.lead_unit_id)
    )
