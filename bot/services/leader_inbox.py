"""What waits for a 包抓领导 on some of his projects: the problems at his level (上报至包抓领导, for his 批示 or
coordination) and the extension requests he decides (those of the problems still at the unit). Told to whoever
takes the projects over (`/handover`, `/project_set … 包抓领导`), so that nothing escalated to the one who left waits
unseen."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.messages import Button
from bot.render import label
from bot.services import extensions
from storage import problems as repo
from storage.models import Problem

LEAD_LEVEL = 1  # the 包抓领导's (bot.domain.escalation.LEVEL_NAMES)
BUTTONS_MAX = 6  # problems offered as buttons under the notice (a WeCom card holds 6); /issues has them all


@dataclass
class LeaderInbox:
    at_his_level: list[Problem] = field(default_factory=list)
    extensions: list[Problem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.at_his_level or self.extensions)

    def buttons(self) -> tuple[tuple[Button, ...], ...]:
        """A button opening each waiting problem's card (the first BUTTONS_MAX), where he acts on it."""
        waiting = [*self.at_his_level, *self.extensions][:BUTTONS_MAX]
        return tuple((Button(label("problem", p.number), f"pb:show:{p.id}"),) for p in waiting)


async def waiting_on(session: AsyncSession, *, project_ids: Collection[int], before: datetime | None = None
                     ) -> LeaderInbox:
    """The active problems of these projects at the 包抓领导's level, and those at the unit whose extension
    request waits for his decision, by number; with `before`, only those that reached his level, or whose
    request was made, before then (what was sent to him, and waits)."""
    inbox = LeaderInbox()
    if not project_ids:
        return inbox
    query = (select(Problem).where(Problem.project_id.in_(list(project_ids)), Problem.status.in_(ACTIVE))
             .order_by(Problem.id))
    problems = list((await session.scalars(query)).unique().all())
    histories = await repo.histories(session, problem_ids=[p.id for p in problems if p.level < LEAD_LEVEL])
    for problem in problems:
        if problem.level == LEAD_LEVEL:
            if before is None or problem.level_started_at < before:
                inbox.at_his_level.append(problem)
        elif problem.level < LEAD_LEVEL:
            pending = extensions.waiting_in(histories[problem.id])
            if pending is not None and (before is None or pending.at < before):
                inbox.extensions.append(problem)
    return inbox
