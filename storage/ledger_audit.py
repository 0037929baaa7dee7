"""The audit entries a ledger import writes: one per unit, person or project it adds or changes, saying what
changed from what, like the chat's own changes (written by storage.ledger_import)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.ledger_plan import RowChange
from bot.domain.stage_events import StageMove, moves_audit_detail
from storage.audit import Actor

__all__ = ["AUDIT_ACTIONS", "audit_row"]

AUDIT_ACTIONS = {("unit", "add"): "unit.create", ("person", "add"): "person.create",
            ("person", "update"): "person.update", ("project", "add"): "project.create",
            ("project", "update"): "project.update"}


def _shown(value: Any) -> Any:
    """A value as JSON keeps it: amounts and days as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, tuple | list):  # a history: (kind, day) pairs
        return [_shown(item) for item in value]
    return str(value)


# Field keys as the audit trail names them (bot.domain.labels.FIELDS), where the plan's differ.
_AUDIT_FIELDS = {"unit": "unit_name"}


def audit_row(change: RowChange, *, now: datetime, actor: Actor, moves: dict[str, list[StageMove]]
               ) -> dict[str, Any]:
    """One audit entry per row: what changed as {"changed": {field: new}, "before": {field: old}} (people
    and units by name), like the chat's own changes; a row added is named (and a person's role given); a
    project's says from which day it is started, finished (or open again), and why (its `moves`)."""
    detail: dict[str, Any] = {"source": "ledger", "name": change.name}
    key = change.key
    if change.person is not None:  # added: known by the id just given
        key = str(change.person.id)
        detail["role"] = sorted(change.person.roles)[0] if change.person.roles else None
        if not change.person.active:  # added as the roster says: deactivated
            detail["active"] = False
    changed = [f for f in change.fields if f.field != "role"]
    if change.action == "add":  # what the row is added with
        detail.update({f.field: _shown(f.after) for f in changed})
    elif changed:
        detail["changed"] = {_AUDIT_FIELDS.get(f.field, f.field): _shown(f.after) for f in changed}
        detail["before"] = {_AUDIT_FIELDS.get(f.field, f.field): _shown(f.before) for f in changed}
    roles = [f.after for f in change.fields if f.field == "role"]
    if roles:
        detail["role_added"] = roles[0]
    if change.kind == "person" and change.action == "update" and "changed" not in detail:
        detail["changed"] = {}
    if change.kind == "project":
        detail.update(moves_audit_detail(moves.get(key, [])))
    return {"at": now, "actor_person_id": actor.person_id, "actor": actor.label, "channel": actor.channel,
            "action": AUDIT_ACTIONS[(change.kind, change.action)], "object_type": change.kind,
            "object_key": key[:100], "detail": detail}
