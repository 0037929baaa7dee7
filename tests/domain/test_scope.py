"""The scope table (bot.domain.scope): who sees a problem and who may act on it, written out by hand for
every role and state, and the order of urgency."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.scope import (
    ROLE_ACTS,
    Act,
    ProblemFacts,
    ProjectFacts,
    Tie,
    Viewer,
    acts_as_admin,
    allowed_acts,
    can_see,
    follows_in_own_right,
    follows_project,
    may_raise,
    overdue,
    refusal,
    ties,
    urgency,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=SH)
LIAISON, RAISER, LEAD, HANDLER, TOP, ADMIN, OTHER_LIAISON, OTHER_LEAD, OTHER_HANDLER = range(1, 10)
UNIT, OTHER_UNIT = 100, 200
VIEWERS = {
    "liaison": Viewer(LIAISON, frozenset({"liaison"}), UNIT),  # liaison of the project, in the unit but no handler
    "raiser": Viewer(RAISER, frozenset({"liaison"})),  # raised it, liaison of another project since
    "lead": Viewer(LEAD, frozenset({"lead"})),
    "unit": Viewer(HANDLER, frozenset({"unit"}), UNIT),
    "top": Viewer(TOP, frozenset({"top"})),
    "admin": Viewer(ADMIN, frozenset({"admin"})),
    "other liaison": Viewer(OTHER_LIAISON, frozenset({"liaison"}), UNIT),
    "other lead": Viewer(OTHER_LEAD, frozenset({"lead"})),
    "other unit": Viewer(OTHER_HANDLER, frozenset({"unit"}), OTHER_UNIT),
}


def problem(status: str = "open", **changes: object) -> ProblemFacts:
    facts: dict[str, object] = {"raised_by_id": RAISER, "unit_id": UNIT, "status": status, "level": 0,
                                "liaison_id": LIAISON, "lead_official_id": LEAD}
    facts.update(changes)
    return ProblemFacts(**facts)  # type: ignore[arg-type]


DECISION = problem(raised_by_id=ADMIN, liaison_id=None, lead_official_id=None)

# Who sees a project's problem, and a meeting decision (no project), at any level and in any state.
SEES = {"liaison": True, "raiser": True, "lead": True, "unit": True, "top": True, "admin": True,
        "other liaison": False, "other lead": False, "other unit": False}
SEES_DECISION = {**SEES, "liaison": False, "raiser": False, "lead": False}

U, C = {Act.ACCEPT, Act.ANSWER, Act.REASSIGN, Act.RESOLVE}, {Act.COMMENT}
# What each may do in each state (the unit has a handler, so the admin does not act for it).
ACTS = {
    "open": {"unit": U, "lead": C, "top": C, "admin": C},
    "accepted": {"unit": U - {Act.ACCEPT}, "lead": C, "top": C, "admin": C},
    "answered": {"unit": U - {Act.ACCEPT}, "lead": C, "top": C, "admin": C},
    "resolved": {"raiser": {Act.CONFIRM, Act.REOPEN}, "lead": C, "top": C, "admin": C | {Act.CONFIRM}},
    "closed": {},
}


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize("status", sorted(ACTS))
@pytest.mark.parametrize("who", sorted(VIEWERS))
def test_who_sees_a_problem_from_the_moment_it_exists(who: str, status: str, level: int) -> None:
    assert can_see(VIEWERS[who], problem(status, level=level)) is SEES[who]
    assert can_see(VIEWERS[who], problem(status, level=level, raised_by_id=ADMIN, liaison_id=None,
                                         lead_official_id=None)) is SEES_DECISION[who]


@pytest.mark.parametrize("status", sorted(ACTS))
@pytest.mark.parametrize("who", sorted(VIEWERS))
def test_who_may_do_what_in_each_state(who: str, status: str) -> None:
    assert allowed_acts(VIEWERS[who], problem(status)) == ACTS[status].get(who, set())


@pytest.mark.parametrize(("who", "act", "status", "reason"), [
    ("lead", Act.ACCEPT, "open", "not_unit"),
    ("other unit", Act.RESOLVE, "accepted", "not_unit"),
    ("liaison", Act.ANSWER, "open", "not_unit"),  # in the unit, but not one of its handlers
    ("admin", Act.ACCEPT, "open", "unit_staffed"),
    ("unit", Act.ACCEPT, "accepted", "already_accepted"),
    ("unit", Act.ANSWER, "resolved", "resolved"),
    ("unit", Act.RESOLVE, "closed", "already_closed"),
    ("other unit", Act.RESOLVE, "closed", "not_unit"),  # who first, then the state
    ("liaison", Act.CONFIRM, "resolved", "not_raiser"),  # the project's liaison, not the raiser
    ("admin", Act.REOPEN, "resolved", "not_raiser"),
    ("raiser", Act.CONFIRM, "open", "not_resolved"),
    ("raiser", Act.REOPEN, "closed", "already_closed"),
    ("unit", Act.COMMENT, "open", "not_leader"),
    ("other lead", Act.COMMENT, "open", "not_leader"),
    ("lead", Act.COMMENT, "closed", "already_closed"),
])
def test_refusals_say_why(who: str, act: Act, status: str, reason: str) -> None:
    assert refusal(VIEWERS[who], problem(status), act) == reason


def test_admins_act_for_a_unit_without_handlers_and_are_recorded_as_admins() -> None:
    unstaffed = problem("open", unit_staffed=False)
    admin = VIEWERS["admin"]
    assert allowed_acts(admin, unstaffed) == U | C
    assert acts_as_admin(admin, unstaffed, Act.ACCEPT)
    assert not acts_as_admin(VIEWERS["unit"], unstaffed, Act.ACCEPT)
    assert acts_as_admin(admin, problem("resolved"), Act.CONFIRM)
    assert not acts_as_admin(VIEWERS["raiser"], problem("resolved"), Act.CONFIRM)
    assert not acts_as_admin(admin, unstaffed, Act.COMMENT)
    # Nobody else gains anything from a unit without handlers.
    for who in ("lead", "top", "liaison", "other unit"):
        assert not allowed_acts(VIEWERS[who], unstaffed) & U, who


def test_an_admin_who_raised_a_decision_confirms_or_reopens_it() -> None:
    resolved = replace(DECISION, status="resolved")
    assert allowed_acts(VIEWERS["admin"], resolved) == {Act.CONFIRM, Act.REOPEN, Act.COMMENT}
    assert ties(VIEWERS["admin"], resolved) == {Tie.ADMIN, Tie.RAISER}


def test_roles_add_up() -> None:
    both = Viewer(LEAD, frozenset({"lead", "unit"}), UNIT)  # 包抓领导 who also answers for the unit
    assert ties(both, problem()) == {Tie.LEAD, Tie.UNIT}
    assert allowed_acts(both, problem()) == U | C


def test_role_acts_cover_what_the_table_allows() -> None:
    """What /help offers a role (ROLE_ACTS) is everything someone holding only that role can be allowed."""
    for who, viewer in VIEWERS.items():
        [role] = viewer.roles
        for status in ACTS:
            for facts in (problem(status), problem(status, unit_staffed=False), DECISION):
                assert allowed_acts(viewer, facts) <= ROLE_ACTS[role], (who, status)


def test_projects_followed_and_raised_on() -> None:
    project = ProjectFacts(liaison_id=LIAISON, lead_official_id=LEAD, lead_unit_id=UNIT,
                           supporting_unit_ids=frozenset({OTHER_UNIT}))
    followed = {who for who, v in VIEWERS.items() if follows_project(v, project)}
    assert followed == {"liaison", "lead", "unit", "top", "admin", "other unit"}
    assert {who for who, v in VIEWERS.items() if may_raise(v, project)} == {"liaison"}
    assert not follows_project(VIEWERS["other unit"], ProjectFacts(LIAISON, LEAD, UNIT))


def test_urgency_overdue_first_then_nearest_deadline_then_waiting_for_closing() -> None:
    hour = timedelta(hours=1)
    facts = [
        problem("closed", problem_id=1),
        problem("resolved", problem_id=2),
        problem("accepted", problem_id=3, resolution_due_at=NOW + 48 * hour),
        problem("accepted", problem_id=4, resolution_due_at=NOW - hour),
        problem("open", problem_id=5, response_due_at=NOW + hour, resolution_due_at=NOW + 96 * hour),
        problem("answered", problem_id=6, resolution_due_at=NOW + 96 * hour, promised_due_at=NOW + 24 * hour),
        problem("accepted", problem_id=7, level=2, resolution_due_at=NOW - 30 * hour),
        problem("open", problem_id=8),
        # Above the unit the 受理 deadline no longer runs.
        problem("open", problem_id=9, level=1, response_due_at=NOW - 50 * hour, resolution_due_at=NOW + 72 * hour),
    ]
    assert [f.problem_id for f in sorted(facts, key=lambda f: urgency(f, NOW))] == [7, 4, 5, 6, 3, 9, 8, 2, 1]


@given(st.sampled_from(sorted(VIEWERS)), st.sampled_from(sorted(ACTS)), st.integers(0, 3), st.booleans())
def test_whoever_may_act_sees_the_problem(who: str, status: str, level: int, staffed: bool) -> None:
    facts = problem(status, level=level, unit_staffed=staffed)
    if allowed_acts(VIEWERS[who], facts):
        assert can_see(VIEWERS[who], facts)


def test_overdue_is_a_running_deadline_passed() -> None:
    hour = timedelta(hours=1)
    assert overdue(problem("open", response_due_at=NOW - hour, resolution_due_at=NOW + hour), NOW)
    assert not overdue(problem("accepted", response_due_at=NOW - hour, resolution_due_at=NOW + hour), NOW)
    assert overdue(problem("answered", resolution_due_at=NOW + hour, promised_due_at=NOW), NOW)
    assert not overdue(problem("resolved", resolution_due_at=NOW - hour), NOW)  # the clocks stopped
    assert not overdue(problem("open"), NOW)


def test_a_stand_in_sees_and_comments_on_the_absent_leads_problems_only() -> None:
    """Another 包抓领导 standing in for the project's lead (bot.domain.leave) is tied to its problems as its lead;
    the same person on another day, or standing in for someone else, is not."""
    standing = Viewer(OTHER_LEAD, frozenset({"lead"}), stands_for=frozenset({LEAD}))
    assert ties(standing, problem()) == {Tie.LEAD}
    assert refusal(standing, problem("answered", level=1), Act.COMMENT) is None
    assert not can_see(Viewer(OTHER_LEAD, frozenset({"lead"})), problem())
    assert not can_see(Viewer(OTHER_LEAD, frozenset({"lead"}), stands_for=frozenset({TOP})), problem())
    assert not can_see(standing, DECISION)


def test_a_stand_in_follows_the_absent_leads_projects_while_standing_in() -> None:
    """The web pages a stand-in may open: the absent lead's projects, as their 包抓领导, only while standing in."""
    project = ProjectFacts(liaison_id=LIAISON, lead_official_id=LEAD, lead_unit_id=UNIT)
    assert follows_project(Viewer(OTHER_LEAD, frozenset({"lead"}), stands_for=frozenset({LEAD})), project)
    assert not follows_project(VIEWERS["other lead"], project)
    assert not follows_project(Viewer(OTHER_LEAD, frozenset({"lead"}), stands_for=frozenset({TOP})), project)
    assert not follows_project(Viewer(OTHER_LEAD, frozenset({"lead"}), stands_for=frozenset({LEAD})),
                               ProjectFacts(liaison_id=LIAISON, lead_official_id=None, lead_unit_id=UNIT))


def test_a_top_official_holds_in_his_own_right_only_the_projects_tied_to_him() -> None:
    """Top officials and admins follow every project, but hold in their own right only those tied to them: what
    /mine and /project list apart from the projects a 区领导 holds as a 包抓领导's stand-in (marked 代)."""
    project = ProjectFacts(liaison_id=LIAISON, lead_official_id=LEAD, lead_unit_id=UNIT,
                           supporting_unit_ids=frozenset({OTHER_UNIT}))
    own = {who for who, v in VIEWERS.items() if follows_in_own_right(v, project)}
    assert own == {"liaison", "lead", "unit", "other unit"}
    standing = Viewer(TOP, frozenset({"top"}), stands_for=frozenset({LEAD}))
    assert follows_project(standing, project) and not follows_in_own_right(standing, project)
    assert follows_in_own_right(Viewer(TOP, frozenset({"top", "lead"})),
                                ProjectFacts(liaison_id=LIAISON, lead_official_id=TOP, lead_unit_id=UNIT))
