"""The figures digests are made of: where each project, lead unit and town stands on a cut-off day.

Plain frozen dataclasses shared by the service that fills them (bot/services/standings.py, from the
queries of storage/standings.py), the pure assembly of a bulletin (bot/weekly.py) and its renderings
(text templates, chart, Excel ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from bot.domain.progress import DEFAULT_LIGHT_THRESHOLDS, Light, LightThresholds, RateCount
from bot.domain.ranking import DEFAULT_SCORE_WEIGHTS, ScoreWeights


@dataclass(frozen=True)
class ProjectStanding:
    """One project on the cut-off day. `rank` is its place by completion against schedule (None: no plan)."""

    code: str
    name: str
    category: str | None
    stage: str
    town: str | None
    lead_unit: str
    lead_official: str | None
    lead_official_id: int | None
    liaison: str | None
    liaison_id: int | None
    annual_plan: Decimal
    ytd_done: Decimal
    rate: float | None
    schedule: float
    gap: float | None
    light: Light
    last_report_at: datetime | None
    reported_days: int
    working_days: int
    open_problems: int
    planned_start: date | None = None
    planned_finish: date | None = None
    rank: int | None = None

    @property
    def punctuality(self) -> float | None:
        """Share of the window's working days with a report."""
        return None if self.working_days == 0 else self.reported_days / self.working_days


@dataclass(frozen=True)
class GroupStanding:
    """A lead unit or a town, scored on its projects (each part 0..1, score 0..100)."""

    name: str
    projects: int
    investment: float | None
    punctuality: float | None
    problems: float | None
    score: float | None
    rank: int | None = None


@dataclass(frozen=True)
class ProblemRow:
    """A problem as listed in the ledger export and bulletins."""

    number: str
    project_code: str
    project_name: str
    category: str
    unit: str
    status: str
    level: int
    raised_at: datetime
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    closed_at: datetime | None
    text: str
    history: str


@dataclass(frozen=True)
class Standings:
    """Everything a weekly (or periodic) bulletin shows, as of `cutoff`."""

    period: str
    cutoff: date
    schedule: float
    projects: list[ProjectStanding]
    units: list[GroupStanding]
    towns: list[GroupStanding]
    praised: list[ProjectStanding]
    urged: list[ProjectStanding]
    warned: list[ProjectStanding]
    start_rate: RateCount
    finish_rate: RateCount
    weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS
    thresholds: LightThresholds = field(default_factory=lambda: DEFAULT_LIGHT_THRESHOLDS)

    @property
    def year(self) -> int:
        """The year the figures are measured on (the cut-off day's; its plans, its schedule)."""
        return self.cutoff.year

    @property
    def ranked(self) -> list[ProjectStanding]:
        """The projects with a plan for the year, in ranking order."""
        return [p for p in self.projects if p.rank is not None]

    @property
    def unplanned(self) -> list[ProjectStanding]:
        """The projects without a plan for the year (无年度计划): not ranked, never praised or warned."""
        return [p for p in self.projects if p.rate is None]


@dataclass(frozen=True)
class InvestmentTotals:
    """The whole scheme's (or a selection's) annual plan and year-to-date done, and their ratio."""

    plan: Decimal
    done: Decimal

    @property
    def rate(self) -> float | None:
        return float(self.done / self.plan) if self.plan > 0 else None


def investment_totals(projects: Iterable[ProjectStanding]) -> InvestmentTotals:
    """Σ annual plan and Σ year-to-date done of these projects (a project without a plan adds 0 to the plan):
    the 年度累计完成 … 占年度计划 of the periodic bulletins and the web overview."""
    plan, done = Decimal(0), Decimal(0)
    for p in projects:
        plan += p.annual_plan
        done += p.ytd_done
    return InvestmentTotals(plan=plan, done=done)
