"""Assembling a bulletin's standings from per-project figures: ranks, group scores, praise/urge/warn lists.

Pure: no I/O and no clock. The queries that produce the per-project figures live in
storage/project_figures.py; this module only decides who stands where.

Decisions made here (and relied on by the bulletins):

- Projects are ranked by their gap against schedule (completion rate minus 序时进度) as published, to one
  decimal (bot.domain.ranking.rank), highest first, with competition ranking (1, 2, 2, 4); projects sharing
  a place are listed by their exact gap, then by code. Projects without an annual plan have no gap: they
  are unranked (rank None) and listed last, by code.
- Lead units are grouped by the project's lead unit, towns by the project's location (建设地点).
  Projects whose location is empty belong to no town and are left out of the town ranking (a
  "未填写" pseudo-town would be praised or urged like a real one); they still count for their lead
  unit, for the project ranking and for the start/finish rates.
- A group's investment part is ``investment_index`` over its projects' completion rates; its
  punctuality part is the pooled share of due days with a report over all its projects (a day is due
  as ``bot.domain.duties.report_due`` says: a 竣工/投产 project owes none, so it neither lowers nor raises
  its group's share; a group whose projects owed nothing has no punctuality part); its problem part
  is the share of problems closed within deadline of the unit with the group's name (for a town, the
  town government as a unit answering problems), None when nothing was due; its node part is the pooled
  node punctuality of its projects (``bot.domain.nodes``: the nodes of the cut-off day's year done on time
  among those counted), None when none is counted. A part that is None is left out of the score and the
  other weights renormalised (``composite_score``).
- Praise and urge lists are the top and bottom ``praise_n`` ranked projects (ties with the n-th are
  included, see ``praise_and_urge``); praise never goes to a project at 0 % (``deserves_praise``) or
  without a plan for the year (unranked, like the urge list). Every red project is warned, most behind first.
  A finished project (竣工/投产: it owes no more reports) keeps its place, light and money in the ranking but
  is neither urged nor warned: there is nothing left to push it to do.
- 开工率/竣工率 are for the cut-off day's year. Projects whose stage is not one of STAGES are left out
  of both rates rather than failing the whole bulletin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from bot.domain.progress import (
    DEFAULT_LIGHT_THRESHOLDS,
    STAGES,
    LightThresholds,
    StageInfo,
    schedule_progress,
    start_and_finish_rates,
)
from bot.domain.ranking import (
    DEFAULT_SCORE_WEIGHTS,
    Ranked,
    ScoreWeights,
    composite_score,
    investment_index,
    praise_and_urge,
    rank,
    share,
)
from bot.domain.stage_events import not_started
from bot.domain.standings import GroupStanding, ProjectStanding, Standings
from storage.rows import gc_paused

__all__ = [
    "assemble",
    "deserves_praise",
    "gc_paused",
    "group_standings",
    "project_places",
    "rank_projects",
]


def _with_rank(project: ProjectStanding, place: int | None) -> ProjectStanding:
    """``replace(project, rank=place)``, cheaply: a district has some 10,000 projects and ``replace``
    re-runs ``__init__`` over every field, which is most of a bulletin's Python time."""
    if project.rank == place:
        return project  # frozen: sharing is safe
    try:
        state = vars(project)
    except TypeError:  # a slotted dataclass has no __dict__ to copy
        return replace(project, rank=place)
    clone = object.__new__(type(project))
    vars(clone).update(state)
    vars(clone)["rank"] = place
    return clone


def project_places(keys: Sequence[tuple[float | None, str]]) -> list[int | None]:
    """The rank each (gap, code) gets under ``rank_projects``, in input order.

    For building standings with their rank already set (``assemble`` then keeps them as they are
    instead of copying every one).
    """
    places: list[int | None] = [None] * len(keys)
    for ranked in rank(range(len(keys)), score=lambda i: keys[i][0], tiebreak=lambda i: keys[i][1]):
        places[ranked.item] = ranked.rank
    return places


def rank_projects(projects: Iterable[ProjectStanding]) -> list[Ranked[ProjectStanding]]:
    """The projects in ranking order with ``rank`` filled (by gap as published; a shared place by exact gap,
    then code; no plan unranked last).

    Projects whose ``rank`` is already right are kept as they are; the others are copied.
    """
    ranked = rank(projects, score=lambda p: p.gap, tiebreak=lambda p: p.code)
    return [r if r.item.rank == r.rank else Ranked(_with_rank(r.item, r.rank), r.score, r.rank)
            for r in ranked]


def deserves_praise(project: ProjectStanding) -> bool:
    """Praise goes only to a project with a plan for the year and something done against it (a project at
    0 % is never praised, however the others stand)."""
    return project.rate is not None and project.rate > 0 and project.ytd_done > 0


def _groups(
    projects: Iterable[ProjectStanding], key: Callable[[ProjectStanding], str | None]
) -> dict[str, list[ProjectStanding]]:
    grouped: dict[str, list[ProjectStanding]] = {}
    for project in projects:
        name = key(project)
        if name is None or not name.strip():
            continue
        grouped.setdefault(name.strip(), []).append(project)
    return grouped


def group_standings(
    projects: Iterable[ProjectStanding],
    key: Callable[[ProjectStanding], str | None],
    *,
    schedule: float,
    problem_shares: Mapping[str, float | None],
    weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS,
) -> list[GroupStanding]:
    """Score and rank the groups ``key`` puts the projects in (a None or blank key: no group).

    Returned in ranking order (score highest first, ties by name, unscored last) with ``rank`` filled.
    """
    groups: list[GroupStanding] = []
    for name, members in _groups(projects, key).items():
        investment = investment_index((p.rate for p in members), schedule)
        punctuality = share(sum(p.reported_days for p in members), sum(p.working_days for p in members))
        problems = problem_shares.get(name)
        nodes = share(sum(p.nodes_on_time for p in members), sum(p.nodes_due for p in members))
        groups.append(GroupStanding(
            name=name,
            projects=len(members),
            investment=investment,
            punctuality=punctuality,
            problems=problems,
            score=composite_score(investment, punctuality, problems, weights, nodes=nodes),
            nodes=nodes,
        ))
    ranked = rank(groups, score=lambda g: g.score, tiebreak=lambda g: g.name)
    return [replace(r.item, score=r.score, rank=r.rank) for r in ranked]


def _stage_infos(projects: Iterable[ProjectStanding]) -> list[StageInfo]:
    return [StageInfo(stage=p.stage, planned_start=p.planned_start, planned_finish=p.planned_finish,
                      started_on=p.started_on, finished_on=p.finished_on)
            for p in projects if p.stage in STAGES]


def assemble(
    period: str,
    cutoff: date,
    projects: list[ProjectStanding],
    unit_problem_shares: Mapping[str, float | None],
    weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS,
    thresholds: LightThresholds = DEFAULT_LIGHT_THRESHOLDS,
    praise_n: int = 3,
) -> Standings:
    """Everything a bulletin shows for ``period``, from the per-project figures on ``cutoff``.

    ``unit_problem_shares`` maps a unit's name to its share of problems closed within deadline
    (a missing name counts as None: nothing to measure). ``thresholds`` are only recorded on the
    result: the projects' lights were set when their figures were computed.
    """
    with gc_paused():
        return _assemble(period, cutoff, projects, unit_problem_shares, weights, thresholds, praise_n)


def _assemble(
    period: str,
    cutoff: date,
    projects: list[ProjectStanding],
    unit_problem_shares: Mapping[str, float | None],
    weights: ScoreWeights,
    thresholds: LightThresholds,
    praise_n: int,
) -> Standings:
    schedule = schedule_progress(cutoff)
    by_rank = rank_projects(projects)
    ranked = [r.item for r in by_rank]
    praised, urged = praise_and_urge(by_rank, praise_n)
    praised = [r for r in praised if deserves_praise(r.item)]
    urged = [r for r in urged if not r.item.finished]
    warned = sorted((p for p in ranked if p.light == "red" and not p.finished),
                    key=lambda p: (p.gap if p.gap is not None else 0.0, p.code))
    units = group_standings(ranked, lambda p: p.lead_unit, schedule=schedule,
                            problem_shares=unit_problem_shares, weights=weights)
    towns = group_standings(ranked, lambda p: p.town, schedule=schedule,
                            problem_shares=unit_problem_shares, weights=weights)
    start, finish = start_and_finish_rates(_stage_infos(ranked), cutoff.year)
    return Standings(
        period=period,
        cutoff=cutoff,
        schedule=schedule,
        projects=ranked,
        units=units,
        towns=towns,
        praised=[r.item for r in praised],
        urged=[r.item for r in urged],
        warned=warned,
        start_rate=start,
        finish_rate=finish,
        # the longest overdue first: a list cut short names those
        not_started=sorted((p for p in ranked if not_started(p.stage, p.planned_start, cutoff)),
                           key=lambda p: (p.planned_start, p.code)),
        weights=weights,
        thresholds=thresholds,
    )
