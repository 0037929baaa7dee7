"""A 包抓领导 back from a leave that named a substitute (代理人) and ran to its last day: told once, the day after,
that his projects' problems are his again, which projects he holds now (and which changed hands during the
leave), what the substitute decided in his place, what went up past his level meanwhile, and what waits at his
level now (what reached it during the leave, or was left undecided, with the acts as buttons:
bot.services.leave_account); the substitute, that he no longer stands in, and which of what waits went back to
the lead (as at 销假). A leave ended early by 销假 tells them at once instead (handlers.leave)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start, local_day
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services import leave_account
from storage import leaves as leave_repo
from storage import outbox
from storage.models import Person

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
        told_of = await leave_account.account(session, person, substitute, since=day_start(leave.start),
                                              until=day_start(leave.end + timedelta(days=1)), now=now)
        waiting = told_of.waiting
        html = renderer.render("leave_back", leave=leave, person=person, substitute=substitute, inbox=waiting,
                               projects=told_of.projects, changes=told_of.projects, gone_up=told_of.gone_up,
                               decided=told_of.decided)
        told = await outbox.enqueue_for_person(session, person_id=person.id,
                                               reply=Reply(html=html, buttons=waiting.action_buttons()),
                                               key=f"leave:{leave.id}:back", now=now)
        count += len(told)
        # The stand-in is told with the lead, not later: a lead told before (his key used, by the code that kept
        # no handled mark) means the stand-in's day has passed.
        if told and substitute.active:
            html = renderer.render("leave_back_stand_in", leave=leave, person=person, inbox=waiting,
                                   projects=told_of.projects)
            count += len(await outbox.enqueue_for_person(session, person_id=substitute.id, reply=Reply(html=html),
                                                         key=f"leave:{leave.id}:back:stand-in", now=now))
    return count
