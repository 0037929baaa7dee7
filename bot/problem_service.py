"""Problem lifecycle: raise, accept, answer, reassign request, resolve, confirm, reopen, 批示, escalate.

Each operation changes the problem, appends to its history, and writes the notices it causes to the
outbox, all in the caller's transaction. Handlers check who may do what; the escalation job calls
`apply_tick`. Rules about time live in bot.domain.escalation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import (
    LEVEL_NAMES,
    Decision,
    Escalate,
    Nudge,
    Overdue,
    ProblemClock,
    SlaPolicy,
    clocks_for_level,
    decide,
)
from bot.domain.workdays import WorkCalendar
from bot.messages import Button, Reply
from bot.render import Renderer
from storage import outbox
from storage import problems as repo
from storage.models import Person, Problem, ProblemPhoto, Project, Unit


@dataclass
class ProblemDeps:
    """What problem operations need besides the session: rules in force and the template renderer."""

    calendar: WorkCalendar
    policy: SlaPolicy
    renderer: Renderer


def unit_buttons(problem: Problem) -> list[list[Button]]:
    pid = problem.id
    return [[Button("受理", f"pb:acc:{pid}"), Button("答复", f"pb:ans:{pid}")],
            [Button("申请改派", f"pb:rea:{pid}"), Button("已解决", f"pb:rsv:{pid}")]]


def leader_buttons(problem: Problem) -> list[list[Button]]:
    return [[Button("批示", f"pb:cmt:{problem.id}"), Button("查看详情", f"pb:show:{problem.id}")]]


def raiser_buttons(problem: Problem) -> list[list[Button]]:
    return [[Button("确认销号", f"pb:cfm:{problem.id}"), Button("未解决", f"pb:rop:{problem.id}")]]


def buttons_for_level(problem: Problem, level: int) -> list[list[Button]]:
    return unit_buttons(problem) if level == 0 else leader_buttons(problem)


async def _notify(session: AsyncSession, deps: ProblemDeps, people: Iterable[Person], *, template: str,
                  key: str, now: datetime, buttons: list[list[Button]] | None = None, **context: Any) -> None:
    html = deps.renderer.render(template, **context)
    reply = Reply(html=html, buttons=tuple(tuple(row) for row in (buttons or [])))
    for person in people:
        await outbox.enqueue_for_person(session, person_id=person.id, reply=reply, key=f"{key}:p{person.id}",
                                        now=now)


async def _context(session: AsyncSession, problem: Problem) -> dict[str, Any]:
    return {"problem": problem, "history": await repo.history(session, problem_id=problem.id),
            "level_names": LEVEL_NAMES}


def _start_level(problem: Problem, deps: ProblemDeps, now: datetime) -> None:
    """Give the problem fresh clocks at its current level."""
    policy = SlaPolicy.from_json(problem.policy)
    clocks = clocks_for_level(policy, deps.calendar, category=problem.category, level=problem.level,
                              started_at=now)
    problem.level_started_at = now
    problem.response_due_at = clocks.response.at
    problem.resolution_due_at = clocks.resolution.at
    problem.due_estimated = clocks.estimated
    _schedule(problem, deps, now)


def _schedule(problem: Problem, deps: ProblemDeps, now: datetime) -> Decision:
    decision = decide(_clock(problem), now, calendar=deps.calendar, policy=SlaPolicy.from_json(problem.policy))
    problem.next_check_at = decision.next_check_at
    return decision


def _clock(problem: Problem) -> ProblemClock:
    return ProblemClock(status=problem.status, level=problem.level, response_due_at=problem.response_due_at,
                        resolution_due_at=problem.resolution_due_at, nudged=frozenset(problem.nudged or ()),
                        level_started_at=problem.level_started_at)


async def raise_problem(session: AsyncSession, deps: ProblemDeps, *, project: Project, raiser: Person,
                        category: str, text: str, unit: Unit, photos: Iterable[tuple[str, str]],
                        now: datetime) -> Problem:
    """A liaison raises a problem; the unit's handlers are told at once, with buttons."""
    problem = Problem(project_id=project.id, raised_by_id=raiser.id, unit_id=unit.id, category=category,
                      text=text, status="open", level=0, policy=deps.policy.to_json(), level_started_at=now,
                      nudged=[], created_at=now, updated_at=now,
                      photos=[ProblemPhoto(channel=c, file_id=f) for c, f in photos])
    session.add(problem)
    await session.flush()
    await session.refresh(problem, ["project", "unit", "raised_by"])
    _start_level(problem, deps, now)
    await repo.add_event(session, problem=problem, at=now, kind="raised", actor_id=raiser.id, text=text,
                         detail={"unit": unit.name, "category": category})
    handlers = await repo.level_holders(session, problem=problem, level=0)
    await _notify(session, deps, handlers, template="problem_new", key=f"problem:{problem.id}:new", now=now,
                  buttons=unit_buttons(problem), **await _context(session, problem))
    return problem


async def accept(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person,
                 now: datetime) -> None:
    problem.status = "accepted"
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind="accepted", actor_id=actor.id)
    _schedule(problem, deps, now)
    await _notify(session, deps, [problem.raised_by], template="problem_update", now=now,
                  key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
                  **await _context(session, problem))


async def answer(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, text: str,
                 promised: date | None, now: datetime) -> None:
    problem.status = "answered"
    problem.answer_text, problem.promised_date, problem.updated_at = text, promised, now
    event = await repo.add_event(session, problem=problem, at=now, kind="answered", actor_id=actor.id, text=text,
                                 detail={"promised": promised.isoformat() if promised else None})
    _schedule(problem, deps, now)
    await _notify(session, deps, await _watchers(session, problem, exclude=actor), template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
                  **await _context(session, problem))


async def request_reassign(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person,
                           reason: str, now: datetime) -> None:
    """The unit asks the admins and the lead official to assign the problem elsewhere."""
    event = await repo.add_event(session, problem=problem, at=now, kind="reassign_requested", actor_id=actor.id,
                                 text=reason)
    deciders = {p.id: p for p in await repo.people_with_role(session, role="admin")}
    lead = problem.project.lead_official
    if lead is not None:
        deciders.setdefault(lead.id, lead)
    await _notify(session, deps, deciders.values(), template="problem_update", now=now,
                  key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
                  **await _context(session, problem))


async def resolve(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, note: str,
                  now: datetime) -> None:
    """The unit says it is solved; the clocks stop and the raiser is asked to confirm (销号)."""
    problem.status = "resolved"
    problem.updated_at = now
    problem.next_check_at = None
    event = await repo.add_event(session, problem=problem, at=now, kind="resolved", actor_id=actor.id, text=note)
    context = await _context(session, problem)
    await _notify(session, deps, [problem.raised_by], template="problem_resolved", now=now,
                  key=f"problem:{problem.id}:e{event.id}", buttons=raiser_buttons(problem), event=event,
                  actor=actor, **context)
    others = [p for p in await _watchers(session, problem, exclude=actor) if p.id != problem.raised_by_id]
    await _notify(session, deps, others, template="problem_update", now=now,
                  key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor, **context)


async def confirm(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, as_admin: bool,
                  now: datetime) -> None:
    """销号: only the raiser (or an admin, recorded as such) closes a problem."""
    problem.status = "closed"
    problem.closed_at = problem.updated_at = now
    problem.next_check_at = None
    event = await repo.add_event(session, problem=problem, at=now, kind="closed", actor_id=actor.id,
                                 detail={"as_admin": as_admin})
    await _notify(session, deps, await _watchers(session, problem, exclude=actor), template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
                  **await _context(session, problem))


async def reopen(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, reason: str,
                 now: datetime) -> None:
    """未解决: back to work at the same level, with a fresh resolution clock."""
    problem.status = "accepted"
    problem.updated_at = now
    problem.nudged = [k for k in problem.nudged or [] if not k.endswith(f":resolution:{problem.level}")]
    policy = SlaPolicy.from_json(problem.policy)
    clocks = clocks_for_level(policy, deps.calendar, category=problem.category, level=problem.level,
                              started_at=now)
    problem.resolution_due_at = clocks.resolution.at
    problem.due_estimated = clocks.resolution.estimated
    _schedule(problem, deps, now)
    event = await repo.add_event(session, problem=problem, at=now, kind="reopened", actor_id=actor.id, text=reason)
    context = await _context(session, problem)
    # One notice each: the unit's carries its buttons (it has to act again), everyone else's none.
    unit_ids = {p.id for p in await repo.unit_handlers(session, unit_id=problem.unit_id)}
    watchers = await _watchers(session, problem, exclude=actor)
    await _notify(session, deps, [p for p in watchers if p.id not in unit_ids], template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor, **context)
    await _notify(session, deps, [p for p in watchers if p.id in unit_ids], template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}:unit", buttons=unit_buttons(problem),
                  event=event, actor=actor, **context)


async def comment(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, text: str,
                  now: datetime) -> None:
    """批示: everyone on the problem is told. A leader's 批示 at the current level counts as its response."""
    holders = await repo.level_holders(session, problem=problem, level=problem.level)
    if problem.status == "open" and problem.level > 0 and any(p.id == actor.id for p in holders):
        problem.status = "accepted"
        _schedule(problem, deps, now)
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind="comment", actor_id=actor.id, text=text)
    await _notify(session, deps, await _watchers(session, problem, exclude=actor), template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
                  **await _context(session, problem))


async def _watchers(session: AsyncSession, problem: Problem, *, exclude: Person | None) -> list[Person]:
    return [p for p in await repo.people_on(session, problem=problem) if exclude is None or p.id != exclude.id]


async def apply_tick(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, now: datetime) -> list[str]:
    """Run the escalation rules for one due problem; returns what happened (for logs and tests)."""
    decision = _schedule(problem, deps, now)
    done: list[str] = []
    for action in decision.actions:
        if isinstance(action, Escalate):
            await _escalate(session, deps, problem, action, now)
            done.append(f"escalate:{action.to_level}")
        elif isinstance(action, Nudge):
            problem.nudged = [*(problem.nudged or []), action.key]
            holders = await repo.level_holders(session, problem=problem, level=problem.level)
            await _notify(session, deps, holders, template="problem_nudge", now=now,
                          key=f"problem:{problem.id}:{action.key}", buttons=buttons_for_level(problem, problem.level),
                          clock=action.clock, due_at=action.due_at, **await _context(session, problem))
            done.append(action.key)
        elif isinstance(action, Overdue):
            problem.nudged = [*(problem.nudged or []), action.key]
            await _notify(session, deps, await _watchers(session, problem, exclude=None), template="problem_overdue",
                          now=now, key=f"problem:{problem.id}:{action.key}", clock=action.clock,
                          due_at=action.due_at, **await _context(session, problem))
            done.append(action.key)
    _schedule(problem, deps, now)
    return done


async def _escalate(session: AsyncSession, deps: ProblemDeps, problem: Problem, action: Escalate,
                    now: datetime) -> None:
    below = await _watchers(session, problem, exclude=None)
    from_level = problem.level
    problem.level = action.to_level
    problem.status = "open"
    problem.updated_at = now
    _start_level(problem, deps, now)
    await repo.add_event(session, problem=problem, at=now, kind="escalated", actor_id=None,
                         detail={"from": from_level, "to": action.to_level, "clock": action.clock,
                                 "due_at": action.due_at.isoformat()})
    context = await _context(session, problem)
    holders = await repo.level_holders(session, problem=problem, level=action.to_level)
    key = f"problem:{problem.id}:up{action.to_level}"
    await _notify(session, deps, holders, template="problem_escalated", key=key, now=now,
                  buttons=leader_buttons(problem), clock=action.clock, **context)
    holder_ids = {p.id for p in holders}
    await _notify(session, deps, [p for p in below if p.id not in holder_ids], template="problem_went_up",
                  key=f"{key}:below", now=now, clock=action.clock, **context)
