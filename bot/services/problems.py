"""Problem lifecycle: raise, accept, answer, resolve, confirm, reopen, 批示, escalate (改派: bot.services.reassignment).

Each operation changes the problem, appends to its history, and writes the notices it causes to the
outbox, all in the caller's transaction. Handlers check who may do what; the escalation job calls
`bot.services.problem_tick.apply_tick`, which uses the helpers here. Rules about time live in
bot.domain.escalation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain import overdue as overdue_rule
from bot.domain.escalation import (
    ACTIVE,
    DECISION_CATEGORY,
    LEVEL_NAMES,
    RESPONSE_LEVELS,
    Decision,
    ProblemClock,
    SlaPolicy,
    clocks_for_level,
    deadline_set_anew,
    decide,
    next_level,
    on_estimate,
)
from bot.domain.grouping import Concern
from bot.domain.limits import NOTICE_PREVIEW_MAX, too_long
from bot.domain.messages import Button, Reply
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.workdays import SHANGHAI, Deadline, WorkCalendar, deadline_after
from bot.render import Renderer, label
from bot.services.tick_work import TickWork
from storage import outbox, recipients
from storage import people as people_repo
from storage import problems as repo
from storage.models import Person, Problem, ProblemEvent, ProblemPhoto, Project, Unit
from storage.nodes import NODE_CATEGORY


@dataclass
class ProblemDeps:
    """What problem operations need besides the session: rules in force and the template renderer."""

    calendar: WorkCalendar
    policy: SlaPolicy
    renderer: Renderer


def unit_buttons(problem: Problem) -> list[list[Button]]:
    """What the unit can do in the problem's state: 受理 only while it waits for it; nothing once it is
    reported solved or closed."""
    pid = problem.id
    if problem.status not in ACTIVE:
        return []
    if problem.kind == NODE_PROBLEM:  # closed by marking the node done (bot.services.nodes), not by 已解决
        first = [Button(label("accept"), f"pb:acc:{pid}")] if problem.status == "open" else []
        return [[*first, Button(label("answer"), f"pb:ans:{pid}")], [Button(label("reassign"), f"pb:rea:{pid}")]]
    if problem.status == "open":
        return [[Button(label("accept"), f"pb:acc:{pid}"), Button(label("answer"), f"pb:ans:{pid}")],
                [Button(label("reassign"), f"pb:rea:{pid}"), Button(label("resolved"), f"pb:rsv:{pid}")]]
    return [[Button(label("answer"), f"pb:ans:{pid}"), Button(label("reassign"), f"pb:rea:{pid}")],
            [Button(label("resolved"), f"pb:rsv:{pid}")]]


def leader_buttons(problem: Problem) -> list[list[Button]]:
    return [[Button(label("comment"), f"pb:cmt:{problem.id}"), Button(label("details"), f"pb:show:{problem.id}")]]


def raiser_buttons(problem: Problem) -> list[list[Button]]:
    return [[Button(label("close"), f"pb:cfm:{problem.id}"), Button(label("reopen"), f"pb:rop:{problem.id}")]]


def buttons_for_level(problem: Problem, level: int) -> list[list[Button]]:
    return unit_buttons(problem) if level == 0 else leader_buttons(problem)


async def _notify(session: AsyncSession, deps: ProblemDeps, people: Iterable[Person], *, template: str,
                  key: str, now: datetime, buttons: list[list[Button]] | None = None,
                  work: TickWork | None = None, **context: Any) -> None:
    """Render once and queue for each person; with `work` (a tick), the notice is a short card with a
    查看详情 button, and it waits for `work.flush` to be grouped with the person's other concerns."""
    html = deps.renderer.render(template, **context)
    if work is not None:
        problem: Problem = context["problem"]
        details = Button(label("problem", problem.number), f"pb:show:{problem.id}")
        comment = f"pb:cmt:{problem.id}"  # a leader's 批示, offered in a list too: one tap, not two
        offered = any(b.data == comment for row in buttons or [] for b in row)
        direct = (Button(label("problem_comment", problem.number), comment),) if offered else ()
        reply = Reply(html=html, buttons=tuple(tuple(row) for row in _with_details(buttons or [], problem)))
        line = deps.renderer.render("problem_line", kind=template, **context)
        work.notices += [Concern(person_id=p.id, key=f"{key}:p{p.id}", reply=reply, line=line,
                                 buttons=(*direct, details)) for p in people]
        return
    reply = Reply(html=html, buttons=tuple(tuple(row) for row in _with_full_text(buttons or [], context)))
    for person in people:
        await outbox.enqueue_for_person(session, person_id=person.id, reply=reply, key=f"{key}:p{person.id}",
                                        now=now)


def _with_details(buttons: list[list[Button]], problem: Problem) -> list[list[Button]]:
    """A short card's buttons, with 查看详情 (the whole `/issue W…` card) unless they have it already."""
    show = f"pb:show:{problem.id}"
    if any(b.data == show for row in buttons for b in row):
        return buttons
    return [*buttons, [Button(label("details"), show)]]


def _with_full_text(buttons: list[list[Button]], context: dict[str, Any]) -> list[list[Button]]:
    """A notice quotes only the start of a long description: it gets a button that shows the whole card."""
    problem = context.get("problem")
    if not isinstance(problem, Problem) or not too_long(problem.text.strip(), NOTICE_PREVIEW_MAX):
        return buttons
    show = f"pb:show:{problem.id}"
    if any(b.data == show for row in buttons for b in row):
        return buttons
    return [*buttons, [Button(label("full_text"), show)]]


async def _context(session: AsyncSession, problem: Problem, work: TickWork | None = None) -> dict[str, Any]:
    if work is None:
        history = await repo.history(session, problem_id=problem.id)
    else:
        history = await work.history(session, problem)
    return {"problem": problem, "history": history, "level_names": LEVEL_NAMES,
            "next_level": next_level(problem.level, repo.problem_skipped_levels(problem))}


def _start_level(problem: Problem, deps: ProblemDeps, now: datetime) -> None:
    """Give the problem fresh clocks at its current level."""
    policy = SlaPolicy.from_json(problem.policy)
    clocks = clocks_for_level(policy, deps.calendar, category=problem.category, level=problem.level,
                              started_at=now)
    problem.level_started_at = now
    # Only the unit has a response deadline; above it the level's deadline is the resolution one.
    problem.response_due_at = clocks.response.at if problem.level in RESPONSE_LEVELS else None
    problem.resolution_due_at = clocks.resolution.at
    mark_estimated(problem, deps, response=clocks.response.estimated, resolution=clocks.resolution.estimated)
    _schedule(problem, deps, now)


def mark_estimated(problem: Problem, deps: ProblemDeps, *, resolution: bool, response: bool | None = None) -> None:
    """Set 按预估日历 (`due_estimated`) for the deadlines the problem now runs on, by one rule
    (bot.domain.escalation.on_estimate), wherever a deadline is set. `resolution` and `response`: whether the
    deadline just set was counted on an estimated calendar; `response` None when the response deadline is kept
    as it was: it is counted again from the level's start (where it always runs from) to say so."""
    if response is None:
        response = _kept_response_estimated(problem, deps.calendar)
    problem.due_estimated = on_estimate(_clock(problem), response=response, resolution=resolution)


def _kept_response_estimated(problem: Problem, calendar: WorkCalendar) -> bool:
    if problem.response_due_at is None or problem.level_started_at is None:
        return False
    policy = SlaPolicy.from_json(problem.policy)
    return deadline_after(calendar, problem.level_started_at, policy.response_limit(problem.level),
                          end_of_day=policy.end_of_day).estimated


def _schedule(problem: Problem, deps: ProblemDeps, now: datetime) -> Decision:
    decision = decide(_clock(problem), now, calendar=deps.calendar, policy=SlaPolicy.from_json(problem.policy))
    problem.next_check_at = decision.next_check_at
    return decision


def _clock(problem: Problem) -> ProblemClock:
    return ProblemClock(status=problem.status, level=problem.level, response_due_at=problem.response_due_at,
                        resolution_due_at=problem.resolution_due_at, nudged=frozenset(problem.nudged or ()),
                        level_started_at=problem.level_started_at,
                        skipped=repo.problem_skipped_levels(problem), promised_due_at=promised_due_at(problem))


def promised_due_at(problem: Problem) -> datetime | None:
    """The end of the working day (per the problem's policy) on the unit's promised date, if any."""
    if problem.promised_date is None:
        return None
    return overdue_rule.promised_due_at(problem.promised_date, SlaPolicy.from_json(problem.policy))


async def raise_problem(session: AsyncSession, deps: ProblemDeps, *, project: Project, raiser: Person,
                        category: str, text: str, unit: Unit, photos: Iterable[tuple[str, str]],
                        now: datetime) -> Problem:
    """A liaison raises a problem; the unit's handlers are told at once, with buttons."""
    problem = Problem(project_id=project.id, raised_by_id=raiser.id, unit_id=unit.id, category=category,
                      text=text, status="open", level=0, policy=deps.policy.to_json(), level_started_at=now,
                      nudged=[], created_at=now, updated_at=now,
                      photos=[ProblemPhoto(channel=c, file_id=f, fetch_after=now) for c, f in photos])
    session.add(problem)
    await session.flush()
    await session.refresh(problem, ["project", "unit", "raised_by"])
    _start_level(problem, deps, now)
    await repo.add_event(session, problem=problem, at=now, kind="raised", actor_id=raiser.id, text=text,
                         detail={"unit": unit.name, "category": category})
    handlers = await repo.level_holders(session, problem=problem, level=0, day=local_day(now))
    await _notify(session, deps, handlers, template="problem_new", key=f"problem:{problem.id}:new", now=now,
                  buttons=unit_buttons(problem), **await _context(session, problem))
    return problem


async def record_decision(session: AsyncSession, deps: ProblemDeps, *, raiser: Person, text: str, unit: Unit,
                          due: date, now: datetime) -> Problem:
    """A meeting decision (议定事项): a problem without a project, due at the end of day `due`.

    The response clock runs per policy; the resolution deadline at level 0 is the one the meeting set.
    Above level 0 (it skips level 1, see bot.domain.escalation) both clocks come from the policy.
    """
    problem = Problem(kind="decision", project_id=None, raised_by_id=raiser.id, unit_id=unit.id,
                      category=DECISION_CATEGORY, text=text, status="open", level=0,
                      policy=deps.policy.to_json(), level_started_at=now, nudged=[], created_at=now,
                      updated_at=now, photos=[])
    session.add(problem)
    await session.flush()
    await session.refresh(problem, ["project", "unit", "raised_by"])
    clocks = clocks_for_level(deps.policy, deps.calendar, category=DECISION_CATEGORY, level=0, started_at=now)
    problem.level_started_at = now
    problem.response_due_at = clocks.response.at
    problem.resolution_due_at = decision_due_at(due, deps.policy)
    mark_estimated(problem, deps, response=clocks.response.estimated, resolution=deps.calendar.is_estimated(due))
    _schedule(problem, deps, now)
    await repo.add_event(session, problem=problem, at=now, kind="raised", actor_id=raiser.id, text=text,
                         detail={"unit": unit.name, "category": DECISION_CATEGORY, "due": due.isoformat()})
    handlers = await repo.level_holders(session, problem=problem, level=0, day=local_day(now))
    await _notify(session, deps, handlers, template="problem_new", key=f"problem:{problem.id}:new", now=now,
                  buttons=unit_buttons(problem), **await _context(session, problem))
    return problem


async def raise_overdue_node(session: AsyncSession, deps: ProblemDeps, *, project: Project, raiser: Person,
                             text: str, detail: dict[str, Any], policy: SlaPolicy, due: Deadline,
                             now: datetime) -> Problem:
    """The problem an overdue node (节点逾期) becomes, so that it escalates like any problem: assigned to the
    project's lead unit, with `policy` (the node's limit for its category, snapshotted as for any problem)
    and the unit's deadline `due` (counted from the node's planned day). Nobody is told here: the node tick
    tells the liaison and the unit (bot.services.nodes); from then on the escalation tick carries it up."""
    problem = Problem(kind=NODE_PROBLEM, project_id=project.id, raised_by_id=raiser.id, unit_id=project.lead_unit_id,
                      category=NODE_CATEGORY, text=text, status="open", level=0, policy=policy.to_json(),
                      level_started_at=now, nudged=[], created_at=now, updated_at=now, photos=[])
    session.add(problem)
    await session.flush()
    await session.refresh(problem, ["project", "unit", "raised_by"])
    problem.response_due_at = None  # nothing to take up: the node is the unit's work already
    problem.resolution_due_at = due.at
    mark_estimated(problem, deps, response=False, resolution=due.estimated)
    _schedule(problem, deps, now)
    await repo.add_event(session, problem=problem, at=now, kind="raised", actor_id=None, text=text,
                         detail={"unit": problem.unit.name, "category": NODE_CATEGORY, **detail})
    return problem


def decision_due_at(due: date, policy: SlaPolicy) -> datetime:
    """The end of the working day (per policy) on `due`, Shanghai time."""
    return datetime.combine(due, policy.end_of_day, tzinfo=SHANGHAI).astimezone(UTC)


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
                 promised: date | None, now: datetime, told_elsewhere: Iterable[Person] = ()) -> None:
    """答复 (with the promised date, if any), told to everyone on the problem but `told_elsewhere` (those an
    extension request asked of at once carries the answer to: one notice, not two)."""
    problem.status = "answered"
    problem.answer_text, problem.promised_date, problem.updated_at = text, promised, now
    event = await repo.add_event(session, problem=problem, at=now, kind="answered", actor_id=actor.id, text=text,
                                 detail={"promised": promised.isoformat() if promised else None})
    _schedule(problem, deps, now)
    skipped = {p.id for p in told_elsewhere}
    watchers = [p for p in await _watchers(session, problem, exclude=actor, now=now) if p.id not in skipped]
    await _notify(session, deps, watchers, template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
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
    raiser_side = {p.id for p in await in_place_of(session, [problem.raised_by])}  # told above, with the buttons
    others = [p for p in await _watchers(session, problem, exclude=actor, now=now) if p.id not in raiser_side]
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
    await _notify(session, deps, await _watchers(session, problem, exclude=actor, now=now), template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor,
                  **await _context(session, problem))


async def reopen(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, reason: str,
                 now: datetime) -> None:
    """未解决: back to work at the same level, with a fresh resolution clock. The unit's promised date is done
    with (it reported the problem solved): kept, it would be reported as not kept once its day passed."""
    problem.status = "accepted"
    problem.updated_at = now
    problem.promised_date = None
    problem.nudged = deadline_set_anew(problem.nudged or [], "resolution", problem.level)
    policy = SlaPolicy.from_json(problem.policy)
    clocks = clocks_for_level(policy, deps.calendar, category=problem.category, level=problem.level,
                              started_at=now)
    problem.resolution_due_at = clocks.resolution.at
    mark_estimated(problem, deps, resolution=clocks.resolution.estimated)
    _schedule(problem, deps, now)
    event = await repo.add_event(session, problem=problem, at=now, kind="reopened", actor_id=actor.id, text=reason)
    context = await _context(session, problem)
    # One notice each: the unit's carries its buttons (it has to act again), everyone else's none.
    unit_ids = {p.id for p in await people_repo.unit_handlers(session, unit_id=problem.unit_id)}
    watchers = await _watchers(session, problem, exclude=actor, now=now)
    await _notify(session, deps, [p for p in watchers if p.id not in unit_ids], template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}", event=event, actor=actor, **context)
    await _notify(session, deps, [p for p in watchers if p.id in unit_ids], template="problem_update",
                  now=now, key=f"problem:{problem.id}:e{event.id}:unit", buttons=unit_buttons(problem),
                  event=event, actor=actor, **context)


async def comment(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, actor: Person, text: str,
                  now: datetime) -> None:
    """批示: recorded and sent to everyone on the problem and to its project's 包抓领导. It sets no deadline and
    stops none: the level's deadline is for solving the problem (bot.domain.escalation). Its writer stays on
    the problem from then on (`storage.problems.people_on`): told of its answers, its solving and its 销号."""
    problem.updated_at = now
    event = await repo.add_event(session, problem=problem, at=now, kind="comment", actor_id=actor.id, text=text,
                                 detail=await repo.stood_in_for(session, problem, actor, day=local_day(now)))
    # The project's 包抓领导 (his substitute during his leave) is told of every 批示 on its problems (a 区长's on one
    # still at the unit too).
    lead = problem.project.lead_official if problem.project is not None else None
    holder = await repo.lead_holder(session, lead, day=local_day(now)) if lead is not None else None
    told = {p.id: p for p in await _watchers(session, problem, exclude=actor, now=now)}
    if holder is not None and holder.id != actor.id:
        told.setdefault(holder.id, holder)
    # The unit's handlers are to act on it: their notice carries the unit's buttons, everyone else's none.
    unit_ids = {p.id for p in await people_repo.unit_handlers(session, unit_id=problem.unit_id)}
    context = await _context(session, problem)
    key = f"problem:{problem.id}:e{event.id}"
    await _notify(session, deps, [p for p in told.values() if p.id not in unit_ids], template="problem_update",
                  now=now, key=key, event=event, actor=actor, **context)
    await _notify(session, deps, [p for p in told.values() if p.id in unit_ids], template="problem_update",
                  now=now, key=f"{key}:unit", buttons=unit_buttons(problem), event=event, actor=actor, **context)


async def _watchers(session: AsyncSession, problem: Problem, *, exclude: Person | None, now: datetime,
                    cache: repo.RoleCache | None = None, events: Sequence[ProblemEvent] | None = None
                    ) -> list[Person]:
    """Everyone on the problem (`storage.problems.people_on`) `now` but `exclude` (the one acting), deactivated
    people replaced by who stands in for them (`in_place_of`)."""
    everyone = await in_place_of(session, await repo.people_on(session, problem=problem, day=local_day(now),
                                                               cache=cache, events=events))
    return [p for p in everyone if exclude is None or p.id != exclude.id]


async def in_place_of(session: AsyncSession, people: Sequence[Person]) -> list[Person]:
    """`people` with each deactivated one replaced by who stands in for them (their successor, else the admins:
    storage.recipients), each person once. The outbox would redirect their notices the same way; doing it here
    lets a caller leave out the one acting (an admin who confirms for a deactivated raiser is not told what he
    did) and tells a stand-in once however many of the people they stand in for."""
    inactive = [p.id for p in people if not p.active]
    standing = await recipients.stand_ins(session, inactive) if inactive else {}
    found: dict[int, Person] = {}
    for person in people:
        for pid in standing.get(person.id, (person.id,)):
            if pid not in found:
                stand_in = person if pid == person.id else await session.get(Person, pid)
                if stand_in is not None:
                    found[pid] = stand_in
    return list(found.values())
