"""What waits for a 包抓领导 on some of his projects: the problems at his level (上报至包抓领导, for his 批示 or
coordination) and the extension requests he decides (those of the problems still at the unit). Told to whoever
takes the projects over (`/handover`, `/project_set … 包抓领导`), so that nothing escalated to the one who left waits
unseen, and to the stand-in of a 包抓领导 on leave: always with the acts themselves (`LeaderInbox.action_buttons`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.messages import Button
from bot.render import label
from bot.services import extensions
from bot.services.problems import leader_buttons, raiser_buttons
from storage import problems as repo
from storage.models import Problem, ProblemEvent

LEAD_LEVEL = 1  # the 包抓领导's (bot.domain.escalation.LEVEL_NAMES)
RESOLVED = "resolved"  # reported solved by the unit: waits for its raiser's 确认销号 or 未解决
BUTTONS_MAX = 6  # problems offered as buttons under the notice (a WeCom card holds 6); /issues has them all


@dataclass
class LeaderInbox:
    at_his_level: list[Problem] = field(default_factory=list)
    extensions: list[Problem] = field(default_factory=list)
    requests: dict[int, ProblemEvent] = field(default_factory=dict)  # problem id → its waiting extension request

    @property
    def empty(self) -> bool:
        return not (self.at_his_level or self.extensions)

    def asked(self, problem: Problem) -> date:
        """The day the waiting extension request of one of `extensions` asks for."""
        return date.fromisoformat(self.requests[problem.id].detail["day"])

    def action_buttons(self, *, raised: Sequence[Problem] = ()) -> tuple[tuple[Button, ...], ...]:
        """A row for each waiting problem (the first BUTTONS_MAX) with the acts its card offers a holder of the
        包抓领导's level, named by its number: 批示 on one at his level, 同意延期 / 不同意 on an extension request;
        then its 详情. With `raised` (the problems whose raiser he now is: /handover), a row too for each of them
        reported solved, with the raiser's 确认销号 / 未解决, in the room left. They are the card's buttons (the same
        data): pressed, the same router and scope checks decide, as of the day they are pressed."""
        rows = [numbered(p, leader_buttons(p)) for p in self.at_his_level]
        rows += [numbered(p, extensions.extension_buttons(p)) for p in self.extensions]
        rows += [numbered(p, raiser_buttons(p)) for p in raised if p.status == RESOLVED]
        return tuple(rows[:BUTTONS_MAX])


def numbered(problem: Problem, acts: list[list[Button]]) -> tuple[Button, ...]:
    """The acts on a problem (rows of its card's buttons) labelled with its number (「W0001 同意延期」), and its 详情
    opening the card."""
    show = f"pb:show:{problem.id}"
    return (*(Button(label("problem_act", problem.number, b.label), b.data) for row in acts for b in row
              if b.data != show),
            Button(label("problem", problem.number), show))


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
                inbox.requests[problem.id] = pending
    return inbox
