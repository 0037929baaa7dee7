"""名次变化: how far each line of a ranking moved since the last period, the one definition /rank, the
bulletins (projects, lead units, towns), a leader's digest and the web overview show.

"The last period" is the same standings as of the previous period's end, computed with the same functions
(``bot.services.standings``); these functions only compare two rankings. Pure: no I/O, no clock.

- Places: the old rank minus the new one (positive: up, ↑; negative: down, ↓; 0: 持平).
- 新上榜: ranked now and not ranked before (not in the old standings, or without a plan then).
- Points: for a project, its completion rate now minus then, in percentage points (完成率 +4.2 个百分点),
  worked out from the amounts (年度累计 ÷ 年度计划, in decimal): the rates as binary fractions lose the last
  digits of a difference, and 57 万元 more on a plan of 22,800 (exactly +0.25 points, 四舍五入 +0.3) came out
  0.2499999…, shown +0.2. For a lead unit or town, its composite score now minus then (分), the two scores
  rounded as they are shown (``bot.domain.rounding.one_decimal``, the figure the ranking orders by) and subtracted
  in decimal: the change reads as the difference of the two scores a reader sees (60.1 分 after 59.7 分: +0.4, where
  60.05 − 59.7 as binary fractions is 0.3499999…, shown +0.3). None when either is unknown.
- Like with like: a group's score then (and its place then) is restated over the parts its score has now
  (``restated_groups``): a part not measured now (on a Monday 按时填报, no working day of the week over yet; a
  problem handling with nothing due yet) is left out of the score then too, the other weights renormalised as
  in ``bot.domain.ranking.composite_score``, and the groups then ranked again on those scores. Otherwise every
  Monday would compare a score without 按时填报 with Sunday's score with it, and move the units by a part the
  week has not measured yet. A part measured now and not then stays (the score then had nothing to measure).
- A line not ranked now has no change (None in both).
- Standings of another year are not compared (a year is measured against its own plans): the first
  period of a year shows no change; nor does the first period of all, when nothing was ranked before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.domain.progress import completion_decimal
from bot.domain.ranking import DEFAULT_SCORE_WEIGHTS, ScoreWeights, composite_score, rank
from bot.domain.rounding import one_decimal
from bot.domain.standings import GroupStanding, ProjectStanding, Standings
from bot.domain.year_to_date import BaseDays, change_bases

__all__ = ["Change", "StandingsChanges", "group_changes", "project_changes", "restated_groups", "standings_changes",
           "with_bases"]


@dataclass(frozen=True)
class Change:
    """One ranked line's move since the last period."""

    places: int | None  # old rank − new rank: positive up, 0 持平; None: not ranked now or before
    points: float | None  # completion (projects, percentage points) or score (groups) now − before
    new: bool = False  # 新上榜: ranked now, not before


def _change(rank: int | None, old_rank: int | None, points: float | None) -> Change:
    if rank is None:
        return Change(None, None)
    if old_rank is None:
        return Change(None, points, new=True)
    return Change(old_rank - rank, points)


def _completion_change(now: ProjectStanding, old: ProjectStanding | None) -> float | None:
    """A project's completion now minus then, in percentage points, from the amounts (in decimal)."""
    if old is None or now.rate is None or old.rate is None:
        return None
    rate, old_rate = (completion_decimal(s.ytd_done, s.annual_plan) for s in (now, old))
    if rate is None or old_rate is None:
        return (now.rate - old.rate) * 100
    return float((rate - old_rate) * 100)


def _score_change(now: GroupStanding, old: GroupStanding | None) -> float | None:
    """A group's score now minus then, as the two shown scores differ (in decimal: exact to the tenth)."""
    if old is None or now.score is None or old.score is None:
        return None
    return float(one_decimal(now.score) - one_decimal(old.score))


def project_changes(now: Iterable[ProjectStanding], before: Iterable[ProjectStanding]) -> dict[str, Change]:
    """Project code → its change since ``before`` (the same projects' standings at the previous period's end)."""
    current = list(now)
    wanted = {p.code for p in current}
    earlier = {p.code: p for p in before if p.code in wanted}
    moved: dict[str, Change] = {}
    for p in current:
        old = earlier.get(p.code)
        moved[p.code] = _change(p.rank, old.rank if old else None, _completion_change(p, old))
    return moved


def restated_groups(now: Iterable[GroupStanding], before: Iterable[GroupStanding],
                    weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS) -> list[GroupStanding]:
    """The groups of ``before``, each scored over the parts its group in ``now`` has (a part ``None`` now is left
    out then too; a group not in ``now`` as it was) with ``weights`` (those ``before`` was scored with), ranked
    again as ``bot.weekly.group_standings`` ranks them. Unchanged when every group has now the parts it had."""
    current = {g.name: g for g in now}
    earlier = list(before)
    restated = [_over_parts_of(g, current.get(g.name), weights) for g in earlier]
    if all(new is old for new, old in zip(restated, earlier, strict=True)):
        return earlier
    ranked = rank(restated, score=lambda g: g.score, tiebreak=lambda g: g.name)
    return [dataclasses.replace(r.item, score=r.score, rank=r.rank) for r in ranked]


def _over_parts_of(old: GroupStanding, now: GroupStanding | None, weights: ScoreWeights) -> GroupStanding:
    """``old`` scored over the parts ``now`` has (itself when ``now`` lacks none of its parts)."""
    if now is None:
        return old
    kept = {part: getattr(old, part) if getattr(now, part) is not None else None
            for part in ("investment", "punctuality", "problems", "nodes")}
    if all(kept[part] == getattr(old, part) for part in kept):
        return old
    return dataclasses.replace(old, **kept, score=composite_score(kept["investment"], kept["punctuality"],
                                                                  kept["problems"], weights, nodes=kept["nodes"]))


def group_changes(now: Iterable[GroupStanding], before: Iterable[GroupStanding],
                  weights: ScoreWeights | None = None) -> dict[str, Change]:
    """Lead unit (or town) name → its change since ``before`` (the groups of the previous period's standings);
    with ``weights`` (those ``before`` was scored with), like with like: ``before`` restated over the parts of
    ``now`` (``restated_groups``)."""
    now = list(now)
    if weights is not None:
        before = restated_groups(now, before, weights)
    earlier = {g.name: g for g in before}
    moved: dict[str, Change] = {}
    for g in now:
        old = earlier.get(g.name)
        moved[g.name] = _change(g.rank, old.rank if old else None, _score_change(g, old))
    return moved


@dataclass(frozen=True)
class StandingsChanges:
    """The changes of every ranked line of a standings: projects by code, lead units and towns by name."""

    since: date | None = None  # the previous period's cut-off day (None: nothing to compare with)
    projects: dict[str, Change] = field(default_factory=dict)
    units: dict[str, Change] = field(default_factory=dict)
    towns: dict[str, Change] = field(default_factory=dict)
    # the ledger bases the changes cannot see through (bot.domain.year_to_date.change_bases): noted under them
    bases: BaseDays = field(default_factory=BaseDays)


def standings_changes(now: Standings, before: Standings | None) -> StandingsChanges:
    """Every line of ``now`` against ``before`` (the standings as of the previous period's end); no change
    at all when there is no previous standings, nothing was ranked in it, or it is of another year."""
    if before is None or not before.ranked or before.cutoff.year != now.cutoff.year:
        return StandingsChanges()
    return StandingsChanges(since=before.cutoff, projects=project_changes(now.ranked, before.ranked),
                            units=group_changes(now.units, before.units, before.weights),
                            towns=group_changes(now.towns, before.towns, before.weights))


def with_bases(changes: StandingsChanges, base_days: Mapping[date, int], *, cutoff: date) -> StandingsChanges:
    """``changes`` of the standings as of ``cutoff``, with the ledger bases they cannot see through attached (those
    of ``base_days``, ``storage.ledger_bases.base_days``, dated after ``changes.since``: ``change_bases``), which a
    较上期 notes under it (/rank, the web overview); none when nothing was compared."""
    if changes.since is None:
        return changes
    return dataclasses.replace(changes, bases=change_bases(base_days, since=changes.since, cutoff=cutoff))
