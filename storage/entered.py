"""When a project came into the ledger: the instant it was imported or added (``Project.created_at``, written
once when its row is inserted and never changed by a later import), or the day of the ledger that brought it
in when that is earlier (``Project.baseline_date``, its 截至 day: the ledger's figures of the project stand as of
that day, so a ledger imported on Monday morning with figures of the end of last month lists its projects in
last week's bulletin). A period's figures count the projects in the ledger by the end of its cut-off day.
Reports are owed from the instant only (``bot.domain.duties.entered_by``): nobody could report before it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_

from bot.clock import day_start, to_local
from storage.models import Project

__all__ = ["entered_by", "entered_on"]


def entered_by(day: date) -> ColumnElement[bool]:
    """The projects in the ledger by the end of the local ``day``."""
    return or_(Project.created_at < day_start(day + timedelta(days=1)), Project.baseline_date <= day)


def entered_on(created_at: datetime, baseline_date: date | None) -> date:
    """The local day a project came into the ledger (``entered_by`` for one project read whole)."""
    created = to_local(created_at).date()
    return created if baseline_date is None else min(created, baseline_date)
