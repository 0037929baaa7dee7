"""Extension requests (延期申请): a unit promises a date after the problem's resolution deadline.

The request is an event in the problem's history (`extension_requested`, with the day); the holders of
the next level up (the project's 包抓领导 for a problem at the unit, 区长 for a meeting decision; at the
top, the top level itself) get it with 同意延期 / 不同意 buttons. Approving moves the resolution deadline
to the end of that day and makes it the promised date; refusing (with a reason, kept as the event's text)
leaves the deadline as it was. Either way the unit and the raiser are told, a refusal with its reason. A
request is decided once: the latest one without a decision after it is the pending one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain.escalation import ACTIVE, TOP_LEVEL, SlaPolicy, deadline_set_anew, next_level
from bot.domain.messages import Button
from bot.domain.promises import end_of, on_working_day
from bot.render import label
from bot.services.problems import ProblemDeps, _context, _notify, _schedule, _watchers, mark_estimated
from bot.services.reassignment import DONE as MOVED
from storage import people as people_repo
from storage import problems as repo
from storage.models import Person, Problem, ProblemEvent

REQUESTED, APPROVED, REFUSED = "extension_requested", "extension_approved", "extension_refused"
ESCALATED = "escalated"  # bot.services.problems' event of a problem going up a level
LAPSED_BY = frozenset({APPROVED, REFUSED, MOVED, ESCALATED})  # events after which no request waits


def extension_buttons(problem: Problem) -> list[list[Button]]:
    return [[Button(label("extension_yes"), f"pb:exy:{problem.id}"),
             Button(label("extension_no"), f"pb:exn:{problem.id}")]]


async def deciders(session: AsyncSession, problem: Problem, *, day: date, asker: Person | None = None
                   ) -> list[Person]:
    """Who decides a request on `day`: the holders of the next level up (a 包抓领导's substitute during his
    leave: storage.problems.level_holders; the top level decides its own), never the one
    who asked (`asker`): a unit's handler who is also the project's 包抓领导 does not approve his own request, the
    level above his decides it (the admins at the top)."""
    skipped = repo.problem_skipped_levels(problem)
    level = next_level(problem.level, skipped)
    while True:
        holders = await repo.level_holders(session, problem=problem, level=level, day=day)
        others = [p for p in holders if asker is None or p.id != asker.id]
        if others:
            return others
        if level >= TOP_LEVEL:
            admins = await people_repo.people_with_role(session, role="admin")
            return [p for p in admins if p.id != asker.id] if asker is not None else admins
        level = next_level(level, skipped)


async def pending_request(session: AsyncSession, problem: Problem) -> ProblemEvent | None:
    """The request still waiting for a decision, if any. A request lapses when the problem is moved to another
    unit (改派: the new unit starts on fresh clocks, and the old unit's request is not its own) or goes up a
    level (the deadline it asked to move has passed undecided, and those asked to decide are no longer the
    level above the problem's)."""
    return waiting_in(await repo.history(session, problem_id=problem.id))


def waiting_in(history: Iterable[ProblemEvent]) -> ProblemEvent | None:
    """`pending_request` read from a problem's history the caller has (its events in order)."""
    pending: ProblemEvent | None = None
    for event in history:
        if event.kind == REQUESTED:
            pending = event
        elif event.kind in LAPSED_BY:
            pending = None
    return pending


async def request(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, day: date,
                  reason: str, now: datetime) -> ProblemEvent:
    """The unit asks to move the deadline to `day`; the next level gets the buttons."""
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind=REQUESTED, actor_id=actor.id, text=reason,
                                 detail={"day": day.isoformat(),
                                         "due_at": problem.resolution_due_at.isoformat()
                                         if problem.resolution_due_at else None})
    asked = await deciders(session, problem, day=local_day(now), asker=actor)
    await _notify(session, deps, asked, template="problem_extension_request",
                  key=f"problem:{problem.id}:e{event.id}", now=now, buttons=extension_buttons(problem),
                  event=event, actor=actor, day=day, **await _context(session, problem))
    return event


async def decide(session: AsyncSession, deps: ProblemDeps, problem: Problem, pending: ProblemEvent, *,
                 actor: Person, approve: bool, now: datetime, reason: str = "") -> ProblemEvent:
    """Approve (the deadline becomes the end of the asked day, the promised date that day) or refuse. A day
    that has become a rest day since it was asked (the calendar was entered meanwhile) moves to the next working
    day, as it would have when asked (bot.domain.promises.on_working_day). An extension never shortens the
    deadline: one that has become later since the request (counted again on the calendar entered meanwhile, or
    afresh when the problem was sent back to work) stays, and the asked day is the promised date."""
    asked = date.fromisoformat(pending.detail["day"])
    day = on_working_day(deps.calendar, asked).day if approve else asked
    if approve and problem.status in ACTIVE:
        policy = SlaPolicy.from_json(problem.policy)
        extended = end_of(day, policy.end_of_day)
        if problem.resolution_due_at is None or extended > problem.resolution_due_at:
            problem.resolution_due_at = extended
            # The mark is the new deadline's: in a year still estimated it is set, in an official one cleared.
            mark_estimated(problem, deps, resolution=deps.calendar.is_estimated(day))
            # The new deadline gets its own reminder and overdue notice: one approved after the old one was
            # reported overdue clears that mark, as one approved before it would have.
            problem.nudged = deadline_set_anew(problem.nudged or [], "resolution", problem.level)
        problem.promised_date = day
        _schedule(problem, deps, now)
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind=APPROVED if approve else REFUSED,
                                 actor_id=actor.id, text=reason, detail={
                                     "day": day.isoformat(), **({"asked": asked.isoformat()} if day != asked else {}),
                                     **await repo.stood_in_for(session, problem, actor, day=local_day(now))})
    unit = await people_repo.unit_handlers(session, unit_id=problem.unit_id)
    told = {p.id: p for p in [*unit, *await _watchers(session, problem, exclude=actor, now=now)]}
    await _notify(session, deps, told.values(), template="problem_extension_decided",
                  key=f"problem:{problem.id}:e{event.id}", now=now, event=event, actor=actor, day=day,
                  approved=approve, **await _context(session, problem))
    return event
