"""When a project came into the ledger: the instant it was imported or added (``Project.created_at``, written
once when its row is inserted and never changed by a later import). A period's figures count the projects in
the ledger by the end of its cut-off day, the same rule as ``bot.domain.duties.entered_by`` (nothing is due
before the day a project came in)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement

from bot.clock import day_start, local_day
from storage.models import Project

__all__ = ["entered_by", "entered_on"]


def entered_by(day: date) -> ColumnElement[bool]:
    """The projects in the ledger by the end of the local ``day``."""
    return Project.created_at < day_start(day + timedelta(days=1))


def entered_on(created_at: datetime) -> date:
    """The local day a project read whole came into the ledger: the first day ``entered_by`` takes it."""
    return local_day(created_at)
