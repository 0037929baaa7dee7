"""Repository functions for problems, their history, and who holds them at each level."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE, lead_in_unit, levels_reached, passed_over, skipped_levels
from bot.domain.scope import can_see
from storage import leaves
from storage.models import Person, Problem, ProblemEvent
from storage.people import people_with_role
from storage.scope import seeing_facts, viewer_of, viewer_on

LEVEL_TITLE_HINTS = {2: ("区长",), 3: ("书记", "领导小组")}


async def get_problem(session: AsyncSession, *, problem_id: int, lock: bool = False) -> Problem | None:
    query = select(Problem).where(Problem.id == problem_id)
    if lock:
        query = query.with_for_update(of=Problem)
    return await session.scalar(query)


async def add_event(session: AsyncSession, *, problem: Problem, at: datetime, kind: str, actor_id: int | None,
                    text: str = "", detail: dict[str, Any] | None = None, flush: bool = True) -> ProblemEvent:
    """One step of a problem's history, with the response and resolution deadlines the problem runs on after it
    (callers change the problem first); without `flush`, written with the session's next flush (a caller adding
    many at once flushes once)."""
    event = ProblemEvent(problem_id=problem.id, at=at, kind=kind, actor_person_id=actor_id, level=problem.level,
                         text=text, detail=detail or {}, resolution_due_at=problem.resolution_due_at,
                         response_due_at=problem.response_due_at)
    session.add(event)
    if flush:
        await session.flush()
    return event


async def history(session: AsyncSession, *, problem_id: int) -> list[ProblemEvent]:
    query = select(ProblemEvent).where(ProblemEvent.problem_id == problem_id).order_by(ProblemEvent.id)
    return list((await session.scalars(query)).unique().all())


async def histories(session: AsyncSession, *, problem_ids: Collection[int]) -> dict[int, list[ProblemEvent]]:
    """`history` of several problems in one query: each id maps to its events in id order (maybe none)."""
    found: dict[int, list[ProblemEvent]] = {pid: [] for pid in problem_ids}
    if not found:
        return found
    query = select(ProblemEvent).where(ProblemEvent.problem_id.in_(list(found))).order_by(ProblemEvent.id)
    for event in (await session.scalars(query)).unique().all():
        found[event.problem_id].append(event)
    return found


class RoleCache:
    """`people_with_role` answers kept for one transaction that changes no people or roles (the escalation
    tick): each role is read once, with the holders of every unit, instead of once per problem and level."""

    def __init__(self) -> None:
        self._by_role: dict[str, list[Person]] = {}
        self.substitutes: dict[tuple[int, date], int | None] = {}  # (lead, day) → his substitute that day

    async def people_with_role(self, session: AsyncSession, *, role: str, unit_id: int | None = None
                               ) -> list[Person]:
        everyone = self._by_role.get(role)
        if everyone is None:
            everyone = self._by_role[role] = await people_with_role(session, role=role)
        return [p for p in everyone if unit_id is None or p.unit_id == unit_id]


async def _with_role(session: AsyncSession, cache: RoleCache | None, role: str, unit_id: int | None = None
                     ) -> list[Person]:
    if cache is None:
        return await people_with_role(session, role=role, unit_id=unit_id)
    return await cache.people_with_role(session, role=role, unit_id=unit_id)


async def level_holders(session: AsyncSession, *, problem: Problem, level: int, day: date,
                        cache: RoleCache | None = None) -> list[Person]:
    """Who answers for the problem on `day` at a level; admins stand in when a level has nobody.

    Level 1 is the project's 包抓领导, or on a day of his leave that names a substitute, the substitute
    (`lead_holder`). A meeting decision (no project) has no lead official: level 1 is skipped
    (bot.domain.escalation), and should it be asked for anyway, the admins who record decisions stand in.
    """
    if level == 0:
        holders = await _with_role(session, cache, "unit", problem.unit_id)
    elif level == 1:
        lead = problem.project.lead_official if problem.project is not None else None
        holder = await lead_holder(session, lead, day=day, cache=cache) if lead is not None else None
        holders = [holder] if holder is not None else []
    else:
        holders = await top_holders(session, level=level, cache=cache)
    return holders or await _with_role(session, cache, "admin")


async def lead_holder(session: AsyncSession, lead: Person, *, day: date, cache: RoleCache | None = None
                      ) -> Person | None:
    """Who holds a 包抓领导's level on `day`: his active substitute while he is on a leave that names one, else he
    himself while active (None: nobody). `lead_holders` of one."""
    return (await lead_holders(session, [lead], day=day, cache=cache))[lead.id]


async def lead_holders(session: AsyncSession, leads: Collection[Person], *, day: date,
                       cache: RoleCache | None = None) -> dict[int, Person | None]:
    """`lead_holder` of each of `leads` (by id), reading their leaves once and their substitutes once, whatever
    their number (a leave without a substitute changes nothing: he is still asked)."""
    active = [lead for lead in leads if lead.active]
    known = cache.substitutes if cache is not None else {}
    unread = [lead.id for lead in active if (lead.id, day) not in known]
    found = await leaves.substitutes_on(session, person_ids=unread, day=day)
    substitute_ids = {lead.id: known[(lead.id, day)] if (lead.id, day) in known else found.get(lead.id)
                      for lead in active}
    if cache is not None:
        cache.substitutes.update({(lead_id, day): found.get(lead_id) for lead_id in unread})
    # The few substitutes, each read once (none again when the session holds him already).
    substitutes = {sid: await session.get(Person, sid)
                   for sid in sorted({sid for sid in substitute_ids.values() if sid is not None})}
    holders: dict[int, Person | None] = {lead.id: None for lead in leads}
    for lead in active:
        substitute_id = substitute_ids[lead.id]
        substitute = substitutes[substitute_id] if substitute_id is not None else None
        holders[lead.id] = substitute if substitute is not None and substitute.active else lead
    return holders


async def stood_in_for(session: AsyncSession, problem: Problem, actor: Person, *, day: date) -> dict[str, Any]:
    """What an act of `actor` on `day` records of a stand-in (代理人): whom he acts for, when he holds the level of
    the problem's 包抓领导 during that leader's leave (`lead_holder`); empty otherwise. Kept in the event's detail
    (the history says 「由代理人 … 代为审批」) and read back by `decided_in_place_of`."""
    lead = problem.project.lead_official if problem.project is not None else None
    if lead is None or lead.id == actor.id:
        return {}
    holder = await lead_holder(session, lead, day=day)
    if holder is None or holder.id != actor.id:
        return {}
    return {"stand_in_for": lead.id, "stand_in_for_name": lead.name, "stand_in": actor.name}


async def decided_in_place_of(session: AsyncSession, *, lead_id: int, substitute_id: int, since: datetime
                              ) -> list[ProblemEvent]:
    """What `substitute_id` did in the place of the 包抓领导 `lead_id` (`stood_in_for`) since `since`, in order."""
    query = (select(ProblemEvent).where(ProblemEvent.actor_person_id == substitute_id, ProblemEvent.at >= since)
             .order_by(ProblemEvent.id))
    return [e for e in (await session.scalars(query)).unique().all()
            if (e.detail or {}).get("stand_in_for") == lead_id]


async def top_holders(session: AsyncSession, *, level: int, cache: RoleCache | None = None) -> list[Person]:
    """The top officials holding level 2 (区长) or 3 (区委书记 / 领导小组), by title; all of them when no
    title fits."""
    tops = await _with_role(session, cache, "top")
    hints = LEVEL_TITLE_HINTS[level]
    holders = [p for p in tops if p.title and any(h in p.title for h in hints) and "副" not in p.title]
    if level == 2:
        holders = [p for p in holders if "书记" not in (p.title or "")]
    return holders or tops


async def people_on(session: AsyncSession, *, problem: Problem, day: date, cache: RoleCache | None = None,
                    events: Sequence[ProblemEvent] | None = None) -> list[Person]:
    """Everyone on a problem, without repeats: the raiser, the holders of every level it has reached (skipped
    ones aside; a level reached before the problem was moved to another unit counts: its holders follow it to
    the end), and every active person who wrote a 批示 on it and still sees it (to see what they asked for
    done; for one who no longer does, a 包抓领导 who handed the project over, its lead official now).
    On `day` (a 包抓领导's level is his substitute's during his leave). `events`: the problem's history, when the
    caller has it."""
    if events is None:
        events = await history(session, problem_id=problem.id)
    seen: dict[int, Person] = {problem.raised_by.id: problem.raised_by}
    holders: dict[int, list[Person]] = {}  # each level's holders, read once

    async def held_by(level: int) -> list[Person]:
        if level not in holders:
            holders[level] = await level_holders(session, problem=problem, level=level, day=day, cache=cache)
        return holders[level]

    # A 包抓领导 passed over because he belongs to the unit stays on the problem once it has gone past his level.
    decision_skips = skipped_levels(has_project=problem.project_id is not None)
    for level in levels_reached(highest_level(problem, events), decision_skips):
        for person in await held_by(level):
            seen.setdefault(person.id, person)
    # A leader who wrote a 批示 hears of the problem while he sees it; once the project is no longer his (handed
    # over to another 包抓领导), its lead official now hears in his place.
    facts = seeing_facts(problem)
    for event in events:
        if event.kind != "comment" or event.actor is None or not event.actor.active or event.actor.id in seen:
            continue
        if can_see(viewer_of(event.actor), facts) or can_see(await viewer_on(session, event.actor, day=day), facts):
            seen[event.actor.id] = event.actor
        elif problem.project is not None:
            for person in await held_by(1):
                seen.setdefault(person.id, person)
    return list(seen.values())


def highest_level(problem: Problem, events: Sequence[ProblemEvent]) -> int:
    """The highest level the problem has reached: its level now, or one it went up to before being moved
    to another unit (which starts it again at the unit)."""
    reached = [int(e.detail.get("to", 0)) for e in events if e.kind == "escalated" and e.detail]
    return max([problem.level, *reached])


def problem_passed_over(problem: Problem) -> dict[int, str]:
    """The levels this problem passes over, each with why (bot.domain.escalation.passed_over): level 1 for a
    meeting decision, which has no project, or for a problem assigned to the unit its 包抓领导 belongs to."""
    lead = problem.project.lead_official if problem.project is not None else None
    own = lead is not None and lead_in_unit(lead_unit_id=lead.unit_id, lead_active=lead.active,
                                            unit_id=problem.unit_id)
    return passed_over(has_project=problem.project_id is not None, lead_in_unit=own)


def problem_skipped_levels(problem: Problem) -> frozenset[int]:
    """The levels this problem passes over (`problem_passed_over`, without the reasons)."""
    return frozenset(problem_passed_over(problem))


async def due_problems(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[Problem]:
    """Active problems whose next check is due, oldest first (then by id); locked (skipping locked rows) on
    PostgreSQL."""
    # `status || ''` is the status, but keeps SQLite (which has no statistics) from reading every active
    # problem through ix_problems_status and sorting them: the range on ix_problems_next_check is what
    # makes a tick cost what is due, not what is open.
    query = (select(Problem.id).where(Problem.next_check_at <= now, (Problem.status + "").in_(ACTIVE))
             .order_by(Problem.next_check_at, Problem.id).limit(limit))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.scalars(query)).all())
    if not ids:
        return []
    return list((await session.scalars(select(Problem).where(Problem.id.in_(ids))
                                       .order_by(Problem.next_check_at, Problem.id)))
                .unique().all())
