"""When a change of a project's annual plan needs a 确认: it moves a ranking figure a lot.

A plan changed by more than `max_change` of the old plan (30 % by default), or one that leaves the
completion rate above `max_rate` (120 % by default), is shown with its consequence (完成率 before → after)
before it is applied. Pure: the caller passes the figures and the thresholds (settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.progress import completion_rate

DEFAULT_MAX_CHANGE = 0.30
DEFAULT_MAX_RATE = 1.20


@dataclass(frozen=True)
class PlanChange:
    """A plan change and what it does to the completion rate; `change` is the relative change (None from 0)."""

    old_plan: Decimal
    new_plan: Decimal
    ytd_done: Decimal
    rate_before: float | None
    rate_after: float | None
    change: float | None
    big_change: bool
    over_rate: bool

    @property
    def needs_confirmation(self) -> bool:
        return self.big_change or self.over_rate


def plan_change(old_plan: Decimal, new_plan: Decimal, ytd_done: Decimal, *, max_change: float = DEFAULT_MAX_CHANGE,
                max_rate: float = DEFAULT_MAX_RATE) -> PlanChange:
    """Weigh a change of the annual plan from `old_plan` to `new_plan` with `ytd_done` completed this year."""
    change = None if old_plan <= 0 else float((new_plan - old_plan) / old_plan)
    rate_after = completion_rate(ytd_done, new_plan)
    return PlanChange(
        old_plan=old_plan, new_plan=new_plan, ytd_done=ytd_done, rate_before=completion_rate(ytd_done, old_plan),
        rate_after=rate_after, change=change,
        big_change=(change is None and new_plan > 0) or (change is not None and abs(change) > max_change),
        over_rate=rate_after is not None and rate_after > max_rate,
    )
