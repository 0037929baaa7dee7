"""What importing the sheet 项目节点计划 would change in the stored nodes, worked out in memory.

`plan_nodes` is pure: the sheet's rows and the nodes stored (`StoredNode`, removed ones too) give a
`NodePlan`: the nodes to add, to update (a node taken off the plan before and named again comes back, its
history kept), and to take off the plan (`removed_at`): every node on the plan of a project the sheet names
that the sheet no longer names. A sheet naming some projects replaces the nodes of those projects only: the
nodes of a project it does not name are left as they are (taking a node off the plan needs its project named).
A node is known by its project and name. A blank 实际完成日期 or 备注 in the sheet never clears a
done day or a note recorded in the chat; a filled one is the file's word. A sheet naming exactly what is
stored changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.domain.ledger_rows import NodeRow


@dataclass(frozen=True)
class StoredNode:
    """A node as stored, as plain values."""

    id: int
    code: str  # its project's 项目编号
    name: str
    seq: int
    planned_on: date
    done_on: date | None
    note: str
    removed: bool
    told_on: date | None = None  # when its people were told it is overdue
    problem_id: int | None = None  # its overdue problem, if one was raised


@dataclass(frozen=True)
class NodeAdd:
    """A node new to its project."""

    code: str
    name: str
    seq: int
    planned_on: date
    done_on: date | None
    note: str


@dataclass(frozen=True)
class NodeUpdate:
    """A stored node the sheet changes: its new values and, field by field, what changed."""

    node: StoredNode
    seq: int
    planned_on: date
    done_on: date | None
    note: str
    restored: bool  # it had been taken off the plan, and the sheet names it again
    fields: tuple[str, ...]  # seq | planned_on | done_on | note (and "restored")


@dataclass
class NodePlan:
    """The changes to the nodes, and their counts: added (restored ones too), changed, removed, unchanged."""

    adds: list[NodeAdd] = field(default_factory=list)
    updates: list[NodeUpdate] = field(default_factory=list)
    removals: list[StoredNode] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    projects: int = 0  # projects the sheet names: their nodes become what it says
    left_alone: int = 0  # projects with nodes on the plan that the sheet does not name: left as they are

    @property
    def empty(self) -> bool:
        return not (self.adds or self.updates or self.removals)


def plan_nodes(rows: Sequence[NodeRow], stored: Iterable[StoredNode]) -> NodePlan:
    """The plan that makes the stored nodes what `rows` say (see the module docstring)."""
    by_key = {(n.code, n.name): n for n in stored}
    plan = NodePlan()
    seqs: Counter[str] = Counter()
    named: set[tuple[str, str]] = set()
    for row in rows:
        seqs[row.code] += 1
        seq = seqs[row.code]
        key = (row.code, row.name)
        named.add(key)
        known = by_key.get(key)
        note = row.note or ""
        if known is None:
            plan.adds.append(NodeAdd(row.code, row.name, seq, row.planned_on, row.done_on, note))
            plan.counts["added"] += 1
            continue
        done_on = row.done_on if row.done_on is not None else known.done_on
        note = note or known.note
        fields = tuple(name for name, before, after in (
            ("seq", known.seq, seq), ("planned_on", known.planned_on, row.planned_on),
            ("done_on", known.done_on, done_on), ("note", known.note, note)) if before != after)
        if known.removed:
            fields = ("restored", *fields)
        if not fields:
            plan.counts["unchanged"] += 1
            continue
        plan.updates.append(NodeUpdate(known, seq, row.planned_on, done_on, note, known.removed, fields))
        plan.counts["added" if known.removed else "changed"] += 1
    codes = {row.code for row in rows}
    on_plan = [n for n in by_key.values() if not n.removed]
    plan.removals = [n for n in on_plan if n.code in codes and (n.code, n.name) not in named]
    plan.counts["removed"] = len(plan.removals)
    plan.projects = len(codes)
    plan.left_alone = len({n.code for n in on_plan} - codes)
    return plan
