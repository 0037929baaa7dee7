"""A 包抓领导's stand-in (代理人) told, when the leave begins, what already waits at the lead's level on his projects:
the problems gone up to the lead and the extension requests sent for his decision before the leave took effect
(those reaching the level during the leave go to the stand-in himself). One notice per leave (its key), carrying
the acts each problem's card offers him (批示, 同意延期 / 不同意) and a button opening the card: by the escalation
tick from the leave's first day, or at once when the leave is entered starting today (handlers.leave). Projects
given to a 包抓领导 while he is away (`/handover`, `/project_set … 包抓领导`) are told to his stand-in too, with what
waits on them: the stand-in holds the level they bring."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start, local_day
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services import leader_inbox
from storage import leaves as leave_repo
from storage import outbox
from storage import projects as project_repo
from storage.models import Leave, Person

LOOK_BACK_DAYS = 7  # a leave begun up to a week ago is still told (the bot was down on its first day)


def notice_key(leave: Leave) -> str:
    return f"leave:{leave.id}:start"


async def tell_stand_ins(session: AsyncSession, renderer: Renderer, *, now: datetime) -> int:
    """Tell the stand-in of each 包抓领导's leave running today, begun lately and not handled yet, what waits for
    him; the notices queued. A leave is looked at once: what waited is fixed when it took effect."""
    today = local_day(now)
    count = 0
    for leave in await leave_repo.leads_begun_unhandled(session, since=today - timedelta(days=LOOK_BACK_DAYS),
                                                        day=today):
        count += await tell_stand_in(session, renderer, leave, now=now)
    return count


async def tell_stand_in(session: AsyncSession, renderer: Renderer, leave: Leave, *, now: datetime) -> int:
    """Tell the stand-in of this leave (begun) what waited for the 包抓领导 when it took effect (its first day, or
    when it was entered, if later); nothing when nothing waits. Its start is then handled
    (`Leave.start_handled_at`), told or not. The notices queued (none when told before)."""
    leave.start_handled_at = now
    person = await session.get(Person, leave.person_id)
    substitute = await session.get(Person, leave.substitute_id) if leave.substitute_id else None
    if (person is None or substitute is None or not person.active or not substitute.active
            or "lead" not in person.role_names):
        return 0
    projects = await project_repo.projects_led_by(session, lead_ids=[person.id])
    inbox = await leader_inbox.waiting_on(session, project_ids=[p.id for p in projects],
                                          before=max(day_start(leave.start), leave.created_at))
    if inbox.empty:
        return 0
    html = renderer.render("leave_stand_in_start", leave=leave, person=person, inbox=inbox)
    return len(await outbox.enqueue_for_person(session, person_id=substitute.id, key=notice_key(leave), now=now,
                                               reply=Reply(html=html, buttons=inbox.action_buttons())))

