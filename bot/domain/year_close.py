"""Whether a ledger import would take a year's ledger base away before that year's annual bulletin (年终考核)
has counted it (pure rules).

A project keeps one ledger base (截至某日累计完成, ``done_before``, of ``baseline_year``). A new year's ledger
moves it to the new year, and the old year's year-to-date is from then on its reports alone. Imported in the
first days of January, before the annual bulletin of the year just ended goes out, that bulletin would
give the year without its base: such an import waits until the annual bulletin has gone out.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.ledger_plan import ImportPlan, LedgerState


def bases_leaving(plan: ImportPlan, state: LedgerState) -> dict[int, Decimal]:
    """Year → the sum of the stored ledger bases of that year that the plan moves to a later year."""
    leaving: dict[int, Decimal] = {}
    for change in plan.changes:
        if change.kind != "project" or change.action != "update":
            continue
        moved = next((f for f in change.fields if f.field == "baseline_year"), None)
        known = state.projects.get(change.key)
        if moved is None or known is None or moved.before is None or moved.after <= moved.before:
            continue
        base = Decimal(known.values.get("done_before") or 0)
        if base:
            leaving[moved.before] = leaving.get(moved.before, Decimal(0)) + base
    return leaving


def waits_for_annual(*, today: date, due: date, sent: bool, enabled: bool) -> bool:
    """Whether an import taking a year's bases away must wait for that year's annual bulletin: it is due
    today or later (``due``), not sent yet, and the annual bulletins are on. Once its day has passed unsent
    (the bot was down, or it was skipped), nothing is waited for."""
    return enabled and not sent and today <= due
