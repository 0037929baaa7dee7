"""A 包抓领导 back from a leave that named a substitute (代理人) and ran to its last day: told once, the day after,
that his projects' problems are his again, which projects he holds now (handed to or away from him during the
leave as they are at its end), what the substitute decided in his place, what went up past his level meanwhile
(`gone_up_meanwhile`), and what waits at his level now (`held_now`: what reached it during the leave, or was left
undecided, with the acts as buttons); the
substitute, that he no longer stands in, and which of what waits went back to the lead (as at 销假). A leave
ended early by 销假 tells them at once instead (handlers.leave)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start, local_day
from bot.domain.escalation import ACTIVE
from bot.domain.messages import Reply
from bot.domain.problem_numbers import problem_number
from bot.render import Renderer
from bot.services import leader_inbox
from bot.services.leader_inbox import LEAD_LEVEL, LeaderInbox
from storage import leaves as leave_repo
from storage import outbox
from storage import problems as problem_repo
from storage import projects as project_repo
from storage.models import Person, Problem, Project

LOOK_BACK_DAYS = 7  # a leave that ended up to a week ago is still told (the bot was down on the day after)


async def tell_returned(session: AsyncSession, renderer: Renderer, *, now: datetime) -> int:
    """Tell each 包抓领导 whose leave with a substitute has ended, once: its end is then handled
    (`Leave.end_handled_at`), told or not, and not looked at again. The notices queued."""
    today = local_day(now)
    count = 0
    for leave in await leave_repo.leads_ended_unhandled(session, start=today - timedelta(days=LOOK_BACK_DAYS),
                                                        end=today - timedelta(days=1)):
        leave.end_handled_at = now
        person = await session.get(Person, leave.person_id)
        substitute = await session.get(Person, leave.substitute_id) if leave.substitute_id else None
        if person is None or substitute is None or not person.active or "lead" not in person.role_names:
            continue
        decided = await problem_repo.decided_in_place_of(session, lead_id=person.id, substitute_id=substitute.id,
                                                         since=day_start(leave.start))
        projects, waiting = await held_now(session, person)
        gone_up = await gone_up_meanwhile(session, projects, since=day_start(leave.start),
                                          until=day_start(leave.end + timedelta(days=1)))
        html = renderer.render("leave_back", leave=leave, person=person, substitute=substitute, inbox=waiting,
                               projects=projects, gone_up=gone_up,
                               decided=[(problem_number(e.problem_id), e) for e in decided])
        told = await outbox.enqueue_for_person(session, person_id=person.id,
                                               reply=Reply(html=html, buttons=waiting.action_buttons()),
                                               key=f"leave:{leave.id}:back", now=now)
        count += len(told)
        # The stand-in is told with the lead, not later: a lead told before (his key used, by the code that kept
        # no handled mark) means the stand-in's day has passed.
        if told and substitute.active:
            html = renderer.render("leave_back_stand_in", leave=leave, person=person, inbox=waiting,
                                   projects=projects)
            count += len(await outbox.enqueue_for_person(session, person_id=substitute.id, reply=Reply(html=html),
                                                         key=f"leave:{leave.id}:back:stand-in", now=now))
    return count


async def gone_up_meanwhile(session: AsyncSession, projects: Sequence[Project], *, since: datetime, until: datetime
                            ) -> list[Problem]:
    """The open problems of these projects that went up past the 包抓领导's level (to the 区长 or above) from `since`
    to `until`, while he was away: he heard nothing of them, and their next notice would be his first. What went up
    after his return (told late, the bot having been down) is not of the leave."""
    if not projects:
        return []
    query = (select(Problem).where(Problem.project_id.in_([p.id for p in projects]), Problem.status.in_(ACTIVE),
                                   Problem.level > LEAD_LEVEL, Problem.level_started_at >= since,
                                   Problem.level_started_at < until)
             .order_by(Problem.id))
    return list((await session.scalars(query)).unique().all())


async def held_now(session: AsyncSession, lead: Person) -> tuple[list[Project], LeaderInbox]:
    """The projects the 包抓领导 holds now that he holds his level again (those handed to or away from him during
    the leave as they are now), and what waits at his level on them: the problems at his level and the extension
    requests his level decides, whenever they came (sent to his stand-in during the leave, or before it and left
    undecided)."""
    projects = await project_repo.projects_led_by(session, lead_ids=[lead.id])
    return projects, await leader_inbox.waiting_on(session, project_ids=[p.id for p in projects])
