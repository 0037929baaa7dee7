"""What happened to a 包抓领导's work while he was away with a stand-in (代理人), told when the leave ends (after its
last day, bot.services.leave_returns, or at 销假, handlers.leave): the projects he holds now and which of them
changed hands during the leave (`LeadProjects`), what the stand-in decided in his place, marked when the
problem's project has been handed away since (`Decided`), what went up past his level meanwhile
(`gone_up_meanwhile`), and what waits at his level now (bot.services.leader_inbox)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.problem_numbers import problem_number
from bot.services import leader_inbox
from bot.services.extensions import ESCALATED
from bot.services.leader_inbox import LEAD_LEVEL, LeaderInbox
from storage import people as people_repo
from storage import problems as problem_repo
from storage import project_versions
from storage import projects as project_repo
from storage.models import Person, Problem, ProblemEvent, Project


@dataclass(frozen=True)
class Handed:
    """Projects that changed hands during the leave with one other 包抓领导 (`other`: whom they came from or went
    to; None when they had or have none), by code."""

    other: str | None
    projects: list[Project]


@dataclass(frozen=True)
class LeadProjects:
    """The projects the 包抓领导 holds now, by code; those handed to him during the leave (`given`) and those
    handed away (`taken`), grouped by the other 包抓领导. A project handed away and back is neither."""

    now: list[Project] = field(default_factory=list)
    given: list[Handed] = field(default_factory=list)
    taken: list[Handed] = field(default_factory=list)


@dataclass(frozen=True)
class Decided:
    """One act of the stand-in in the lead's place (`event`, on problem `number`); `handed_to`: the project's
    包抓领导 now when the project is no longer the lead's ("" when it has none), else None."""

    number: str
    event: ProblemEvent
    handed_to: str | None = None


@dataclass(frozen=True)
class LeaveAccount:
    """Everything the leave-end notices say of a 包抓领导's leave with a stand-in."""

    projects: LeadProjects = field(default_factory=LeadProjects)
    waiting: LeaderInbox = field(default_factory=LeaderInbox)
    decided: list[Decided] = field(default_factory=list)
    gone_up: list[Problem] = field(default_factory=list)


async def account(session: AsyncSession, lead: Person, substitute: Person, *, since: datetime, until: datetime,
                  now: datetime) -> LeaveAccount:
    """The leave of `lead` with `substitute` from `since` (its first day's start) to `until` (the end of its last
    day, or the moment of 销假), told `now`."""
    projects = await lead_projects(session, lead, since=since, now=now)
    return LeaveAccount(projects=projects,
                        waiting=await leader_inbox.waiting_on(session, project_ids=[p.id for p in projects.now]),
                        decided=await decided_meanwhile(session, lead, substitute, since=since),
                        gone_up=await gone_up_meanwhile(session, projects.now, since=since, until=until))


async def decided_meanwhile(session: AsyncSession, lead: Person, substitute: Person, *, since: datetime
                            ) -> list[Decided]:
    """What `substitute` did in `lead`'s place since `since`, in order. An act on a project handed away since is
    kept (it was done in his name, and the record says so) and marked with whom the project went to: its
    follow-up is no longer his."""
    events = await problem_repo.decided_in_place_of(session, lead_id=lead.id, substitute_id=substitute.id,
                                                    since=since)
    ids = sorted({e.problem_id for e in events})
    problems = {p.id: p for p in (await session.scalars(select(Problem).where(Problem.id.in_(ids)))).unique()}
    decided = []
    for e in events:
        project = problems[e.problem_id].project if e.problem_id in problems else None
        handed_to = None
        if project is not None and project.lead_official_id != lead.id:
            handed_to = project.lead_official.name if project.lead_official is not None else ""
        decided.append(Decided(problem_number(e.problem_id), e, handed_to))
    return decided


async def lead_projects(session: AsyncSession, lead: Person, *, since: datetime, now: datetime) -> LeadProjects:
    """The projects `lead` holds now, and which of them (and of those he held at `since`) changed hands since:
    read from the projects' dated versions (storage.project_versions)."""
    held = await project_repo.projects_led_by(session, lead_ids=[lead.id])
    before = await project_versions.leads_before(session, since=since, until=now)
    held_then = {pid for pid, lead_id in before.items() if lead_id == lead.id}
    held_then |= {p.id for p in held if p.id not in before}
    others = {pid: lead_id for pid, lead_id in before.items() if lead_id is not None and lead_id != lead.id}
    names = await people_repo.names_of(session, ids=set(others.values()))
    given: dict[str | None, list[Project]] = {}
    for p in held:
        if p.id not in held_then:
            given.setdefault(names.get(others.get(p.id, 0)), []).append(p)
    gone = held_then - {p.id for p in held}
    taken: dict[str | None, list[Project]] = {}
    if gone:
        for p in (await session.scalars(select(Project).where(Project.id.in_(sorted(gone)))
                                        .order_by(Project.code))).unique():
            taken.setdefault(p.lead_official.name if p.lead_official is not None else None, []).append(p)
    return LeadProjects(now=held, given=[Handed(other, ps) for other, ps in given.items()],
                        taken=[Handed(other, ps) for other, ps in taken.items()])


async def gone_up_meanwhile(session: AsyncSession, projects: Sequence[Project], *, since: datetime, until: datetime
                            ) -> list[Problem]:
    """The open problems of these projects above the 包抓领导's level now that went up past it (to the 区长 or above)
    at some moment from `since` to `until`, while he was away: he heard nothing of them, and their next notice
    would be his first. Read from their history, not from when their present level began: one gone further up,
    or moved to another unit and up again, since his return is still one that went up while he was away; one
    that went up past him only after his return (told late, the bot having been down) is not of the leave."""
    if not projects:
        return []
    rows = (await session.execute(
        select(ProblemEvent.problem_id, ProblemEvent.detail).join(Problem, Problem.id == ProblemEvent.problem_id)
        .where(Problem.project_id.in_([p.id for p in projects]), ProblemEvent.kind == ESCALATED,
               ProblemEvent.at >= since, ProblemEvent.at < until))).all()
    went_up = sorted({pid for pid, detail in rows if _level(detail) > LEAD_LEVEL})
    if not went_up:
        return []
    query = (select(Problem).where(Problem.id.in_(went_up), Problem.status.in_(ACTIVE), Problem.level > LEAD_LEVEL)
             .order_by(Problem.id))
    return list((await session.scalars(query)).unique().all())


def _level(detail: object) -> int:
    """The level an escalation event went to (its detail's "to"); -1 when it does not say."""
    to = detail.get("to") if isinstance(detail, dict) else None
    return to if isinstance(to, int) else -1
