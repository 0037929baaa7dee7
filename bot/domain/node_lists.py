"""Which milestones (节点) a bulletin lists, and a project's nodes as a timeline. Pure: no I/O, no clock.

A weekly bulletin goes out on the first working day after its week (``bot.domain.periods.due_day``) and
lists, as of that day (``as_of``):

* the nodes **due in the week ahead**: not done and planned from ``as_of`` to the end of the calendar week in
  which the fifth working day from ``as_of`` falls, and the rest days right after it (``week_ahead``). An
  ordinary week gives Monday to Sunday; before a long holiday (国庆, 春节) the window runs over the holiday to
  the end of the week its fifth working day is in, so a node planned in the holiday or just after it is
  listed before the holiday starts; a holiday Monday joins the week before. The windows of two bulletins in
  a row leave no day out;
* the nodes **missed**: those overdue on ``as_of`` (not done, planned before it: ``bot.domain.nodes``),
  the longest overdue first, and those done late (逾期完成) since the bulletin's week started.

The monthly and longer bulletins list the same three lists with the same rules, over their own spans
(``period_ahead``): done late since their period started, and due from ``as_of`` to the end of the next period
of their kind and the rest days right after it (November's bulletin: 1 to 31 December, and over New Year's
Day to the first working day of January, whose bulletin lists what is overdue from there), but the annual
bulletin's stop on 31 December of the year they are headed by: 2026's lists 2027-01-04 to 2027-12-31, not the
days of 2028's New Year holiday, which are 2028's.

A node's state is ``bot.domain.nodes.node_state``, the one definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.nodes import NodePlan, NodeState, node_state, on_time_count
from bot.domain.periods import Period, period_containing
from bot.domain.workdays import WorkCalendar

WORKING_DAYS_AHEAD = 5

# How each state is marked on a timeline: 计划 ◇, 完成 ◆; overdue and late nodes say so in words too, since a
# colour does not show in every channel.
MARKS: dict[str, str] = {"open": "◇", "overdue": "◇", "done": "◆", "late": "◆", "closed": "◇"}


@dataclass(frozen=True)
class NodeItem:
    """A node with the project it belongs to, as bulletins and project pages list it."""

    project_code: str
    project_name: str
    lead_unit: str
    lead_official_id: int | None
    name: str
    planned_on: date
    done_on: date | None = None
    note: str = ""
    finished_on: date | None = None  # from when the project is finished (bot.domain.nodes.finished_since)

    def state(self, today: date) -> NodeState:
        return node_state(self.planned_on, self.done_on, today, finished_on=self.finished_on)

    def days_late(self, today: date) -> int:
        """Calendar days past the planned day: to the done day, or to ``today`` while overdue (0 if not late,
        and for a closed node)."""
        if self.state(today) in ("open", "closed"):
            return 0
        end = self.done_on if self.done_on is not None and self.done_on <= today else today
        return max((end - self.planned_on).days, 0)


@dataclass(frozen=True)
class BulletinNodes:
    """The nodes a weekly bulletin lists (see the module docstring)."""

    as_of: date
    ahead_from: date
    ahead_to: date
    ahead: list[NodeItem] = field(default_factory=list)  # due in the week ahead, by planned day
    overdue: list[NodeItem] = field(default_factory=list)  # overdue on as_of, longest overdue first
    late: list[NodeItem] = field(default_factory=list)  # done late since the week started, by done day

    @property
    def missed(self) -> int:
        return len(self.overdue) + len(self.late)

    def of_projects(self, codes: Iterable[str]) -> BulletinNodes:
        """The same lists narrowed to some projects (a lead official's digest)."""
        wanted = set(codes)
        return BulletinNodes(self.as_of, self.ahead_from, self.ahead_to,
                             [n for n in self.ahead if n.project_code in wanted],
                             [n for n in self.overdue if n.project_code in wanted],
                             [n for n in self.late if n.project_code in wanted])


def week_ahead(calendar: WorkCalendar, first_day: date, working_days: int = WORKING_DAYS_AHEAD) -> tuple[date, date]:
    """(first_day, the Sunday of the week in which the ``working_days``-th working day from ``first_day``
    falls, or the last of the rest days that follow that Sunday); ``first_day`` counts when it is a working
    day."""
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    last = calendar.add_working_days(first_day, 0)
    for _ in range(working_days - 1):
        last = calendar.next_working_day(last)
    sunday = last + timedelta(days=6 - last.weekday())
    return first_day, calendar.next_working_day(sunday) - timedelta(days=1)


def following_period(period: Period) -> Period:
    """The period of the same kind just after ``period`` (the one a bulletin's 到期 list looks ahead to)."""
    return period_containing(period.kind, period.end + timedelta(days=1))


def period_ahead(calendar: WorkCalendar, period: Period, as_of: date) -> tuple[date, date]:
    """The days whose nodes a bulletin of ``period`` going out on ``as_of`` lists as due ahead: for a week,
    ``week_ahead``; for a month, quarter or half year, ``as_of`` to the end of the next period of the kind and
    the rest days right after it (as ``week_ahead`` ends), so that two bulletins of a kind in a row leave no
    day out. The annual bulletin's stop at the end of the year it names (its list is headed 2027年度): the New
    Year rest days after it are the next year's, which the weekly and monthly bulletins announce before them
    and the next annual one lists as overdue if missed."""
    if period.kind == "weekly":
        return week_ahead(calendar, as_of)
    end = following_period(period).end
    if period.kind == "annual":
        return as_of, max(end, as_of)
    return as_of, max(calendar.next_working_day(end) - timedelta(days=1), as_of)


def bulletin_nodes(nodes: Iterable[NodeItem], *, as_of: date, ahead_to: date, week_start: date) -> BulletinNodes:
    """Sort ``nodes`` into the bulletin's lists on ``as_of``: due ``as_of``..``ahead_to``, overdue, and done late
    from ``week_start`` (the bulletin's week's first day) up to ``as_of``. Other nodes are left out."""
    ahead: list[NodeItem] = []
    overdue: list[NodeItem] = []
    late: list[NodeItem] = []
    for node in nodes:
        state = node.state(as_of)
        if state == "open" and node.planned_on <= ahead_to:
            ahead.append(node)
        elif state == "overdue":
            overdue.append(node)
        elif state == "late" and node.done_on is not None and node.done_on >= week_start:
            late.append(node)
    return BulletinNodes(
        as_of=as_of, ahead_from=as_of, ahead_to=ahead_to,
        ahead=sorted(ahead, key=lambda n: (n.planned_on, n.project_code, n.name)),
        overdue=sorted(overdue, key=lambda n: (n.planned_on, n.project_code, n.name)),
        late=sorted(late, key=lambda n: (n.done_on or n.planned_on, n.project_code, n.name)),
    )


@dataclass(frozen=True)
class TimelineNode:
    """One node on a project's timeline: its mark (◇ planned, ◆ done), its state on the day, days late."""

    name: str
    planned_on: date
    done_on: date | None
    state: NodeState
    mark: str
    days_late: int
    note: str = ""

    @property
    def behind(self) -> bool:
        """Overdue or done late: drawn and written in red / 逾期."""
        return self.state in ("overdue", "late")


def timeline(nodes: Iterable[NodeItem], today: date) -> list[TimelineNode]:
    """A project's nodes in planned order with their state on ``today``."""
    return [
        TimelineNode(name=n.name, planned_on=n.planned_on, done_on=n.done_on if n.state(today) in ("done", "late")
                     else None, state=n.state(today), mark=MARKS[n.state(today)], days_late=n.days_late(today),
                     note=n.note)
        for n in sorted(nodes, key=lambda n: (n.planned_on, n.name))
    ]


def year_count(nodes: Iterable[NodeItem | NodePlan], today: date) -> tuple[int, int]:
    """(done on time, counted) among the nodes planned in ``today``'s year (``bot.domain.nodes.on_time_count``):
    the node part of the score, for every project (``storage.node_queries.node_counts``) and on its page."""
    return on_time_count((NodePlan(n.planned_on, n.done_on, n.finished_on) for n in nodes
                          if n.planned_on.year == today.year), today)
