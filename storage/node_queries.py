"""Reads of the milestones (节点, ``ProjectNode``) for bulletins, scores and project pages.

A node taken off the plan (``removed_at`` set) is never read here. The states and punctuality are the pure
rules of ``bot.domain.nodes`` (a node of a finished project, 竣工/投产, is read with the day from which it is
finished, ``bot.domain.nodes.finished_since``: closed from then on unless done);
the lists a bulletin shows are chosen by ``bot.domain.node_lists``.
Each function runs one query whatever the number of projects.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.node_lists import NodeItem, year_count
from bot.domain.nodes import NodePlan, finished_since
from storage.models import Project, ProjectNode, Unit
from storage.rows import all_rows
from storage.stage_events import finish_day_of_project

__all__ = ["node_counts", "nodes_for_bulletin", "project_nodes"]


async def node_counts(session: AsyncSession, *, cutoff: date) -> dict[int, tuple[int, int]]:
    """Project id → (nodes done on time, nodes counted) on ``cutoff`` (``bot.domain.node_lists.year_count``:
    the nodes planned in the cut-off day's year, as the other figures of a bulletin are the year's; the query
    reads only those it may count). Projects with no counted node are absent."""
    year_start = date(cutoff.year, 1, 1)
    query = (
        select(ProjectNode.project_id, ProjectNode.planned_on, ProjectNode.done_on, Project.stage,
               finish_day_of_project())
        .join(Project, Project.id == ProjectNode.project_id)
        .where(ProjectNode.removed_at.is_(None), ProjectNode.planned_on >= year_start,
               ProjectNode.planned_on <= date(cutoff.year, 12, 31),
               or_(ProjectNode.planned_on < cutoff, ProjectNode.done_on <= cutoff))
    )
    plans: dict[int, list[NodePlan]] = {}
    for project_id, planned_on, done_on, stage, finished in await all_rows(session, query):
        plans.setdefault(project_id, []).append(NodePlan(planned_on, done_on, finished_since(stage, finished)))
    counts = {project_id: year_count(nodes, cutoff) for project_id, nodes in plans.items()}
    return {project_id: count for project_id, count in counts.items() if count[1]}


async def nodes_for_bulletin(session: AsyncSession, *, planned_to: date, done_since: date) -> list[NodeItem]:
    """The nodes a weekly bulletin may list (``bot.domain.node_lists.bulletin_nodes`` picks): those planned up
    to ``planned_to`` that are not done or were done on or after ``done_since``; by project code and plan."""
    query = _items().where(
        ProjectNode.removed_at.is_(None), ProjectNode.planned_on <= planned_to,
        or_(ProjectNode.done_on.is_(None), ProjectNode.done_on >= done_since),
    ).order_by(Project.code, ProjectNode.seq, ProjectNode.planned_on)
    return [_item(row) for row in await all_rows(session, query)]


async def project_nodes(session: AsyncSession, *, project_id: int) -> list[NodeItem]:
    """A project's nodes in the plan's order (as the ledger lists them, then by planned day)."""
    query = _items().where(ProjectNode.project_id == project_id, ProjectNode.removed_at.is_(None)).order_by(
        ProjectNode.seq, ProjectNode.planned_on, ProjectNode.id)
    return [_item(row) for row in await all_rows(session, query)]


async def project_node_ids(session: AsyncSession, *, project_id: int) -> dict[str, int]:
    """A project's nodes on the plan: name → id (a project has each name once)."""
    query = select(ProjectNode.name, ProjectNode.id).where(ProjectNode.project_id == project_id,
                                                           ProjectNode.removed_at.is_(None))
    return {name: node_id for name, node_id in await all_rows(session, query)}


def _item(row: Any) -> NodeItem:
    """A row of ``_items`` as a ``NodeItem`` (the project's stage and 竣工 day read as the day from which it is
    finished, if it is)."""
    *fields, stage, finished = row
    return NodeItem(*fields, finished_on=finished_since(stage, finished))


def _items() -> Select[Any]:
    """A select of ``NodeItem``'s columns, in its field order, and the project's stage and 竣工 day last."""
    return (
        select(Project.code, Project.name, Unit.name, Project.lead_official_id, ProjectNode.name,
               ProjectNode.planned_on, ProjectNode.done_on, ProjectNode.note, Project.stage,
               finish_day_of_project())
        .join(Project, Project.id == ProjectNode.project_id)
        .join(Unit, Unit.id == Project.lead_unit_id)
    )
