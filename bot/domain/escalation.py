"""Problem deadlines and escalation, as pure decisions.

A problem sits at one level of the chain: 0 the assigned unit, 1 the project's lead official (包抓领导),
2 the top official(s) (区长), 3 区委书记 / the leading group. Clocks are counted in China's working days
from the moment the problem reached its level:

* the **response** clock runs at level 0 only, until the unit accepts or answers: a problem nobody has
  taken up goes to the lead official;
* the **resolution** clock runs at every level until the unit reports the problem resolved. Each level's
  limit is a setting (包抓领导 5, 区长 5, 区委书记 5 by default).

What escalates is the problem, not a leader's silence: a leader who writes no 批示 is never passed over;
the problem goes up only when it is still unsolved past the level's resolution deadline, and the
resolution clock starts again at the new level. At the top level a breach is reported once as overdue
and nothing moves.

A unit's **promised date** (承诺完成日期) is a commitment inside the resolution deadline: the unit is
reminded on the working day before it (`Nudge("promise")`), and a promise not kept by the end of that
day is reported once as overdue to everyone on the problem (`Overdue("promise")`), while the resolution
deadline goes on driving escalation. A promise due with the deadline is overdue with it: the escalation (or, at
the top level, the deadline's overdue notice) says so, and no notice of its own follows (`settles`). At the
unit, a promise on the deadline itself (an approved extension makes the asked day both) is not reminded of
apart either: the deadline's own reminder, to the same unit, says it.

A decision taken at a dispatch meeting (议定事项, `Problem.kind == "decision"`) is followed the same
way, but it belongs to no project and so has no lead official: it skips level 1 and goes from the
assigned unit straight to 区长 (`skipped_levels`, `next_level`). So does a project's problem assigned to
the unit its lead official belongs to (`lead_in_unit`): going up from his unit to himself would cost his
level's days for nothing; the history says why the level was passed over (`passed_between`).
A nudge goes out at `nudge_at` on the working day before each deadline. The policy is snapshotted onto
the problem when it is raised (`SlaPolicy.to_json`), so later edits don't rewrite open problems' history.

Nothing here reads a clock or the database: the escalation job loads a problem, asks `decide`,
applies the returned actions and stores `next_check_at`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal

from bot.domain.worded import worded
from bot.domain.workdays import SHANGHAI, Deadline, WorkCalendar, deadline_after

TOP_LEVEL = 3
MAYOR_LEVEL = 2  # the 区长's: from here up a problem is the top officials' own
LEVEL_NAMES: tuple[str, ...] = tuple(worded("code_labels.j2", "level_names"))  # by level: 责任单位 … 区委书记/领导小组
CATEGORIES = ("用地", "征地拆迁", "资金", "审批手续", "水电路气", "用工", "阻工与施工环境", "规划设计", "其他")
ACTIVE = frozenset({"open", "accepted", "answered"})
DECISION_CATEGORY = "议定事项"
DECISION_SKIPPED_LEVELS = frozenset({1})
NO_PROJECT, LEAD_IN_UNIT = "no_project", "lead_in_unit"  # why a level is passed over (`passed_over`)
Clock = Literal["response", "resolution", "promise"]
RESPONSE_LEVELS = frozenset({0})  # levels whose holders must take a problem up in time

DEFAULT_RESOLUTION_BY_CATEGORY: dict[str, int] = {
    "审批手续": 3, "水电路气": 5, "资金": 10, "用地": 10, "征地拆迁": 15,
}


@dataclass(frozen=True)
class SlaPolicy:
    """Working-day limits per clock and level. Level 0's resolution limit depends on the category.

    `response_days` keeps one entry per level (stored snapshots have four) but only level 0's is used:
    above the unit there is no response deadline (see the module docstring)."""

    response_days: tuple[int, int, int, int] = (1, 1, 1, 1)
    resolution_by_category: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RESOLUTION_BY_CATEGORY))
    resolution_default: int = 5
    resolution_days_above: tuple[int, int, int] = (5, 5, 5)
    end_of_day: time = time(17, 30)
    nudge_at: time = time(9, 0)

    def __post_init__(self) -> None:
        days = [*self.response_days, *self.resolution_by_category.values(), self.resolution_default,
                *self.resolution_days_above]
        if len(self.response_days) != TOP_LEVEL + 1 or len(self.resolution_days_above) != TOP_LEVEL:
            raise ValueError("one response limit per level and one resolution limit per level above 0")
        if any(not isinstance(d, int) or d < 1 or d > 250 for d in days):
            raise ValueError("limits are whole working days from 1 to 250")

    def response_limit(self, level: int) -> int:
        return self.response_days[level]

    def resolution_limit(self, category: str, level: int) -> int:
        if level == 0:
            return self.resolution_by_category.get(category, self.resolution_default)
        return self.resolution_days_above[level - 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "response_days": list(self.response_days),
            "resolution_by_category": dict(self.resolution_by_category),
            "resolution_default": self.resolution_default,
            "resolution_days_above": list(self.resolution_days_above),
            "end_of_day": self.end_of_day.strftime("%H:%M"),
            "nudge_at": self.nudge_at.strftime("%H:%M"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlaPolicy:
        base = cls()
        return cls(
            response_days=tuple(data.get("response_days", base.response_days)),  # type: ignore[arg-type]
            resolution_by_category=dict(data.get("resolution_by_category", base.resolution_by_category)),
            resolution_default=int(data.get("resolution_default", base.resolution_default)),
            resolution_days_above=tuple(data.get("resolution_days_above", base.resolution_days_above)),  # type: ignore[arg-type]
            end_of_day=time.fromisoformat(data.get("end_of_day", "17:30")),
            nudge_at=time.fromisoformat(data.get("nudge_at", "09:00")),
        )


@dataclass(frozen=True)
class LevelClocks:
    """The two deadlines a problem gets when it reaches a level."""

    response: Deadline
    resolution: Deadline

    @property
    def estimated(self) -> bool:
        return self.response.estimated or self.resolution.estimated


def clocks_for_level(policy: SlaPolicy, calendar: WorkCalendar, *, category: str, level: int,
                     started_at: datetime) -> LevelClocks:
    return LevelClocks(
        response=deadline_after(calendar, started_at, policy.response_limit(level), end_of_day=policy.end_of_day),
        resolution=deadline_after(calendar, started_at, policy.resolution_limit(category, level),
                                  end_of_day=policy.end_of_day),
    )


@dataclass(frozen=True)
class ProblemClock:
    """The part of a problem the escalation rules look at."""

    status: str
    level: int
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    nudged: frozenset[str] = frozenset()
    level_started_at: datetime | None = None
    skipped: frozenset[int] = frozenset()  # levels this problem passes over (see `skipped_levels`)
    promised_due_at: datetime | None = None  # the end of the unit's promised day, if it promised one


@dataclass(frozen=True)
class Nudge:
    """Remind the current level that a deadline is near. `key` is stored so it is sent once."""

    clock: Clock
    due_at: datetime
    key: str


@dataclass(frozen=True)
class Escalate:
    """Move the problem up to `to_level` because `clock` was breached. `settles`: the `nudged` keys the
    escalation speaks for (the overdue notice of a promise that fell due with the breached deadline), for the
    caller to record with it."""

    clock: Clock
    to_level: int
    due_at: datetime
    settles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Overdue:
    """A breach at the top level: reported once (`key`), nothing moves. `settles`: as for `Escalate`, the
    overdue notice of a promise due with the breached deadline, which this notice speaks for."""

    clock: Clock
    due_at: datetime
    key: str
    settles: tuple[str, ...] = ()


Action = Nudge | Escalate | Overdue


def notice_key(action: Nudge | Overdue) -> str:
    """What tells one reminder or overdue notice from another in the outbox: its `nudged` key, with the deadline
    it speaks of for a deadline's (a promise's key has its day already). A deadline set anew
    (``deadline_set_anew``) is reminded of and reported overdue again, in a notice of its own."""
    if action.clock == "promise":
        return action.key
    return f"{action.key}:{action.due_at.astimezone(SHANGHAI):%Y-%m-%dT%H:%M}"


@dataclass(frozen=True)
class Decision:
    """What to do now, and when the problem next needs looking at (None: never, it is no longer active)."""

    actions: tuple[Action, ...]
    next_check_at: datetime | None


def lead_in_unit(*, lead_unit_id: int | None, lead_active: bool, unit_id: int) -> bool:
    """Whether the project's lead official belongs to the unit the problem is assigned to (he heads it or
    handles it): going up from that unit to him would bring the problem back to his own unit's door."""
    return lead_active and lead_unit_id is not None and lead_unit_id == unit_id


def passed_over(*, has_project: bool, lead_in_unit: bool = False) -> dict[int, str]:
    """The levels a problem passes over, each with why: level 1 for a meeting decision, which has no project
    and so no lead official (`NO_PROJECT`); level 1 when the lead official belongs to the assigned unit
    (`LEAD_IN_UNIT`): the problem goes from the unit straight to 区长 instead of spending his level's days on
    his own unit's problem."""
    if not has_project:
        return dict.fromkeys(DECISION_SKIPPED_LEVELS, NO_PROJECT)
    if lead_in_unit:
        return {1: LEAD_IN_UNIT}
    return {}


def skipped_levels(*, has_project: bool, lead_in_unit: bool = False) -> frozenset[int]:
    """The levels a problem passes over (`passed_over`, without the reasons)."""
    return frozenset(passed_over(has_project=has_project, lead_in_unit=lead_in_unit))


def passed_between(from_level: int, to_level: int, passed: Mapping[int, str]) -> list[str]:
    """Why a problem going up from `from_level` to `to_level` passed over the levels between (for its history)."""
    return [why for level, why in sorted(passed.items()) if from_level < level < to_level]


def next_level(level: int, skipped: frozenset[int] = frozenset()) -> int:
    """The level a breach at `level` moves a problem to (never past the top)."""
    up = level + 1
    while up in skipped and up < TOP_LEVEL:
        up += 1
    return min(up, TOP_LEVEL)


def levels_reached(level: int, skipped: frozenset[int] = frozenset()) -> list[int]:
    """The levels a problem now at `level` has been through, lowest first."""
    return [n for n in range(level + 1) if n not in skipped]


def nudge_time(calendar: WorkCalendar, due_at: datetime, at: time) -> datetime:
    """`at` o'clock (Shanghai) on the working day before the deadline's day."""
    due_day = due_at.astimezone(SHANGHAI).date()
    day_before = calendar.previous_working_day(due_day)
    return datetime.combine(day_before, at, tzinfo=SHANGHAI).astimezone(due_at.tzinfo)


def running_clocks(state: ProblemClock) -> list[tuple[Clock, datetime]]:
    """The clocks that can escalate the problem: the unit's response clock and the resolution clock."""
    clocks: list[tuple[Clock, datetime]] = []
    if state.status == "open" and state.level in RESPONSE_LEVELS and state.response_due_at is not None:
        clocks.append(("response", state.response_due_at))
    if state.status in ACTIVE and state.resolution_due_at is not None:
        clocks.append(("resolution", state.resolution_due_at))
    return clocks


def on_estimate(state: ProblemClock, *, response: bool, resolution: bool) -> bool:
    """按预估日历: whether a deadline the problem runs on was counted on an estimated calendar (a day of a year
    whose official holidays are not entered, bot.domain.workdays). `response` and `resolution` say it of each
    deadline as the problem now has it; only a running clock's counts (the response clock while the unit has
    not taken the problem up, the resolution clock while it is active), and a deadline set anew brings its
    own mark, whatever the one it replaces had."""
    running = {name for name, _due in running_clocks(state)}
    return ("response" in running and response) or ("resolution" in running and resolution)


def deadline_set_anew(nudged: Iterable[str], clock: Clock, level: int) -> list[str]:
    """The `nudged` keys left when the deadline of ``clock`` at ``level`` is set anew (an approved extension, a
    problem sent back to work): its reminder and its overdue notice were the old deadline's, so the new one is
    reminded of and, once passed, reported overdue again, and none of the old one's notices marks it any more."""
    return [key for key in nudged if key not in (f"nudge:{clock}:{level}", f"overdue:{clock}:{level}")]


def promise_key(state: ProblemClock, kind: str) -> str:
    """The `nudged` key of a promise's reminder or overdue notice: one per promised day."""
    assert state.promised_due_at is not None
    return f"{kind}:promise:{state.promised_due_at.astimezone(SHANGHAI).date().isoformat()}"


def _promise(state: ProblemClock, now: datetime, calendar: WorkCalendar, policy: SlaPolicy
             ) -> tuple[list[Action], list[datetime]]:
    """The promise's reminder (the working day before, to the unit) and its overdue notice, each once; none for
    a promise on the resolution deadline whose own reminder runs (the same moment said twice)."""
    if state.status not in ACTIVE or state.promised_due_at is None or _on_the_deadline(state, calendar, policy):
        return [], []
    due = state.promised_due_at
    if due <= now:
        key = promise_key(state, "overdue")
        return ([Overdue("promise", due, key)] if key not in state.nudged else []), []
    checks = [due]
    key = promise_key(state, "nudge")
    remind = nudge_time(calendar, due, policy.nudge_at)
    if key not in state.nudged:
        if remind <= now:
            return [Nudge("promise", due, key)], checks
        checks.append(remind)
    return [], checks


def _on_the_deadline(state: ProblemClock, calendar: WorkCalendar, policy: SlaPolicy) -> bool:
    """Whether the promised day ends when the resolution deadline does, at the unit (whom both reminders go to;
    above it the deadline's goes to the leader), and that deadline is reminded of at its level (its reminder falls
    after the level began): the deadline's reminder and breach then speak for the promise."""
    if state.level != 0 or state.resolution_due_at is None or state.promised_due_at != state.resolution_due_at:
        return False
    remind = nudge_time(calendar, state.resolution_due_at, policy.nudge_at)
    return state.level_started_at is None or remind > state.level_started_at


def _settled(state: ProblemClock, name: Clock, due: datetime) -> tuple[str, ...]:
    """The promise's overdue key a breach of the resolution deadline speaks for: the promise falls due with it."""
    if name == "resolution" and state.status in ACTIVE and state.promised_due_at == due:
        return (promise_key(state, "overdue"),)
    return ()


def decide(state: ProblemClock, now: datetime, *, calendar: WorkCalendar, policy: SlaPolicy) -> Decision:
    """The actions due at `now` for this problem, and when to look again.

    A breach escalates once (the earliest breached clock wins; the caller resets both clocks at the new
    level). Nudges and top-level overdue notices carry a key that the caller records in `nudged`.
    """
    clocks = running_clocks(state)
    if not clocks:
        return Decision((), None)
    breached = sorted((due, name) for name, due in clocks if due <= now)
    if breached and state.level < TOP_LEVEL:
        due, name = breached[0]
        # A promise due with the breached deadline is overdue with it: the escalation says so, not a notice after.
        return Decision((Escalate(name, next_level(state.level, state.skipped), due, _settled(state, name, due)),),
                        now)
    # At the top level each breached clock is reported once (a promise due with the deadline in its notice, to the
    # same people), and the clocks still running keep their nudges and deadlines (a response breach must not
    # silence the resolution clock).
    actions_list: list[Action] = [
        Overdue(name, due, f"overdue:{name}:{state.level}", _settled(state, name, due)) for due, name in breached
        if f"overdue:{name}:{state.level}" not in state.nudged
    ]
    settled = {key for action in actions_list if isinstance(action, Overdue) for key in action.settles}
    promised, checks = _promise(dataclasses.replace(state, nudged=state.nudged | settled), now, calendar, policy)
    actions_list += promised
    if promised:
        checks.append(now)  # due now: a caller that only schedules (after an escalation) must look again
    for name, due in clocks:
        if due <= now:
            continue
        key = f"nudge:{name}:{state.level}"
        remind = nudge_time(calendar, due, policy.nudge_at)
        too_early = state.level_started_at is not None and remind <= state.level_started_at
        if key not in state.nudged and not too_early:
            if remind <= now:
                actions_list.append(Nudge(name, due, key))
            else:
                checks.append(remind)
        checks.append(due)
    return Decision(tuple(actions_list), min(checks) if checks else None)


__all__ = [
    "ACTIVE", "CATEGORIES", "MAYOR_LEVEL", "DECISION_CATEGORY", "DECISION_SKIPPED_LEVELS", "LEAD_IN_UNIT",
    "LEVEL_NAMES", "NO_PROJECT",
    "RESPONSE_LEVELS", "TOP_LEVEL", "Action", "Decision", "Escalate", "LevelClocks", "Nudge", "Overdue",
    "ProblemClock", "SlaPolicy", "clocks_for_level", "decide", "levels_reached", "next_level", "nudge_time",
    "deadline_set_anew", "lead_in_unit", "notice_key", "on_estimate", "passed_between", "passed_over", "promise_key",
    "running_clocks", "skipped_levels",
]
