"""The node tick: on the first working day after a node's planned day, its liaison and lead unit are told
it is overdue and it becomes a problem the escalation tick carries up (bot.services.nodes).

Run with the escalation tick (every few minutes), as a separate moment with its own notices: it does
nothing before the day's reminder time, on a rest day, or for a node told about already
(``ProjectNode.overdue_told_on``), so a second run or a run after a crash tells nobody twice. The notices
are written in the same transaction as the marks, with their dedupe keys.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.render import Renderer
from bot.services import nodes as node_service
from bot.services.problems import ProblemDeps
from storage.db import Database
from storage.settings import load_calendar, load_policy


async def run(db: Database, clock: Clock, renderer: Renderer) -> node_service.OverdueResult:
    """One node tick as of `clock.now()`."""
    now = clock.now()
    async with db.session() as session:
        deps = ProblemDeps(calendar=await load_calendar(session), policy=await load_policy(session),
                           renderer=renderer)
        return await node_service.tell_overdue(session, deps, now=now)
