"""A digest of what an import compared its file with (bot.domain.ledger_plan.LedgerState and the stored nodes):
equal digests mean that planning the same file again would give the same plan.

/import's 确认 writes the plan its preview showed only when the database, read again in the write's own
transaction, gives the digest the preview had (bot.services.ledger_import): exact, whatever order the writes of
others committed in, unlike the newest id or update time of each table. Only what a plan writes counts: the
open problems of units (listed, never written) do not, nor the year's reports when the baseline's day is given
(they change the year-to-date the preview lists, not what is written); when the day is not given, the day the
baseline takes (上月底) can depend on them, and they count.

Sets are written sorted and rows in the order of their keys, so that equal states give equal digests however
the database returned them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bot.domain.ledger_plan import LedgerState
from bot.domain.node_plan import StoredNode

__all__ = ["state_digest"]


def state_digest(state: LedgerState, *, reports: bool, nodes: Sequence[StoredNode] | None) -> str:
    """The digest of `state` (with its reports when `reports`) and of the stored `nodes` (None: the files had no
    node sheet, and nodes are not compared)."""
    people = sorted((p.id or 0, p.name, p.phone, p.title, p.unit_id, p.active, tuple(sorted(p.roles)), p.key)
                    for p in state.people)
    projects = [(code, project.id, sorted(project.values.items()), project.supporting)
                for code, project in sorted(state.projects.items())]
    parts: list[object] = [
        sorted(state.units.items()), people, projects, sorted(state.changed_in_chat),
        sorted(state.plans.items()), sorted(state.finish_days.items()), sorted(state.moves.items()),
        sorted(state.reports.items()) if reports else None,
        sorted(nodes, key=lambda node: node.id) if nodes is not None else None,
    ]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()
