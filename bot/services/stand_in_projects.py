"""A 包抓领导's projects changing hands while he is away with a stand-in (代理人): his stand-in told, as the change
is made (`/handover`, `/project_set … 包抓领导`). Projects given to the lead are his to stand in for from that
moment, with what waits at the lead's level on them and its acts as buttons (the lead's own notice reaches someone
away); projects taken from the lead are no longer, and he is told whom what waits on them goes to now. Each notice
is keyed by the change's audit entry: two changes in one instant are two notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services import leader_inbox
from storage import leaves as leave_repo
from storage import outbox
from storage import projects as project_repo
from storage.models import Leave, Person, Project


@dataclass(frozen=True)
class StandIn:
    """A 包抓领导's leave running today and the active stand-in holding his level."""

    leave: Leave
    substitute: Person


async def stand_in_of(session: AsyncSession, lead: Person, *, now: datetime) -> StandIn | None:
    """Who holds `lead`'s level today in his place: the stand-in of his leave running today, if any."""
    today = local_day(now)
    for leave in await leave_repo.current_leaves(session, today=today, person_id=lead.id):
        if leave.start <= today and leave.substitute_id is not None:
            substitute = await session.get(Person, leave.substitute_id)
            return StandIn(leave, substitute) if substitute is not None and substitute.active else None
    return None


async def tell_stand_in_of_projects(session: AsyncSession, renderer: Renderer, *, lead: Person,
                                    projects: Sequence[Project], before: str | None, change: int,
                                    now: datetime) -> Person | None:
    """Projects just given to `lead` (from `before`, the 包抓领导 they had, when one; `change`: the audit entry of
    the change): when he is away with a stand-in, the stand-in is told they are now his to stand in for, with what
    waits at the lead's level on them and its acts as buttons. The stand-in told, if any."""
    held = await stand_in_of(session, lead, now=now) if projects else None
    if held is None:
        return None
    inbox = await leader_inbox.waiting_on(session, project_ids=[p.id for p in projects])
    html = renderer.render("leave_stand_in_projects", leave=held.leave, person=lead, projects=projects,
                           before=before, inbox=inbox)
    await outbox.enqueue_for_person(session, person_id=held.substitute.id, now=now,
                                    key=f"leave:{held.leave.id}:projects:change{change}",
                                    reply=Reply(html=html, buttons=inbox.action_buttons()))
    return held.substitute


async def tell_stand_in_of_projects_taken(session: AsyncSession, renderer: Renderer, *, lead: Person,
                                          projects: Sequence[Project], taker: Person, change: int,
                                          now: datetime) -> Person | None:
    """Projects just taken from `lead` and given to `taker` (`change`: the audit entry of the change): when `lead`
    is away with a stand-in, the stand-in is told he no longer stands in for them, why, whom what waits on them
    goes to now (`taker`, or his own stand-in when he is away too), and which of the lead's projects he still
    holds for him. The stand-in told, if any."""
    held = await stand_in_of(session, lead, now=now) if projects else None
    if held is None:
        return None
    inbox = await leader_inbox.waiting_on(session, project_ids=[p.id for p in projects])
    taker_away = await stand_in_of(session, taker, now=now) if taker.id != held.substitute.id else None
    remaining = await project_repo.projects_led_by(session, lead_ids=[lead.id])
    html = renderer.render("leave_stand_in_projects_taken", leave=held.leave, person=lead, projects=projects,
                           taker=taker, me=held.substitute, taker_away=taker_away, inbox=inbox,
                           remaining=remaining)
    await outbox.enqueue_for_person(session, person_id=held.substitute.id, now=now,
                                    key=f"leave:{held.leave.id}:projects-taken:change{change}", reply=Reply(html=html))
    return held.substitute
