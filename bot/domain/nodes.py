"""Milestones (节点) of a project's schedule, as pure rules: a node's state on a day, and node punctuality.

A node is planned to be done by a day (``planned_on``). On a day ``today`` it is

* ``done``    done on or before its planned day;
* ``late``    done, but after its planned day (逾期完成);
* ``overdue`` not done and its planned day is past (逾期未完成);
* ``open``    not done and its planned day is today or later;
* ``closed``  not done, and its project had finished (竣工/投产) by ``today``: nothing more is expected of it, so
  it is neither overdue nor due, and nobody is told or escalated about it.

A project's nodes are closed from the day it finished (``finished_since``, or, for a figure of a past day, the
day ``bot.domain.stage_history.finished_from`` reads from its recorded 开工, 竣工 and reopenings): the day of
its 竣工 (a liaison's /finished, or recorded when an admin or the ledger import set the stage), or every day when
it is finished with no such day known (finished before those days were recorded). So a figure of a day before
the project finished, or while it was set back to 在建, is what it was on that day: its nodes missed by then are
missed in it, however late it is read again.

Node punctuality (节点按期率) on a day: the share of the counted nodes done on time (``on_time_count``, as a
share with ``bot.domain.ranking.share``). Counted are the nodes done by that day (early ones too) and those
whose planned day is past; a node done late or still overdue is a miss, an open node (not done, planned today
or later) or a closed one is not counted; ``None`` when none is counted (so a project without due nodes is
neither rewarded nor punished, as with the other score parts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.domain.progress import FINISHED_STAGES

NodeState = Literal["done", "late", "overdue", "open", "closed"]
# The kind of the problem an overdue node becomes (escalated like any problem; closed by marking the node done).
# Node punctuality is its own part of the composite score, so these problems are not in 问题办理 too.
NODE_PROBLEM = "node"


@dataclass(frozen=True)
class NodePlan:
    """The part of a node the rules look at."""

    planned_on: date
    done_on: date | None = None
    finished_on: date | None = None  # the day from which its project is finished (``finished_since``)


# The day from which a project finished with no day known is finished: every day.
ALWAYS = date.min


def finished_since(stage: str, finish_day: date | None) -> date | None:
    """The day from which a project's nodes not done are closed: None while it is not finished (竣工/投产), else
    the day of its confirmed 竣工 (``finish_day``) or, with none, ``ALWAYS``."""
    if stage not in FINISHED_STAGES:
        return None
    return finish_day if finish_day is not None else ALWAYS


def finished_by(stage: str, finish_day: date | None, day: date) -> bool:
    """Whether a project is finished on ``day`` (``finished_since`` is on or before it): what a figure of that
    day (已竣工, not urged or warned) reads, however late it is made."""
    since = finished_since(stage, finish_day)
    return since is not None and since <= day


def node_state(planned_on: date, done_on: date | None, today: date, *, finished_on: date | None = None
               ) -> NodeState:
    """The node's state on ``today`` (see the module docstring); ``finished_on``: the day from which its project
    is finished (``finished_since``). A done day after ``today`` is not known yet."""
    if done_on is not None and done_on <= today:
        return "done" if done_on <= planned_on else "late"
    if finished_on is not None and finished_on <= today:
        return "closed"
    return "overdue" if planned_on < today else "open"


def on_time_count(nodes: Iterable[NodePlan], today: date) -> tuple[int, int]:
    """(done on time, counted) among ``nodes`` on ``today``: every node but the open and closed ones. A node
    due today and not yet done is not a miss until the day is over."""
    on_time = due = 0
    for n in nodes:
        state = node_state(n.planned_on, n.done_on, today, finished_on=n.finished_on)
        if state in ("open", "closed"):
            continue
        due += 1
        on_time += state == "done"
    return on_time, due
