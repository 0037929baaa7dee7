"""A project's milestones (节点) as /project, the web project page and the project's chart show them: the nodes on
a timeline with their state on the day, and this year's node punctuality (the score's node part)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.node_lists import TimelineNode, timeline, year_count
from storage.node_queries import project_nodes


@dataclass(frozen=True)
class ProjectTimeline:
    """A project's nodes in planned order, and how many of this year's counted ones were done on time."""

    nodes: list[TimelineNode]
    on_time: int
    counted: int

    @property
    def punctuality(self) -> float | None:
        return self.on_time / self.counted if self.counted else None

    @property
    def behind(self) -> int:
        """Nodes overdue now or done late."""
        return sum(1 for n in self.nodes if n.behind)


async def project_timeline(session: AsyncSession, *, project_id: int, today: date) -> ProjectTimeline:
    items = await project_nodes(session, project_id=project_id, today=today)
    on_time, counted = year_count(items, today)
    return ProjectTimeline(timeline(items, today), on_time, counted)
