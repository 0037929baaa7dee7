"""The escalation tick: nudges, breaches and level-ups for the problems that are due, idempotently.

Only problems whose `next_check_at` has come are loaded (an index serves that), so a tick costs what
is due, not what is open. Each tick is one transaction: the new state and the notices it causes (in
the outbox, with dedupe keys) are committed together, so a second run or a crash after commit can
never escalate or notify twice. Each person gets one message per tick: several problems concerning
them come as one list (`bot.services.grouped_notices`). A 包抓领导 back from a leave that named a substitute is
told there what the substitute decided (`bot.services.leave_returns`); the stand-in of one whose leave begins,
what already waits at his level (`bot.services.leave_starts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock
from bot.domain.escalation import LEVEL_NAMES
from bot.render import Renderer
from bot.services import leave_returns, leave_starts
from bot.services import problems as problem_service
from bot.services.problem_tick import apply_tick
from bot.services.tick_work import TickWork
from storage import problems as repo
from storage.db import Database
from storage.settings import load_calendar, load_policy


@dataclass
class TickResult:
    """What one tick looked at and did."""

    checked: int = 0
    actions: list[str] = field(default_factory=list)


async def run(db: Database, clock: Clock, renderer: Renderer, *, batch: int = 1000) -> TickResult:
    """One escalation tick as of `clock.now()`."""
    now = clock.now()
    result = TickResult()
    async with db.session() as session:
        # 包抓领导 back from a leave that named a substitute are told what he decided (once each).
        await leave_returns.tell_returned(session, renderer, now=now)
        # The stand-in of a 包抓领导 whose leave begins is told what waits for him (once each).
        await leave_starts.tell_stand_ins(session, renderer, now=now)
        due = await repo.due_problems(session, now=now, limit=batch)
        if not due:
            return result
        deps = problem_service.ProblemDeps(calendar=await load_calendar(session),
                                           policy=await load_policy(session), renderer=renderer)
        # Shared by the whole batch: histories read at once, level holders read once, and the notices
        # written together at the end (with the problems' changes and events, in one flush).
        work = TickWork()
        await work.preload(session, due)
        for problem in due:
            result.checked += 1
            done = await apply_tick(session, deps, problem, now=now, work=work)
            result.actions += [f"{problem.number}:{a}" for a in done]
        await work.flush(session, now=now, renderer=renderer)
    return result


def describe(action: str) -> str:
    """One of a tick's actions ("W0001:escalate:1", "W0001:nudge:promise:2026-11-18") as people read it, in the
    words of cli/_escalation.j2: 「W0001 上报至包抓领导」, 「W0001 承诺日期提醒（2026-11-18）」; one it does not
    know as is."""
    from bot.render import shared_renderer

    number, _, what = action.partition(":")
    kind, _, rest = what.partition(":")
    clock, _, tail = rest.partition(":")
    known = ((kind == "escalate" and clock.isdigit() and int(clock) < len(LEVEL_NAMES))
             or (kind in {"nudge", "overdue"} and clock in {"promise", "response", "resolution"}))
    return shared_renderer().phrase("cli/_escalation", "action", number, kind, clock, tail) if known else action
