"""What one escalation tick (one transaction) shares among its problems: holders, histories, and the writes made
together at the end (bot.services.problem_tick)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from bot.domain.grouping import Concern
from bot.render import Renderer
from bot.services import grouped_notices
from storage import problems as repo
from storage.models import Problem, ProblemEvent

# Every column of a problem that a tick may change.
TICK_COLUMNS = ("status", "level", "updated_at", "level_started_at", "response_due_at", "resolution_due_at",
                "due_estimated", "nudged", "next_check_at")


@dataclass
class TickWork:
    """What the `apply_tick` calls of one escalation tick (one transaction) share, so that the tick costs a
    few statements in all rather than a dozen per due problem: who holds each level (people and roles do
    not change during a tick), the problems' histories (read for all of them at once, then kept up to
    date), and the writes, which `flush` makes together at the end, in the order they were made: the
    problems' changes, their new events, then the notices.
    """

    people: repo.RoleCache = field(default_factory=repo.RoleCache)
    histories: dict[int, list[ProblemEvent]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    events: list[ProblemEvent] = field(default_factory=list)
    notices: list[Concern] = field(default_factory=list)

    async def preload(self, session: AsyncSession, problems: Sequence[Problem]) -> None:
        """Read the histories of these problems in one query, and the unit handlers and top officials."""
        missing = [p.id for p in problems if p.id not in self.histories]
        self.histories.update(await repo.histories(session, problem_ids=missing))
        for role in ("unit", "top"):
            await self.people.people_with_role(session, role=role)

    async def history(self, session: AsyncSession, problem: Problem) -> list[ProblemEvent]:
        if problem.id not in self.histories:
            self.histories[problem.id] = await repo.history(session, problem_id=problem.id)
        return list(self.histories[problem.id])

    async def add_event(self, session: AsyncSession, *, problem: Problem, at: datetime, kind: str,
                        actor_id: int | None, text: str = "", detail: dict[str, Any] | None = None
                        ) -> ProblemEvent:
        """`repo.add_event`, and the event joins the problem's history. One without an actor (a tick's events
        have none) is written by `flush`: until then it has no id and no session."""
        history = self.histories.get(problem.id)
        if history is None:
            history = self.histories[problem.id] = await repo.history(session, problem_id=problem.id)
        if actor_id is not None:  # written now, so that its actor loads
            event = await repo.add_event(session, problem=problem, at=at, kind=kind, actor_id=actor_id,
                                         text=text, detail=detail)
        else:
            event = ProblemEvent(problem_id=problem.id, at=at, kind=kind, actor_person_id=None,
                                 level=problem.level, text=text, detail=detail or {},
                                 resolution_due_at=problem.resolution_due_at,
                                 response_due_at=problem.response_due_at)
            self.events.append(event)
        history.append(event)
        return event

    async def flush(self, session: AsyncSession, *, now: datetime, renderer: Renderer) -> None:
        """Write everything collected so far: the same rows as writing each change when it was made, except
        that the notices are one per person (grouped when a person is concerned by several problems)."""
        # The same columns in every UPDATE (unchanged ones keep their value) make one executemany of them.
        for problem in self.problems:
            for name in TICK_COLUMNS:
                flag_modified(problem, name)
        self.problems = []
        await session.flush()
        events, self.events = self.events, []
        if events:
            columns = ("problem_id", "at", "kind", "actor_person_id", "level", "text", "detail", "resolution_due_at",
                       "response_due_at")
            await session.execute(insert(ProblemEvent), [{c: getattr(e, c) for c in columns} for e in events])
        notices, self.notices = self.notices, []
        await grouped_notices.deliver(session, renderer, notices, now=now, kind="escalation")
