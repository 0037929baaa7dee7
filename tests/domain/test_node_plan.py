"""bot.domain.node_plan: a sheet planned against what it produced changes nothing; a node left out of a project
the sheet names is taken off the plan, and named again comes back, while a project the sheet does not name keeps
its nodes; blank done days and notes keep what the chat recorded."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.ledger_rows import NodeRow
from bot.domain.node_plan import NodePlan, StoredNode, plan_nodes

DAY = date(2026, 12, 1)


def _applied(plan: NodePlan, stored: list[StoredNode]) -> list[StoredNode]:
    """What storing `plan` leaves (as storage.nodes.write_node_plan does)."""
    by_id = {n.id: n for n in stored}
    for change in plan.updates:
        by_id[change.node.id] = StoredNode(change.node.id, change.node.code, change.node.name, change.seq,
                                           change.planned_on, change.done_on, change.note, removed=False)
    for gone in plan.removals:
        n = by_id[gone.id]
        by_id[gone.id] = StoredNode(n.id, n.code, n.name, n.seq, n.planned_on, n.done_on, n.note, removed=True)
    next_id = max(by_id, default=0) + 1
    for offset, add in enumerate(plan.adds):
        by_id[next_id + offset] = StoredNode(next_id + offset, add.code, add.name, add.seq, add.planned_on,
                                             add.done_on, add.note, removed=False)
    return list(by_id.values())


NAMES = ["开工", "桩基完成", "主体封顶", "竣工验收"]
rows_strategy = st.lists(
    st.tuples(st.sampled_from(["ZD2026-001", "ZD2026-002"]), st.sampled_from(NAMES),
              st.integers(0, 400), st.one_of(st.none(), st.integers(0, 400)), st.sampled_from(["", "雨季影响"])),
    max_size=8, unique_by=lambda r: (r[0], r[1]))


def _rows(raw: list[tuple[str, str, int, int | None, str]]) -> list[NodeRow]:
    return [NodeRow(row=i + 2, code=c, name=n, planned_on=DAY + timedelta(days=p),
                    done_on=None if d is None else DAY + timedelta(days=d), note=note or None)
            for i, (c, n, p, d, note) in enumerate(raw)]


@given(first=rows_strategy, second=rows_strategy)
def test_a_sheet_planned_again_after_it_was_stored_changes_nothing(first: list, second: list) -> None:
    stored = _applied(plan_nodes(_rows(first), []), [])
    stored = _applied(plan_nodes(_rows(second), stored), stored)
    again = plan_nodes(_rows(second), stored)
    assert again.empty and again.counts["unchanged"] == len(second)
    on_plan = {(n.code, n.name) for n in stored if not n.removed}
    named = {c for c, *_ in second}  # the projects the second sheet names are what it says; the others as before
    assert on_plan == {(c, n) for c, n, *_ in second} | {(c, n) for c, n, *_ in first if c not in named}


def test_left_out_removed_named_again_restored_and_blank_cells_keep_the_chat() -> None:
    stored = [StoredNode(1, "ZD2026-001", "开工", 1, DAY, DAY, "按期", removed=False),
              StoredNode(2, "ZD2026-001", "主体封顶", 2, DAY + timedelta(days=90), None, "", removed=False),
              StoredNode(3, "ZD2026-002", "开工", 1, DAY, None, "", removed=True)]
    plan = plan_nodes([NodeRow(2, "ZD2026-001", "开工", DAY, None, None),
                       NodeRow(3, "ZD2026-002", "开工", DAY, None, None)], stored)
    assert [n.id for n in plan.removals] == [2]
    [restored] = plan.updates
    assert restored.node.id == 3 and restored.restored and restored.fields == ("restored",)
    assert (plan.counts["added"], plan.counts["unchanged"], plan.counts["removed"]) == (1, 1, 1)


def test_a_sheet_naming_some_projects_leaves_the_others_nodes_alone() -> None:
    stored = [StoredNode(1, "ZD2026-001", "开工", 1, DAY, DAY, "", removed=False),
              StoredNode(2, "ZD2026-002", "开工", 1, DAY, None, "", removed=False),
              StoredNode(3, "ZD2026-002", "主体封顶", 2, DAY + timedelta(days=90), None, "", removed=False),
              StoredNode(4, "ZD2026-003", "开工", 1, DAY, None, "", removed=False)]
    plan = plan_nodes([NodeRow(2, "ZD2026-002", "开工", DAY, None, None)], stored)
    assert [n.id for n in plan.removals] == [3]
    assert (plan.projects, plan.left_alone) == (1, 2)
    assert plan_nodes([], stored).empty  # a sheet without rows names no project
