"""A 包抓领导's projects changing hands while he is away with a stand-in (代理人): his stand-in told, as the change
is made (`/handover`, `/project_set … 包抓领导`). Projects given to the lead are his to stand in for from that
moment, with what waits at the lead's level on them and its acts as buttons (the lead's own notice reaches someone
away); projects taken from the lead are no longer, and he is told whom what waits on them goes to now; one who
stands in for both the lead they leave and the lead they go to is told once (`tell_stand_ins`). Each notice is
keyed by the change's audit entry: two changes in one instant are two notices."""

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


async def tell_stand_ins(session: AsyncSession, renderer: Renderer, *, giver: Person | None, taker: Person,
                         projects: Sequence[Project], before: str | None, change: int, now: datetime
                         ) -> tuple[Person | None, Person | None]:
    """Projects just handed from `giver` (their 包抓领导 before, if any; `before`: his name as said) to `taker`:
    the stand-ins of either, when away, are told (`tell_stand_in_of_projects`,
    `tell_stand_in_of_projects_taken`); one who stands in for both is told once, that he holds them still, now
    for `taker`, with what waits on them and its acts as buttons, and what he still holds for `giver`. The
    stand-ins told: `taker`'s, `giver`'s."""
    taker_held = await stand_in_of(session, taker, now=now) if projects else None
    giver_held = await stand_in_of(session, giver, now=now) if projects and giver is not None else None
    if giver is None or taker_held is None or giver_held is None \
            or taker_held.substitute.id != giver_held.substitute.id:
        given = await tell_stand_in_of_projects(session, renderer, lead=taker, projects=projects, before=before,
                                                change=change, now=now)
        taken = None if giver is None else await tell_stand_in_of_projects_taken(
            session, renderer, lead=giver, projects=projects, taker=taker, change=change, now=now)
        return given, taken
    inbox = await leader_inbox.waiting_on(session, project_ids=[p.id for p in projects])
    remaining = await project_repo.projects_led_by(session, lead_ids=[giver.id])
    html = renderer.render("leave_stand_in_projects_moved", leave=giver_held.leave, person=giver, projects=projects,
                           taker=taker, taker_leave=taker_held.leave, inbox=inbox, remaining=remaining)
    await outbox.enqueue_for_person(session, person_id=giver_held.substitute.id, now=now,
                                    key=f"leave:{giver_held.leave.id}:projects-taken:change{change}",
                                    reply=Reply(html=html, buttons=inbox.action_buttons()))
    return taker_held.substitute, giver_held.substitute
