"""The Chinese words for the code names kept in the audit trail, problem histories and settings.

Code stores stable English keys (``project.update``, ``annual_plan``, ``reassigned``); people read only
these labels, worded in bot/templates/code_labels.j2 and read from there once (bot.domain.worded). Templates
get them through the renderer (``code_labels``). A key missing here is a bug caught by
tests/render/test_audit_labels.py, and is shown as 「其他」 rather than as the code name.
"""

from __future__ import annotations

from bot.domain.worded import worded

_TABLES = "code_labels.j2"

UNKNOWN: str = worded(_TABLES, "unknown")

# The channels, as every text names them (the audit, fault notices, /outbox, /groups, the person card).
CHANNELS: dict[str, str] = worded(_TABLES, "channels")
# Every action written to the audit trail.
ACTIONS: dict[str, str] = worded(_TABLES, "actions")
# Fields of projects and people, under every key code writes them with (model columns, /project_set keys).
FIELDS: dict[str, str] = worded(_TABLES, "fields")
# Fields holding 万元.
MONEY_FIELDS = frozenset({"total_investment", "total", "annual_plan", "plan", "done_before"})
# Fields holding a person's or a unit's id.
PERSON_ID_FIELDS = frozenset({"lead_official_id", "liaison_id"})
UNIT_ID_FIELDS = frozenset({"lead_unit_id", "unit_id"})

ROLES: dict[str, str] = worded(_TABLES, "roles")
# A project's moves of stage: 开工, 竣工, 恢复在建 (阶段记录, the import's preview, the audit).
STAGE_MOVES: dict[str, str] = worded(_TABLES, "stage_moves")
# Problem events (the 办理记录).
EVENTS: dict[str, str] = worded(_TABLES, "events")
APPROVAL_STATUS: dict[str, str] = worded(_TABLES, "approval_status")
CALENDAR_KINDS: dict[str, str] = worded(_TABLES, "calendar_kinds")
# Settings changed by /sla and /schedule, and the parts of the nested ones.
SETTINGS: dict[str, str] = worded(_TABLES, "settings")
SETTING_KEYS: dict[str, str] = worded(_TABLES, "setting_keys")
# Between the names of a list written on one line: 联络员、单位经办人; 区住建局、区发改委.
LIST_SEPARATOR: str = worded(_TABLES, "list_separator")


def label(table: dict[str, str], key: object) -> str:
    """The label of `key` in `table`; never the code name itself. A key that is already Chinese (a problem
    category, a holiday's name) is its own label."""
    text = str(key)
    if text in table:
        return table[text]
    return UNKNOWN if any("a" <= ch.lower() <= "z" for ch in text) else text


def changes(before: object, after: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object, object]]:
    """The settings that differ between two JSON snapshots, as (key path, old, new); nested objects are
    walked so that each changed leaf is one entry."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[tuple[str, ...], object, object]] = []
        for key in after:
            found += changes(before.get(key), after[key], (*path, str(key)))
        return found
    return [] if before == after else [(path, before, after)]
