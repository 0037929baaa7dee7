"""Who sees which problems and projects, and who may do what to a problem: the scope table as pure rules.

Every handler, button, list and query that shows or acts on a problem asks these functions (the storage
queries that filter by scope, ``storage.scope``, say the same thing in SQL and are tested against them).
The README's scope table is this module in words.

The API (stable; the chat handlers and the web dashboard both use it; ``bot.services.scope`` builds the
facts from stored problems and lists a viewer's problems by urgency, ``storage.scope`` has the queries):

* :class:`Viewer` — who is asking: person id, role names, the unit they belong to.
* :class:`ProblemFacts` — what the rules need to know about a problem (who raised it, its unit, its
  project's liaison and 包抓领导, its status and level, whether its unit has an active handler, its
  deadlines for ordering). ``bot.services.scope.problem_facts(session, problem)`` (or ``facts_of``)
  builds one from a stored problem.
* :class:`ProjectFacts` — a project's liaison, 包抓领导, lead and supporting units
  (``storage.scope.project_facts(project)``). ``storage.scope.viewer_of(person)`` gives the Viewer.
* :func:`ties` — why a viewer sees a problem (a set of :class:`Tie`; empty: they do not see it).
* :func:`can_see` — ``bool(ties(...))``.
* :func:`refusal` — None when the viewer may take an :class:`Act` on the problem now, else the reason
  (one of :data:`REASONS`, the keys the ``problem_refused`` template words).
* :func:`allowed_acts` — every act the viewer may take now (a card shows exactly these buttons).
* :func:`acts_as_admin` — whether an allowed act is taken as an admin (代办, or 销号 for the raiser).
* :func:`follows_project` / :func:`may_raise` — projects.
* :func:`next_deadline` / :func:`overdue` — the nearest deadline running on a problem, and whether it
  has passed.
* :func:`urgency` — a sort key: most urgent first (overdue, then nearest deadline, then waiting for 销号).
* :data:`ROLE_ACTS` — which acts each role can ever take (what ``/help`` offers it).

The rules (roles may be combined; a person gets the union):

==========  ============================================  ============================================
role        sees (``/issue W…``, ``/issues``, notices)    may do
==========  ============================================  ============================================
liaison     problems on the projects they are liaison of,  raise problems on their projects; 确认销号 /
            and every problem they raised                  未解决 on the problems they raised
unit        problems assigned to their unit                受理 / 答复 / 申请改派 / 已解决 while the problem
                                                           is open (受理 only before it is taken up)
lead        every problem on the projects he holds         批示 on them (not once 销号)
            (包抓), from the moment it is raised
top         every problem                                  批示 on any problem (not once 销号)
admin       every problem                                  批示; 确认销号 for the raiser; 未解决 on the
                                                           meeting decisions they recorded; 受理 / 答复 /
                                                           申请改派 / 已解决 only for a unit that has no
                                                           active handler (代办)
anyone      the problems they raised                       —
==========  ============================================  ============================================

A meeting decision (议定事项) has no project, so no liaison and no 包抓领导: its unit's handlers, the top
officials and the admins see it (and whoever raised it, an admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain import overdue as overdue_rule

ROLES = ("liaison", "unit", "lead", "top", "admin")
OPEN = frozenset({"open", "accepted", "answered"})  # the unit is working on it (= escalation.ACTIVE)
SEE_ALL = frozenset({"top", "admin"})


class Tie(StrEnum):
    """Why someone sees a problem."""

    ADMIN = "admin"
    TOP = "top"
    LEAD = "lead"  # 包抓领导 of its project
    UNIT = "unit"  # a handler of the unit it is assigned to
    LIAISON = "liaison"  # liaison of its project
    RAISER = "raiser"


class Act(StrEnum):
    """What can be done to a problem (the values are the handlers' action names)."""

    ACCEPT = "accept"  # 受理
    ANSWER = "answer"  # 答复
    REASSIGN = "reassign"  # 申请改派
    RESOLVE = "resolve"  # 已解决
    CONFIRM = "confirm"  # 确认销号
    REOPEN = "reopen"  # 未解决
    COMMENT = "comment"  # 批示


UNIT_ACTS = frozenset({Act.ACCEPT, Act.ANSWER, Act.REASSIGN, Act.RESOLVE})
RAISER_ACTS = frozenset({Act.CONFIRM, Act.REOPEN})
# The acts each role can ever take, whatever the problem (what /help may offer it). The raiser's acts are
# the liaison's: liaisons raise problems (admins record meeting decisions, which they may confirm).
ROLE_ACTS: dict[str, frozenset[Act]] = {
    "liaison": RAISER_ACTS,
    "unit": UNIT_ACTS,
    "lead": frozenset({Act.COMMENT}),
    "top": frozenset({Act.COMMENT}),
    "admin": frozenset({Act.COMMENT, Act.CONFIRM, Act.REOPEN}) | UNIT_ACTS,  # 未解决 on decisions they recorded
}
# Why an act is refused (the `reason` the problem_refused template words).
REASONS = ("not_unit", "unit_staffed", "already_closed", "resolved", "already_accepted", "not_raiser",
           "not_resolved", "not_leader", "node_open")


@dataclass(frozen=True)
class Viewer:
    """Who is asking; `stands_for`: the 包抓领导 whose leave names him substitute today (bot.domain.leave), whose
    projects' problems he sees and acts on as their 包抓领导 while it runs."""

    person_id: int
    roles: frozenset[str]
    unit_id: int | None = None
    stands_for: frozenset[int] = frozenset()

    @property
    def leads_as(self) -> frozenset[int]:
        """The lead officials whose projects' problems are his: himself, and whom he stands in for."""
        return self.stands_for | {self.person_id}


@dataclass(frozen=True)
class ProblemFacts:
    """What the scope rules need to know about a problem. `liaison_id` and `lead_official_id` are its
    project's (None for a meeting decision, which has no project); `unit_staffed` says whether its unit has
    an active handler (when it has none, admins act for it); the deadlines only order lists."""

    raised_by_id: int
    unit_id: int
    status: str
    level: int = 0
    liaison_id: int | None = None
    lead_official_id: int | None = None
    unit_staffed: bool = True
    problem_id: int = 0
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    promised_due_at: datetime | None = None
    node: bool = False  # an overdue node's problem (kind "node"): closed by marking the node done, not 已解决


@dataclass(frozen=True)
class ProjectFacts:
    """What the scope rules need to know about a project."""

    liaison_id: int | None
    lead_official_id: int | None
    lead_unit_id: int | None
    supporting_unit_ids: frozenset[int] = frozenset()


def ties(viewer: Viewer, problem: ProblemFacts) -> frozenset[Tie]:
    """Every reason the viewer sees the problem (empty: they do not see it)."""
    found: set[Tie] = set()
    if "admin" in viewer.roles:
        found.add(Tie.ADMIN)
    if "top" in viewer.roles:
        found.add(Tie.TOP)
    if problem.lead_official_id is not None and problem.lead_official_id in viewer.leads_as:
        found.add(Tie.LEAD)
    if "unit" in viewer.roles and viewer.unit_id is not None and viewer.unit_id == problem.unit_id:
        found.add(Tie.UNIT)
    if problem.liaison_id is not None and problem.liaison_id == viewer.person_id:
        found.add(Tie.LIAISON)
    if problem.raised_by_id == viewer.person_id:
        found.add(Tie.RAISER)
    return frozenset(found)


def can_see(viewer: Viewer, problem: ProblemFacts) -> bool:
    """Whether the viewer may see the problem (its card, its notices, in their /issues)."""
    return bool(ties(viewer, problem))


def refusal(viewer: Viewer, problem: ProblemFacts, act: Act) -> str | None:
    """None when the viewer may take `act` on the problem in its present state; else why not (REASONS).
    Who may act is checked before the state: someone not entitled is told so whatever the state. (Whether
    a reassignment is already waiting is a fact of the problem's history: the handler checks it.)"""
    found = ties(viewer, problem)
    if act in UNIT_ACTS:
        if Tie.UNIT not in found:
            if Tie.ADMIN not in found:
                return "not_unit"
            if problem.unit_staffed:
                return "unit_staffed"
        if problem.status == "closed":
            return "already_closed"
        if problem.status == "resolved":
            return "resolved"
        if act is Act.ACCEPT and problem.status != "open":
            return "already_accepted"
        if act is Act.RESOLVE and problem.node:
            return "node_open"
        return None
    if act in RAISER_ACTS:
        if Tie.RAISER not in found and not (act is Act.CONFIRM and Tie.ADMIN in found):
            return "not_raiser"
        if problem.status == "closed":
            return "already_closed"
        return None if problem.status == "resolved" else "not_resolved"
    if act is Act.COMMENT:
        if not found & {Tie.LEAD, Tie.TOP, Tie.ADMIN}:
            return "not_leader"
        return "already_closed" if problem.status == "closed" else None
    raise ValueError(f"unknown act {act!r}")


def allowed_acts(viewer: Viewer, problem: ProblemFacts) -> frozenset[Act]:
    """Every act the viewer may take on the problem now."""
    return frozenset(act for act in Act if refusal(viewer, problem, act) is None)


def acts_as_admin(viewer: Viewer, problem: ProblemFacts, act: Act) -> bool:
    """Whether the viewer takes `act` as an admin rather than in their own right (recorded as such)."""
    found = ties(viewer, problem)
    if act in UNIT_ACTS:
        return Tie.UNIT not in found and Tie.ADMIN in found
    if act in RAISER_ACTS:
        return Tie.RAISER not in found and Tie.ADMIN in found
    return False


def follows_project(viewer: Viewer, project: ProjectFacts) -> bool:
    """Whether the project is one of the viewer's (the web pages he may open): liaison, 包抓领导, a handler of
    its lead or a supporting unit; top officials and admins follow every project. A stand-in (`stands_for`)
    follows the absent lead's projects too while the leave runs. (`storage.projects.projects_for_person` says
    it in SQL for the person's own projects, without a stand-in's: /mine and /project's list add those as
    `handlers.lookup.stood_for` finds them.)"""
    if viewer.roles & SEE_ALL:
        return True
    if viewer.person_id == project.liaison_id:
        return True
    if project.lead_official_id is not None and project.lead_official_id in viewer.leads_as:
        return True
    return ("unit" in viewer.roles and viewer.unit_id is not None
            and (viewer.unit_id == project.lead_unit_id or viewer.unit_id in project.supporting_unit_ids))


def follows_in_own_right(viewer: Viewer, project: ProjectFacts) -> bool:
    """Whether the project is the viewer's by a tie of his own (liaison, 包抓领导, a handler of its lead or a
    supporting unit): not only because top officials and admins follow every project, nor as a stand-in. A 区领导
    standing in for a 包抓领导 holds the absent lead's projects apart from those, marked whose, as a lead stand-in
    does (/mine, /project's list)."""
    return follows_project(Viewer(person_id=viewer.person_id, roles=viewer.roles - SEE_ALL, unit_id=viewer.unit_id),
                           project)


def may_raise(viewer: Viewer, project: ProjectFacts) -> bool:
    """Whether the viewer may raise a problem on the project: its liaison, holding the liaison role."""
    return "liaison" in viewer.roles and project.liaison_id == viewer.person_id


def next_deadline(problem: ProblemFacts) -> datetime | None:
    """The nearest deadline running on the problem (``bot.domain.overdue``: the unit's 受理 deadline while it is
    open at the unit, the level's 办结 deadline and the unit's promised day while it is being worked on)."""
    return overdue_rule.next_deadline(problem)


def overdue(problem: ProblemFacts, now: datetime) -> bool:
    """Whether a deadline running on the problem has passed (``bot.domain.overdue.is_overdue``)."""
    return overdue_rule.is_overdue(problem, now)


def urgency(problem: ProblemFacts, now: datetime) -> tuple[int, float, int, int]:
    """Sort key, most urgent first: problems past a deadline (the longest overdue first), then those with a
    deadline (the nearest first), open ones without one, those waiting for 销号, then closed ones; within
    each, the higher level first, then the older problem."""
    due = next_deadline(problem)
    if due is not None:
        group = 0 if overdue(problem, now) else 1
        when = due.timestamp()
    else:
        group = 2 if problem.status in OPEN else 3 if problem.status == "resolved" else 4
        when = 0.0
    return (group, when, -problem.level, problem.problem_id)
