"""The escalation tick's rules applied to one due problem: nudges, breaches and level-ups (the job,
jobs/escalation.py, loads what is due and calls `apply_tick` for each, sharing one `TickWork`).

A tick's notices are short cards (what happened, which problem, a 查看详情 button for the whole card), and a
person concerned by several problems in one tick gets one list of them instead (`bot.services.grouped_notices`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain.escalation import LEAD_IN_UNIT, Escalate, Nudge, Overdue, notice_key, passed_between
from bot.services.problems import (
    ProblemDeps,
    _context,
    _notify,
    _schedule,
    _start_level,
    _watchers,
    buttons_for_level,
    leader_buttons,
)
from bot.services.tick_work import TickWork
from storage import problems as repo
from storage.models import Problem


async def apply_tick(session: AsyncSession, deps: ProblemDeps, problem: Problem, *, now: datetime,
                     work: TickWork | None = None) -> list[str]:
    """Run the escalation rules for one due problem; returns what happened (for logs and tests).

    The tick passes one `work` to all its problems and flushes it at the end; without one, the notices
    are written before returning.
    """
    own = work is None
    work = TickWork() if work is None else work
    work.problems.append(problem)
    decision = _schedule(problem, deps, now)
    done: list[str] = []
    for action in decision.actions:
        if isinstance(action, Escalate):
            problem.nudged = [*(problem.nudged or []), *action.settles]
            await _escalate(session, deps, problem, action, now, work)
            done.append(f"escalate:{action.to_level}")
        elif isinstance(action, Nudge):
            problem.nudged = [*(problem.nudged or []), action.key]
            # A promise is the unit's: its reminder goes to the unit's handlers, whatever the level.
            level = 0 if action.clock == "promise" else problem.level
            holders = await repo.level_holders(session, problem=problem, level=level, day=local_day(now),
                                               cache=work.people)
            await _notify(session, deps, holders, template="problem_nudge", now=now, work=work,
                          key=f"problem:{problem.id}:{notice_key(action)}", buttons=buttons_for_level(problem, level),
                          clock=action.clock, due_at=action.due_at, **await _context(session, problem, work))
            done.append(action.key)
        elif isinstance(action, Overdue):
            problem.nudged = [*(problem.nudged or []), action.key, *action.settles]
            watchers = await _watchers(session, problem, exclude=None, now=now, cache=work.people,
                                       events=await work.history(session, problem))
            await _notify(session, deps, watchers,
                          template="problem_overdue", now=now, work=work,
                          key=f"problem:{problem.id}:{notice_key(action)}", clock=action.clock, due_at=action.due_at,
                          **await _context(session, problem, work))
            done.append(action.key)
    _schedule(problem, deps, now)
    if own:
        await work.flush(session, now=now, renderer=deps.renderer)
    return done


async def _escalate(session: AsyncSession, deps: ProblemDeps, problem: Problem, action: Escalate,
                    now: datetime, work: TickWork) -> None:
    below = await _watchers(session, problem, exclude=None, now=now, cache=work.people,
                            events=await work.history(session, problem))
    from_level = problem.level
    # Why a level was passed over, when it says something to the reader (a meeting decision's missing lead
    # official goes without saying).
    passed = [why for why in passed_between(from_level, action.to_level, repo.problem_passed_over(problem))
              if why == LEAD_IN_UNIT]
    problem.level = action.to_level
    problem.updated_at = now  # the unit's status (待受理, 办理中, 已答复) stays what it is: going up changes who
    # answers for the problem, not what the unit has done
    _start_level(problem, deps, now)
    await work.add_event(session, problem=problem, at=now, kind="escalated", actor_id=None,
                         detail={"from": from_level, "to": action.to_level, "clock": action.clock,
                                 "due_at": action.due_at.isoformat(), **({"passed": passed} if passed else {})})
    context = await _context(session, problem, work)
    holders = await repo.level_holders(session, problem=problem, level=action.to_level, day=local_day(now),
                                     cache=work.people)
    key = f"problem:{problem.id}:up{action.to_level}"
    await _notify(session, deps, holders, template="problem_escalated", key=key, now=now, work=work,
                  buttons=leader_buttons(problem), clock=action.clock, **context)
    holder_ids = {p.id for p in holders}
    await _notify(session, deps, [p for p in below if p.id not in holder_ids], template="problem_went_up",
                  key=f"{key}:below", now=now, work=work, clock=action.clock, **context)
