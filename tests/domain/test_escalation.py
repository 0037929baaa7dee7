"""Pure tests of problem deadlines, nudges and escalation decisions."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.escalation import (
    LEAD_IN_UNIT,
    NO_PROJECT,
    Escalate,
    Nudge,
    Overdue,
    ProblemClock,
    SlaPolicy,
    clocks_for_level,
    deadline_set_anew,
    decide,
    lead_in_unit,
    notice_key,
    nudge_time,
    on_estimate,
    passed_between,
    passed_over,
    skipped_levels,
)
from bot.domain.workdays import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
POLICY = SlaPolicy()


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SH)


def test_approval_paperwork_is_due_in_three_working_days_across_national_day() -> None:
    clocks = clocks_for_level(POLICY, CAL, category="审批手续", level=0, started_at=at(2026, 9, 30))
    assert clocks.resolution.local_day.isoformat() == "2026-10-10"  # a 调休 Saturday
    assert clocks.resolution.at.astimezone(SH).time() == time(17, 30)
    assert clocks.response.local_day.isoformat() == "2026-10-08"
    assert not clocks.estimated


@pytest.mark.parametrize(("category", "days"), [("审批手续", 3), ("水电路气", 5), ("资金", 10), ("用地", 10),
                                                ("征地拆迁", 15), ("用工", 5), ("其他", 5)])
def test_resolution_limits_by_category(category: str, days: int) -> None:
    assert POLICY.resolution_limit(category, 0) == days
    assert POLICY.resolution_limit(category, 2) == 5


def test_deadline_into_2027_is_marked_estimated() -> None:
    clocks = clocks_for_level(POLICY, CAL, category="用地", level=0, started_at=at(2026, 12, 28))
    assert clocks.resolution.local_day.year == 2027
    assert clocks.estimated


def _state(status: str, level: int = 0) -> ProblemClock:
    return ProblemClock(status=status, level=level, response_due_at=at(2026, 12, 29, 17, 30),
                        resolution_due_at=at(2027, 1, 8, 17, 30))


@pytest.mark.parametrize(("state", "response", "resolution", "marked"), [
    (_state("open"), True, False, True),  # the unit has not taken it up: its response deadline counts
    (_state("open"), False, True, True),
    (_state("open"), False, False, False),
    (_state("answered"), True, False, False),  # taken up: the response deadline no longer runs
    (_state("accepted", level=1), True, False, False),  # above the unit there is no response clock
    (_state("answered"), False, True, True),
    (_state("resolved"), False, True, False),  # no clock runs: nothing is counted on anything
])
def test_the_estimate_mark_is_that_of_the_running_deadlines(state: ProblemClock, response: bool, resolution: bool,
                                                            marked: bool) -> None:
    assert on_estimate(state, response=response, resolution=resolution) is marked


def test_policy_round_trips_through_json_and_rejects_nonsense() -> None:
    custom = SlaPolicy(response_days=(2, 1, 1, 1), resolution_by_category={"用地": 7}, end_of_day=time(18, 0))
    assert SlaPolicy.from_json(custom.to_json()) == custom
    with pytest.raises(ValueError):
        SlaPolicy(response_days=(0, 1, 1, 1))
    with pytest.raises(ValueError):
        SlaPolicy(response_days=(1, 1, 1))  # type: ignore[arg-type]


def _state(status: str = "open", level: int = 0, nudged: frozenset[str] = frozenset()) -> ProblemClock:
    clocks = clocks_for_level(POLICY, CAL, category="审批手续", level=level, started_at=at(2026, 11, 16))
    return ProblemClock(status=status, level=level, response_due_at=clocks.response.at,
                        resolution_due_at=clocks.resolution.at, nudged=nudged)


def test_nothing_due_before_the_nudge_and_next_check_is_the_nudge() -> None:
    state = _state()  # raised Mon 16 Nov: response due Tue 17 17:30, resolution Thu 19 17:30
    decision = decide(state, at(2026, 11, 16, 8), calendar=CAL, policy=POLICY)
    assert decision.actions == ()
    assert decision.next_check_at == at(2026, 11, 16, 9)  # nudge for the response clock


def test_nudge_goes_out_once_on_the_working_day_before() -> None:
    state = _state()
    decision = decide(state, at(2026, 11, 16, 9, 5), calendar=CAL, policy=POLICY)
    assert [type(a) for a in decision.actions] == [Nudge]
    assert decision.actions[0].key == "nudge:response:0"  # type: ignore[union-attr]
    again = decide(_state(nudged=frozenset({"nudge:response:0"})), at(2026, 11, 16, 9, 6), calendar=CAL,
                   policy=POLICY)
    assert again.actions == ()


def test_response_breach_escalates_one_level() -> None:
    decision = decide(_state(nudged=frozenset({"nudge:response:0"})), at(2026, 11, 17, 17, 31), calendar=CAL,
                      policy=POLICY)
    assert decision.actions == (Escalate("response", 1, _state().response_due_at),)  # type: ignore[arg-type]


def test_accepted_problem_only_runs_the_resolution_clock() -> None:
    state = _state(status="accepted", nudged=frozenset({"nudge:resolution:0"}))
    assert decide(state, at(2026, 11, 18, 12), calendar=CAL, policy=POLICY).actions == ()
    breach = decide(state, at(2026, 11, 19, 17, 31), calendar=CAL, policy=POLICY)
    assert breach.actions == (Escalate("resolution", 1, state.resolution_due_at),)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_resolved_or_closed_problems_are_never_looked_at_again(status: str) -> None:
    decision = decide(_state(status=status), at(2027, 1, 1), calendar=CAL, policy=POLICY)
    assert decision == decision.__class__((), None)


def test_top_level_breach_is_reported_once_and_does_not_move() -> None:
    state = _state(status="accepted", level=3)
    first = decide(state, at(2026, 12, 31), calendar=CAL, policy=POLICY)
    assert [type(a) for a in first.actions] == [Overdue]
    key = first.actions[0].key  # type: ignore[union-attr]
    second = decide(ProblemClock(**{**state.__dict__, "nudged": frozenset({key})}), at(2027, 1, 5),
                    calendar=CAL, policy=POLICY)
    assert second.actions == ()
    assert second.next_check_at is None


def test_nudge_time_skips_back_over_holidays() -> None:
    due = at(2026, 10, 8, 17, 30)  # first working day after National Day; the one before is 30 Sept
    assert nudge_time(CAL, due, time(9, 0)) == at(2026, 9, 30, 9, 0)


def test_no_nudge_when_the_level_started_after_the_nudge_time() -> None:
    state = ProblemClock(**{**_state().__dict__, "level_started_at": at(2026, 11, 16, 10)})
    decision = decide(state, at(2026, 11, 16, 10, 5), calendar=CAL, policy=POLICY)
    assert decision.actions == ()
    assert decision.next_check_at == state.response_due_at


# --- the problem escalates, not a leader's silence ---------------------------------------------------------

def _at_level(level: int, status: str = "open") -> ProblemClock:
    started = at(2026, 11, 17, 17, 30)
    clocks = clocks_for_level(POLICY, CAL, category="审批手续", level=level, started_at=started)
    return ProblemClock(status=status, level=level, response_due_at=clocks.response.at,
                        resolution_due_at=clocks.resolution.at, level_started_at=started)


@pytest.mark.parametrize("level", [1, 2])
def test_above_the_unit_no_response_deadline_escalates(level: int) -> None:
    state = _at_level(level)  # open, nobody wrote a 批示
    assert decide(state, at(2026, 11, 18, 17, 31), calendar=CAL, policy=POLICY).actions == ()
    before = decide(state, at(2026, 11, 24, 17, 29), calendar=CAL, policy=POLICY).actions
    assert not any(isinstance(a, Escalate) for a in before)  # only the reminder of the level's deadline
    [action] = decide(state, at(2026, 11, 24, 17, 30), calendar=CAL, policy=POLICY).actions
    assert action == Escalate("resolution", level + 1, at(2026, 11, 24, 17, 30))


def test_each_level_waits_its_own_setting() -> None:
    policy = SlaPolicy(resolution_days_above=(3, 8, 5))
    assert clocks_for_level(policy, CAL, category="其他", level=1,
                            started_at=at(2026, 11, 17)).resolution.local_day.isoformat() == "2026-11-20"
    assert clocks_for_level(policy, CAL, category="其他", level=2,
                            started_at=at(2026, 11, 17)).resolution.local_day.isoformat() == "2026-11-27"


def test_a_promise_is_reminded_the_day_before_then_overdue_once() -> None:
    base = _state(status="answered")  # resolution due Thu 19 17:30
    state = ProblemClock(**{**base.__dict__, "promised_due_at": at(2026, 11, 18, 17, 30)})
    early = decide(state, at(2026, 11, 16, 12), calendar=CAL, policy=POLICY)
    assert early.actions == () and early.next_check_at == at(2026, 11, 17, 9)
    [nudge] = decide(state, at(2026, 11, 17, 9), calendar=CAL, policy=POLICY).actions
    assert nudge == Nudge("promise", at(2026, 11, 18, 17, 30), "nudge:promise:2026-11-18")
    reminded = ProblemClock(**{**state.__dict__, "nudged": frozenset({nudge.key})})
    actions = decide(reminded, at(2026, 11, 18, 17, 30), calendar=CAL, policy=POLICY).actions
    assert Overdue("promise", at(2026, 11, 18, 17, 30), "overdue:promise:2026-11-18") in actions
    done = ProblemClock(**{**reminded.__dict__, "nudged": frozenset({nudge.key, "overdue:promise:2026-11-18",
                                                                      "nudge:resolution:0"})})
    assert decide(done, at(2026, 11, 18, 17, 31), calendar=CAL, policy=POLICY).actions == ()
    resolved = ProblemClock(**{**state.__dict__, "status": "resolved"})
    assert decide(resolved, at(2026, 11, 18, 17, 31), calendar=CAL, policy=POLICY).actions == ()


def test_a_promise_on_the_deadline_itself_is_reminded_once_with_it() -> None:
    """An approved extension makes the asked day both the deadline and the promise: one reminder, the
    deadline's, and at its end the escalation, not a promise's notices besides."""
    base = _state(status="answered")  # resolution due Thu 19 17:30
    state = ProblemClock(**{**base.__dict__, "promised_due_at": base.resolution_due_at})
    assert decide(state, at(2026, 11, 18, 9), calendar=CAL, policy=POLICY).actions == (
        Nudge("resolution", at(2026, 11, 19, 17, 30), "nudge:resolution:0"),)
    reminded = ProblemClock(**{**state.__dict__, "nudged": frozenset({"nudge:resolution:0"})})
    assert decide(reminded, at(2026, 11, 18, 12), calendar=CAL, policy=POLICY).actions == ()
    [escalate] = decide(reminded, at(2026, 11, 19, 17, 30), calendar=CAL, policy=POLICY).actions
    assert isinstance(escalate, Escalate) and escalate.clock == "resolution"
    assert escalate.settles == ("overdue:promise:2026-11-19",)
    # The tick after, at the new level with the promise kept: the escalation spoke for the promise.
    up = _at_level(1, status="answered")
    after = ProblemClock(**{**up.__dict__, "level_started_at": at(2026, 11, 19, 17, 30),
                            "promised_due_at": state.promised_due_at,
                            "nudged": frozenset({"nudge:resolution:0", *escalate.settles})})
    assert decide(after, at(2026, 11, 19, 17, 30), calendar=CAL, policy=POLICY).actions == ()
    # Above the unit the deadline's reminder goes to the leader: the unit is still reminded of its promise.
    above = ProblemClock(**{**state.__dict__, "level": 1})
    assert {a.clock for a in decide(above, at(2026, 11, 18, 9), calendar=CAL, policy=POLICY).actions} == {
        "promise", "resolution"}


def test_at_the_top_level_a_promise_on_the_deadline_is_overdue_in_the_deadlines_notice() -> None:
    """At the top level the deadline's breach is reported, not escalated: its one overdue notice speaks for the
    promise due with it. A promise falling due after its deadline was reported overdue is reported on its own
    day, once."""
    base = _state(status="answered")
    top = ProblemClock(**{**base.__dict__, "level": 3, "promised_due_at": base.resolution_due_at})
    [overdue] = decide(top, at(2026, 11, 19, 17, 30), calendar=CAL, policy=POLICY).actions
    assert overdue == Overdue("resolution", at(2026, 11, 19, 17, 30), "overdue:resolution:3",
                              ("overdue:promise:2026-11-19",))
    told = ProblemClock(**{**top.__dict__, "nudged": frozenset({overdue.key, *overdue.settles})})
    assert decide(told, at(2026, 11, 19, 18), calendar=CAL, policy=POLICY).actions == ()
    extended = ProblemClock(**{**top.__dict__, "nudged": frozenset({"overdue:resolution:3"})})
    assert decide(extended, at(2026, 11, 19, 17, 30), calendar=CAL, policy=POLICY).actions == (
        Overdue("promise", at(2026, 11, 19, 17, 30), "overdue:promise:2026-11-19"),)


# --- a 包抓领导 who belongs to the problem's own unit ----------------------------------------------------------


def test_a_lead_official_belongs_to_the_unit_only_when_active_and_of_that_unit() -> None:
    assert lead_in_unit(lead_unit_id=7, lead_active=True, unit_id=7)
    assert not lead_in_unit(lead_unit_id=8, lead_active=True, unit_id=7)
    assert not lead_in_unit(lead_unit_id=None, lead_active=True, unit_id=7)
    assert not lead_in_unit(lead_unit_id=7, lead_active=False, unit_id=7)  # admins stand in for him: not passed


def test_levels_passed_over_and_why() -> None:
    assert passed_over(has_project=True) == {}
    assert passed_over(has_project=True, lead_in_unit=True) == {1: LEAD_IN_UNIT}
    assert passed_over(has_project=False) == {1: NO_PROJECT}
    assert passed_over(has_project=False, lead_in_unit=True) == {1: NO_PROJECT}  # no project, no lead official
    assert skipped_levels(has_project=True, lead_in_unit=True) == frozenset({1})
    assert passed_between(0, 2, {1: LEAD_IN_UNIT}) == [LEAD_IN_UNIT]
    assert passed_between(1, 2, {1: LEAD_IN_UNIT}) == []
    assert passed_between(0, 1, {}) == []


def test_a_problem_at_the_lead_officials_own_unit_goes_straight_to_the_mayor() -> None:
    clocks = clocks_for_level(POLICY, CAL, category="审批手续", level=0, started_at=at(2026, 11, 16))
    skipped = skipped_levels(has_project=True, lead_in_unit=True)
    state = ProblemClock(status="accepted", level=0, response_due_at=clocks.response.at,
                         resolution_due_at=clocks.resolution.at, skipped=skipped)
    decision = decide(state, clocks.resolution.at, calendar=CAL, policy=POLICY)
    assert decision.actions == (Escalate("resolution", 2, clocks.resolution.at),)
    plain = ProblemClock(status="accepted", level=0, response_due_at=clocks.response.at,
                         resolution_due_at=clocks.resolution.at)
    assert decide(plain, clocks.resolution.at, calendar=CAL, policy=POLICY).actions[0] == Escalate(
        "resolution", 1, clocks.resolution.at)


def test_a_deadline_set_anew_is_reminded_of_and_reported_overdue_again_in_notices_of_its_own() -> None:
    """An extension approved after the top level's deadline was reported overdue: the old deadline's reminder and
    overdue marks go (the promise's and other levels' stay), and the new deadline's notices have keys of their own."""
    nudged = ["nudge:resolution:3", "overdue:resolution:3", "overdue:promise:2026-11-19", "nudge:resolution:2"]
    assert deadline_set_anew(nudged, "resolution", 3) == ["overdue:promise:2026-11-19", "nudge:resolution:2"]
    base = _state(status="answered")
    top = ProblemClock(**{**base.__dict__, "level": 3, "nudged": frozenset(deadline_set_anew(nudged, "resolution", 3)),
                          "resolution_due_at": at(2026, 11, 24, 17, 30)})
    [overdue] = decide(top, at(2026, 11, 24, 17, 30), calendar=CAL, policy=POLICY).actions
    assert overdue == Overdue("resolution", at(2026, 11, 24, 17, 30), "overdue:resolution:3")
    assert notice_key(overdue) == "overdue:resolution:3:2026-11-24T17:30"
    assert notice_key(Overdue("resolution", at(2026, 11, 19, 17, 30), "overdue:resolution:3")) != notice_key(overdue)
    assert notice_key(Overdue("promise", at(2026, 11, 19, 17, 30), "overdue:promise:2026-11-19")) == (
        "overdue:promise:2026-11-19")
