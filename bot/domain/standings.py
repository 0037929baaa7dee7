"""The figures digests are made of: where each project, lead unit and town stands on a cut-off day.

Plain frozen dataclasses shared by the service that fills them (bot/services/standings.py, from the
queries of storage/project_figures.py), the pure assembly of a bulletin (bot/weekly.py) and its renderings
(text templates, chart, Excel ledger).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.progress import (
    DEFAULT_LIGHT_THRESHOLDS,
    FINISHED_STAGES,
    Light,
    LightThresholds,
    RateCount,
    completion_rate,
)
from bot.domain.ranking import DEFAULT_SCORE_WEIGHTS, ScoreWeights, share


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
    reported_days: int  # days of the window a report was due and came in
    working_days: int  # days of the window a report was due (bot.domain.duties.report_due): 0 for 竣工/投产
    open_problems: int
    planned_start: date | None = None
    planned_finish: date | None = None
    rank: int | None = None
    started_on: date | None = None  # the confirmed 开工 day (bot.domain.stage_events), if one was reported
    finished_on: date | None = None  # the confirmed 竣工 day
    nodes_on_time: int = 0  # nodes of the cut-off day's year done on time (bot.domain.nodes.on_time_count)
    nodes_due: int = 0  # nodes of that year counted on the cut-off day: done, or planned before it
    # finished on the cut-off day (from its 竣工 day, bot.domain.nodes.finished_since); None: as its stage says
    finished_then: bool | None = None
    # a 补报 of the 项目办's is among the reports counted: with no last_report_at, 最近填报 says so
    backfilled: bool = False

    @property
    def punctuality(self) -> float | None:
        """Share of the window's days a report was due that have one; None when none was due (a finished
        project, a window of rest days)."""
        return None if self.working_days == 0 else self.reported_days / self.working_days

    @property
    def finished(self) -> bool:
        """竣工 or 投产 on the cut-off day: it owes no more reports, and is neither urged nor warned
        (``bot.weekly``)."""
        return self.finished_then if self.finished_then is not None else self.stage in FINISHED_STAGES

    @property
    def node_punctuality(self) -> float | None:
        """Share of the counted nodes done on time (节点按期率); None when none is counted."""
        return share(self.nodes_on_time, self.nodes_due)


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
    nodes: float | None = None  # node punctuality pooled over its projects' counted nodes (None: none counted)


@dataclass(frozen=True)
class ProblemEventRow:
    """One event of a problem's history as the ledger lists it; worded, as on the problem card, by the template
    _problem_event.j2."""

    at: datetime
    kind: str
    actor: str | None  # the person's name; None: the system (an escalation)
    text: str | None
    detail: Mapping[str, Any]
    resolution_due_at: datetime | None = None  # the deadline the problem ran on after it, when recorded
    response_due_at: datetime | None = None  # its response deadline (受理时限) after it, when recorded


@dataclass(frozen=True)
class ProblemRow:
    """A problem as listed in the ledger export and bulletins, with its history, oldest event first."""

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
    events: tuple[ProblemEventRow, ...]


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
    not_started: list[ProjectStanding] = field(default_factory=list)  # planned to start by now, not started
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
    def ranked_units(self) -> list[GroupStanding]:
        """The lead units with a score, in ranking order: those a 第 X/N 名 counts (the unscored are not ranked)."""
        return [g for g in self.units if g.rank is not None]

    @property
    def ranked_towns(self) -> list[GroupStanding]:
        """The towns with a score, in ranking order."""
        return [g for g in self.towns if g.rank is not None]

    @property
    def finished_undated(self) -> int:
        """Projects finished on the cut-off day with no 竣工 day known (finished before those days were recorded,
        and none found in the audit trail): every figure, of any day, reads them as finished."""
        return sum(1 for p in self.projects if p.finished and p.finished_on is None)

    @property
    def red_finished(self) -> int:
        """Red projects already finished (竣工/投产): counted in the lights, not warned (``bot.weekly``)."""
        return sum(1 for p in self.projects if p.light == "red" and p.finished)

    @property
    def unplanned(self) -> list[ProjectStanding]:
        """The projects without a plan for the year (无年度计划): not ranked, never praised or warned."""
        return [p for p in self.projects if p.rate is None]


@dataclass(frozen=True)
class Totals:
    """Projects taken together: the sum of their plans for the year, of what they did this year, and the
    completion that makes (None without a plan). When only some have their year's plan entered, ``unplanned``
    counts the others and ``planned_done``/``planned_rate`` are what the planned ones did against their plan,
    so a headline does not set every project's money against some projects' plans."""

    plan: Decimal
    done: Decimal
    rate: float | None
    unplanned: int = 0
    planned_done: Decimal = Decimal(0)
    planned_rate: float | None = None


def totals(projects: Iterable[ProjectStanding]) -> Totals:
    """The district's (or a leader's, a unit's) projects together, as the bulletins' headline gives them."""
    plan = done = planned_done = Decimal(0)
    unplanned = 0
    for project in projects:
        plan += project.annual_plan
        done += project.ytd_done
        if project.rate is None:
            unplanned += 1
        else:
            planned_done += project.ytd_done
    return Totals(plan=plan, done=done, rate=completion_rate(done, plan), unplanned=unplanned,
                  planned_done=planned_done, planned_rate=completion_rate(planned_done, plan))


def period_opening(start: date, cutoff: date) -> date | None:
    """The day whose year-to-date a period's 本期完成投资 is measured from: the day before the period starts;
    None when the period starts its year (January, Q1, H1, the year): then 本期 is the year-to-date itself."""
    opening = start - timedelta(days=1)
    return opening if opening.year == cutoff.year else None


def period_done(projects: Iterable[ProjectStanding], *, opening: date | None,
                counted_since: Mapping[str, Decimal]) -> Decimal:
    """本期完成投资 of ``projects``: their year-to-date on the cut-off day less their year-to-date on ``opening``
    (``period_opening``; the one rule of ``bot.domain.year_to_date``), so that the previous period's 年度累计 plus
    本期 is this period's 年度累计, a ledger's base counted once, in the period it falls in. ``counted_since``:
    project code → the reports that count in year-to-date dated after ``opening`` up to the cut-off day
    (``storage.report_figures.counted_after``). Without an opening, the year-to-date (``totals``)."""
    if opening is None:
        return totals(projects).done
    return sum((counted_since.get(p.code, Decimal(0)) for p in projects), Decimal(0))
