"""What a group bulletin shows of a long list, so that it fits one message on a phone.

A bulletin sent to a group carries the headline figures, the first and last few of each ranking and at most a
few red projects and milestones (节点); the rest is in the ranking chart and the attached Excel ledger. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.domain.node_lists import BulletinNodes, NodeItem
from bot.domain.standings import GroupStanding, ProjectStanding, Standings

T = TypeVar("T")


@dataclass(frozen=True)
class Cut(Generic[T]):
    """The head and the tail of a list shown, and how many items between them are left out."""

    head: list[T]
    tail: list[T]
    hidden: int

    @property
    def total(self) -> int:
        return len(self.head) + self.hidden + len(self.tail)


def head_and_tail(items: Sequence[T], n: int) -> Cut[T]:
    """The first ``n`` and the last ``n`` of ``items`` (all of them when there are at most 2n + 1: leaving
    out a single item would save no line)."""
    if n < 0:
        raise ValueError("n must be non-negative")
    if len(items) <= 2 * n + 1:
        return Cut(list(items), [], 0)
    return Cut(list(items[:n]), list(items[len(items) - n:]), len(items) - 2 * n)


def _whole_ties(items: Sequence[T], m: int, key: Callable[[T], object] | None) -> int:
    """How many of the first ``m`` of ``items`` to show so that no tie (same ``key``) is cut: the whole tie
    at the cut when the list stays within ``2m``, else none of it (naming some tied items and not others
    would be unfair)."""
    if key is None or m == 0 or len(items) <= m or key(items[m - 1]) != key(items[m]):
        return min(m, len(items))
    tied = key(items[m - 1])
    start = m - 1
    while start > 0 and key(items[start - 1]) == tied:
        start -= 1
    end = m
    while end < len(items) and key(items[end]) == tied:
        end += 1
    return end if end <= 2 * m else start


def first(items: Sequence[T], m: int, *, key: Callable[[T], object] | None = None) -> Cut[T]:
    """The first ``m`` of ``items`` and how many more there are (no tail); with ``key`` (a place in a
    ranking), a tie at the cut is listed whole or not at all."""
    if m < 0:
        raise ValueError("m must be non-negative")
    shown = _whole_ties(items, m, key)
    return Cut(list(items[:shown]), [], len(items) - shown)


def last(items: Sequence[T], m: int, *, key: Callable[[T], object] | None = None) -> Cut[T]:
    """The last ``m`` of ``items`` (in their order) and how many come before them; with ``key``, a tie at
    the cut is listed whole or not at all."""
    if m < 0:
        raise ValueError("m must be non-negative")
    shown = _whole_ties(list(reversed(items)), m, key)
    return Cut([], list(items[len(items) - shown:]) if shown else [], len(items) - shown)


@dataclass(frozen=True)
class BulletinCuts:
    """What a group bulletin (and the top officials' summary) lists of a period's standings."""

    projects: Cut[ProjectStanding]  # the ranked projects: the first and last n
    units: Cut[GroupStanding]  # the scored lead units: the first and last n
    unscored_units: int  # lead units with nothing to score them on (not listed)
    towns: Cut[GroupStanding]
    unscored_towns: int
    praised: Cut[ProjectStanding]  # the first n of those praised, a tie at the cut whole or not at all
    urged: Cut[ProjectStanding]  # the last n of those urged (the furthest behind), likewise
    warned: Cut[ProjectStanding]  # at most m red projects, the furthest behind first
    unplanned: Cut[ProjectStanding]  # the first 2n projects without a plan for the year


def _place(project: ProjectStanding) -> object:
    return project.rank


def bulletin_cuts(standings: Standings, *, top_n: int, red_max: int) -> BulletinCuts:
    """The parts of ``standings`` a group bulletin shows (the settings' ``bulletin_top_n``/``bulletin_red_max``)."""
    units, towns = standings.ranked_units, standings.ranked_towns
    return BulletinCuts(
        projects=head_and_tail(standings.ranked, top_n),
        units=head_and_tail(units, top_n),
        unscored_units=len(standings.units) - len(units),
        towns=head_and_tail(towns, top_n),
        unscored_towns=len(standings.towns) - len(towns),
        praised=first(standings.praised, top_n, key=_place),
        urged=last(standings.urged, top_n, key=_place),
        warned=first(standings.warned, red_max),
        unplanned=first(standings.unplanned, 2 * top_n),
    )


@dataclass(frozen=True)
class NodeCuts:
    """What a group bulletin lists of the nodes (``bot.domain.node_lists.bulletin_nodes``): the first ``top_n`` of
    each list (due in the week ahead, overdue the longest, done late); all of them are in the Excel ledger."""

    nodes: BulletinNodes
    ahead: Cut[NodeItem]
    overdue: Cut[NodeItem]
    late: Cut[NodeItem]


def node_cuts(nodes: BulletinNodes, *, top_n: int) -> NodeCuts:
    """The parts of a bulletin's node lists a group bulletin shows (the settings' ``bulletin_top_n``, as for
    the ends of the rankings)."""
    return NodeCuts(nodes=nodes, ahead=first(nodes.ahead, top_n), overdue=first(nodes.overdue, top_n),
                    late=first(nodes.late, top_n))
