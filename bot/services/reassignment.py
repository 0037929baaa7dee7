"""Reassignment (改派): a unit asks for it, the 项目办 decides; or an admin moves a problem directly.

A request is an event in the problem's history (`reassign_requested`, with the reason). The admins get it
with 同意改派 / 驳回 buttons; the project's 包抓领导 is told (he does not decide: the 项目办 holds the list
of units). 同意改派 is followed by the choice of the unit; 驳回 by the reason. Either way the outcome closes
the request (a `reassigned` or `reassign_refused` event after it), the unit and the lead official hear it,
and a later press of a button of the same request answers with what was decided. An admin's `/assign`
moves the problem too, and also answers a request pending then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain.messages import Button
from bot.render import label
from bot.services.problems import ProblemDeps, _context, _notify, _start_level, _watchers, unit_buttons
from storage import people as people_repo
from storage import problems as repo
from storage import units as unit_repo
from storage.models import Person, Problem, ProblemEvent, Unit

REQUESTED, DONE, REFUSED = "reassign_requested", "reassigned", "reassign_refused"
UNIT_BUTTONS_MAX = 30  # units offered as buttons when an admin approves; others by /assign


def decision_buttons(problem: Problem) -> list[list[Button]]:
    return [[Button(label("reassign_yes"), f"ra:y:{problem.id}"), Button(label("reassign_no"), f"ra:n:{problem.id}")]]


@dataclass(frozen=True)
class RequestState:
    """The latest request of a problem and what became of it: `decision` is None while it is pending."""

    request: ProblemEvent
    decision: ProblemEvent | None

    @property
    def pending(self) -> bool:
        return self.decision is None


async def latest_request(session: AsyncSession, problem: Problem) -> RequestState | None:
    """The problem's latest reassignment request and its outcome (None if it never had one)."""
    state: RequestState | None = None
    for event in await repo.history(session, problem_id=problem.id):
        if event.kind == REQUESTED:
            state = RequestState(event, None)
        elif event.kind in {DONE, REFUSED} and state is not None and state.pending:
            state = RequestState(state.request, event)
    return state


async def pending_request(session: AsyncSession, problem: Problem) -> ProblemEvent | None:
    state = await latest_request(session, problem)
    return state.request if state is not None and state.pending else None


async def _lead(problem: Problem) -> list[Person]:
    lead = problem.project.lead_official if problem.project is not None else None
    return [lead] if lead is not None and lead.active else []


async def request(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, reason: str,
                  now: datetime) -> ProblemEvent:
    """The unit asks for the problem to go elsewhere: the admins decide (buttons), the 包抓领导 is told."""
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind=REQUESTED, actor_id=actor.id, text=reason)
    context = {**await _context(session, problem), "event": event, "actor": actor}
    admins = await people_repo.people_with_role(session, role="admin")
    key = f"problem:{problem.id}:e{event.id}"
    await _notify(session, deps, admins, template="problem_reassign_request", key=key, now=now,
                  buttons=decision_buttons(problem), deciding=True, **context)
    admin_ids = {p.id for p in admins}
    await _notify(session, deps, [p for p in await _lead(problem) if p.id not in admin_ids],
                  template="problem_reassign_request", key=f"{key}:lead", now=now, deciding=False, **context)
    return event


async def unit_choices(session: AsyncSession, problem: Problem) -> tuple[list[Unit], int]:
    """The units an admin may give the problem to, as buttons: the project's own units first (牵头 and
    配合), then the others by name, at most UNIT_BUTTONS_MAX; and how many more there are."""
    own = [] if problem.project is None else [problem.project.lead_unit, *(s.unit for s in problem.project.supporting)]
    units = {u.id: u for u in [*own, *await unit_repo.units_by_name(session)] if u.id != problem.unit_id}
    choices = list(units.values())
    return choices[:UNIT_BUTTONS_MAX], max(len(choices) - UNIT_BUTTONS_MAX, 0)


async def reassign(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person,
                   unit: Unit, reason: str, now: datetime) -> tuple[ProblemEvent, list[Person]]:
    """Give the problem to `unit`: back to level 0 and "open" with fresh clocks (the old unit's answer and
    promised date no longer hold), a "reassigned" history event, the new unit's handlers told with the unit
    buttons (and the leaders' 批示 so far), the old unit's handlers and everyone on the problem (the raiser, the
    levels it reached, the leaders who wrote 批示; the 包抓领导 also when the unit had asked) told it moved.
    Returns the event and the new holders.

    Clocks, notice context and notices are the problem service's own helpers, so a reassigned problem runs on
    exactly the rules of a new one."""
    asked = await pending_request(session, problem)
    # the levels it reached, the leaders who wrote 批示
    on_it = await _watchers(session, problem, exclude=actor, now=now)
    old_unit = problem.unit
    old_handlers = await people_repo.unit_handlers(session, unit_id=old_unit.id)
    from_level = problem.level
    problem.unit_id, problem.unit = unit.id, unit
    problem.level, problem.status, problem.nudged = 0, "open", []
    problem.answer_text, problem.promised_date, problem.updated_at = None, None, now
    _start_level(problem, deps, now)
    await session.flush()
    detail: dict[str, object] = {"from": old_unit.name, "to": unit.name, "from_level": from_level}
    if asked is not None:
        detail["request"] = asked.id
    event = await repo.add_event(session, problem=problem, at=now, kind=DONE, actor_id=actor.id, text=reason,
                                 detail=detail)
    context = {**await _context(session, problem), "event": event, "old_unit": old_unit.name}
    holders = await repo.level_holders(session, problem=problem, level=0, day=local_day(now))
    key = f"problem:{problem.id}:e{event.id}"
    await _notify(session, deps, holders, template="admin_project_assigned", key=key, now=now,
                  buttons=unit_buttons(problem), **context)
    told = {p.id for p in holders} | {actor.id}
    lead = await _lead(problem) if asked is not None else []
    others = {p.id: p for p in [*old_handlers, *lead, *on_it] if p.id not in told}
    await _notify(session, deps, others.values(), template="admin_project_reassigned",
                  key=f"{key}:moved", now=now, **context)
    return event, holders


async def refuse(session: AsyncSession, deps: ProblemDeps, problem: Problem, asked: ProblemEvent, *,
                 actor: Person, reason: str, now: datetime) -> ProblemEvent:
    """驳回: the problem stays with its unit, on its clocks; the unit's handlers and the 包抓领导 are told why."""
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind=REFUSED, actor_id=actor.id, text=reason,
                                 detail={"request": asked.id})
    context = {**await _context(session, problem), "event": event, "actor": actor}
    unit = await people_repo.unit_handlers(session, unit_id=problem.unit_id)
    told = {p.id: p for p in [*unit, *await _lead(problem)] if p.id != actor.id}
    unit_ids = {p.id for p in unit}
    key = f"problem:{problem.id}:e{event.id}"
    # The unit keeps the problem: its notice carries the buttons to go on with it.
    await _notify(session, deps, [p for p in told.values() if p.id in unit_ids],
                  template="problem_reassign_refused", key=key, now=now, buttons=unit_buttons(problem), **context)
    await _notify(session, deps, [p for p in told.values() if p.id not in unit_ids],
                  template="problem_reassign_refused", key=f"{key}:lead", now=now, **context)
    return event
