"""Repository functions for the 前期手续 checklist of a project (one row per item that was ever set)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProjectApproval

# The checklist, in the order the procedures are usually done (and shown).
ITEMS = ("立项", "规划选址", "用地预审", "环评", "能评", "初步设计", "施工许可", "征地拆迁")
PENDING, DONE = "pending", "done"


@dataclass(frozen=True)
class ChecklistItem:
    """One line of a project's checklist as shown: the item, whether it is done, and since when."""

    item: str
    done: bool
    done_on: date | None
    recorded: bool  # False: nobody set this item yet (shown as pending)


async def approvals_of(session: AsyncSession, *, project_id: int) -> dict[str, ProjectApproval]:
    """The recorded items of a project, by item name."""
    rows = await session.scalars(select(ProjectApproval).where(ProjectApproval.project_id == project_id))
    return {row.item: row for row in rows.all()}


async def checklist(session: AsyncSession, *, project_id: int,
                    items: Collection[str] = ITEMS) -> list[ChecklistItem]:
    """Every checklist item of a project in `ITEMS` order; items never set count as pending."""
    recorded = await approvals_of(session, project_id=project_id)
    lines = []
    for item in ITEMS:
        if item not in items:
            continue
        row = recorded.get(item)
        if row is None:
            lines.append(ChecklistItem(item=item, done=False, done_on=None, recorded=False))
        else:
            lines.append(ChecklistItem(item=item, done=row.status == DONE, done_on=row.done_on,
                                       recorded=True))
    return lines


async def set_approval(session: AsyncSession, *, project_id: int, item: str, status: str,
                       done_on: date | None, now: datetime, by: str
                       ) -> tuple[ProjectApproval, tuple[str, date | None] | None]:
    """Record an item as done (on `done_on`) or pending; returns the row and what it was before (None when
    the item had never been set)."""
    if item not in ITEMS:
        raise ValueError(f"unknown checklist item {item!r}")
    if status not in (PENDING, DONE):
        raise ValueError(f"unknown status {status!r}")
    row = await session.scalar(select(ProjectApproval).where(ProjectApproval.project_id == project_id,
                                                             ProjectApproval.item == item))
    before = None if row is None else (row.status, row.done_on)
    if row is None:
        row = ProjectApproval(project_id=project_id, item=item)
        session.add(row)
    row.status = status
    row.done_on = done_on if status == DONE else None
    row.updated_at, row.updated_by = now, by
    await session.flush()
    return row, before
