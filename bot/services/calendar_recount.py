"""Open problems' deadlines after the calendar changes (`/calendar …`, `diaodu calendar …`).

The caller loads the calendar before the change, makes it, and calls `recount_open_problems`: every active
problem's running deadlines are counted again on the new calendar (`bot.domain.recount`), its 按预估日历 mark
follows, and its next check is scheduled again, moved or not: a deadline moved into the past escalates on the
next tick (what was sent already is not undone), and the reminder on the working day before a deadline goes
out on the new calendar's working day before it (again, when the deadline moved later). Each problem whose
deadlines moved has a 时限重算 event in its history; the unit handling it, its raiser and, for a problem gone up
a level, whoever holds it there (the 包抓领导, the 区长…) are told once, in one message per person listing every
move of theirs. A unit's promised date the new deadline leaves behind (`bot.domain.recount.Recount.promise_late`)
is kept and said in the notice: finish by the deadline or ask for an extension (/answer with the later date).
The admin gets the counts (`RecountSummary`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain.escalation import ACTIVE, DECISION_CATEGORY, RESPONSE_LEVELS, SlaPolicy
from bot.domain.messages import Reply
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.recount import Count, Moved, recount_problem
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, format_time
from bot.services.nodes import grace_start
from bot.services.problems import ProblemDeps, _clock, _schedule, in_place_of
from storage import outbox
from storage import problems as repo
from storage.audit import Actor
from storage.models import Problem, ProblemEvent
from storage.settings import load_calendar, load_policy

RECOUNTED = "recounted"  # the problem event of deadlines moved by a calendar change


@dataclass
class RecountSummary:
    """What a calendar change did to open problems: how many it looked at, whose deadlines moved (and how many of
    those are above the unit), whose 按预估日历 mark was cleared or set, and how many people were told."""

    checked: int = 0
    moved: int = 0
    cleared: int = 0
    marked: int = 0
    told: int = 0
    numbers: list[str] = field(default_factory=list)  # the problems whose deadlines moved
    above: int = 0  # of those, the ones gone up above the unit (their level's holders told too)

    @property
    def changed(self) -> int:
        """Problems whose deadlines or mark changed."""
        return self.moved + self.cleared + self.marked


@dataclass(frozen=True)
class _Move:
    problem: Problem
    moves: tuple[Moved, ...]
    promise_late: bool  # the unit's promised date now ends after the resolution deadline


async def recount_open_problems(
    session: AsyncSession, renderer: Renderer, *, before: WorkCalendar, now: datetime, actor: Actor
) -> RecountSummary:
    """Count open problems' deadlines again on the calendar now stored (see the module docstring)."""
    await session.flush()  # the change itself, so that the calendar read below has it
    after = await load_calendar(session)
    deps = ProblemDeps(calendar=after, policy=await load_policy(session), renderer=renderer)
    query = select(Problem).where(Problem.status.in_(ACTIVE)).order_by(Problem.id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Problem)  # wait for a tick that holds one; it will see the new deadlines
    problems = list((await session.scalars(query)).unique().all())
    histories = await repo.histories(session, problem_ids=[p.id for p in problems])
    summary = RecountSummary(checked=len(problems))
    moved: list[_Move] = []
    for problem in problems:
        policy = SlaPolicy.from_json(problem.policy)
        result = recount_problem(
            _clock(problem),
            response=_response_counts(problem, policy),
            resolution=_resolution_counts(problem, policy, histories[problem.id]),
            promised_date=problem.promised_date,
            end_of_day=policy.end_of_day,
            before=before,
            after=after,
        )
        if result.moved:
            problem.response_due_at, problem.resolution_due_at = result.response_due_at, result.resolution_due_at
            problem.promised_date = result.promised_date
            later = {f"nudge:{m.clock}:{problem.level}" for m in result.moved if m.after > m.before}
            problem.nudged = [k for k in problem.nudged or [] if k not in later]  # the new deadline's own reminder
            problem.updated_at = now
            summary.moved += 1
            summary.numbers.append(problem.number)
            summary.above += problem.level > 0
            moved.append(_Move(problem, result.moved, result.promise_late))
        elif result.estimated != problem.due_estimated:
            summary.marked += result.estimated
            summary.cleared += not result.estimated
        problem.due_estimated = result.estimated
        # moved or not: the working day before a deadline (its reminder) may have changed
        _schedule(problem, deps, now)
    if moved:
        summary.told = await _tell(session, renderer, moved, now=now, actor=actor)
    return summary


def _response_counts(problem: Problem, policy: SlaPolicy) -> list[Count]:
    """The response deadline runs at the unit's level from the level's start."""
    if problem.level not in RESPONSE_LEVELS:
        return []
    return [Count(problem.level_started_at, policy.response_limit(problem.level))]


def _resolution_counts(problem: Problem, policy: SlaPolicy, history: list[ProblemEvent]) -> list[Count]:
    """Where the resolution deadline may have been counted from, latest first: the problem sent back to work
    (未解决) at this level, an overdue node's planned day (at the unit), the level's start. A meeting's own day at
    the unit is chosen, not counted (bot.services.problems.record_decision)."""
    days = policy.resolution_limit(problem.category, problem.level)
    starts = [
        e.at
        for e in reversed(history)
        if e.kind == "reopened" and e.level == problem.level and e.at >= problem.level_started_at
    ]
    if problem.level == 0 and problem.kind == NODE_PROBLEM:
        planned = next((e.detail.get("planned_on") for e in history if e.kind == "raised"), None)
        if planned:
            starts.append(grace_start(date.fromisoformat(planned)))
    if not (problem.level == 0 and problem.category == DECISION_CATEGORY):
        starts.append(problem.level_started_at)
    return [Count(start, days) for start in starts]


async def _tell(session: AsyncSession, renderer: Renderer, moved: list[_Move], *, now: datetime, actor: Actor) -> int:
    """A 时限重算 event on each problem; one message per person (the unit's handlers, the raiser, the holders of the
    problem's level above the unit, or who stands in for them) listing the moves of all their problems. Returns how
    many people were told."""
    events = [
        await repo.add_event(
            session,
            problem=move.problem,
            at=now,
            kind=RECOUNTED,
            actor_id=actor.person_id,
            flush=False,
            detail={
                "moves": [
                    {"clock": m.clock, "from": format_time(m.before), "to": format_time(m.after)} for m in move.moves
                ],
                **({"promise_late": True} if move.promise_late else {}),
            },
        )
        for move in moved
    ]
    await session.flush()
    first_event = events[0].id
    roles = repo.RoleCache()  # the unit handlers of every unit, read once
    by_person: dict[int, list[_Move]] = defaultdict(list)
    for move in moved:
        holders = await repo.level_holders(session, problem=move.problem, level=0, day=local_day(now), cache=roles)
        if move.problem.level > 0:  # gone up: its deadline is the level's holders' to keep
            holders += await repo.level_holders(session, problem=move.problem, level=move.problem.level,
                                              day=local_day(now), cache=roles)
        for person in await in_place_of(session, [*holders, move.problem.raised_by]):  # each person once
            by_person[person.id].append(move)
    for person_id, moves in by_person.items():
        html = renderer.render("calendar_recount_notice", moves=moves, now=now)
        await outbox.enqueue_for_person(
            session, person_id=person_id, reply=Reply(html=html), key=f"calendar:e{first_event}:p{person_id}", now=now
        )
    return len(by_person)


__all__ = ["RECOUNTED", "RecountSummary", "recount_open_problems"]
