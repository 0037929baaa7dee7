"""How many characters each text column people fill holds, read from the model's own column type: the one
definition of every such limit.

SQLite keeps a text longer than its column; PostgreSQL refuses it, and with it the whole transaction (an
import, a command, or a later ``diaodu db copy``). So every path where people or admins type such a text (the
ledger import, /project_set, /node, /calendar, /group, the command line) checks it here before writing
(``too_wide``), and refuses it with ``text_too_wide``'s words: the field, its width and the text's length.
Free text kept in ``Text`` columns (descriptions, answers, notes) has limits of its own (``bot.domain.limits``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import QueryableAttribute

from bot.domain.limits import TooWide
from storage.models import BulletinGroup, CalendarOverride, Person, Project, ProjectNode, Unit

# Field (as ``text_too_wide.j2`` names it) → the column it is written to.
COLUMNS: dict[str, QueryableAttribute[Any]] = {
    "project_code": Project.code,
    "project_name": Project.name,
    "category": Project.category,
    "project_level": Project.level,
    "location": Project.location,
    "owner": Project.owner,
    "unit": Unit.name,
    "person_name": Person.name,
    "phone": Person.phone,
    "title": Person.title,
    "person_key": Person.ledger_key,
    "node_name": ProjectNode.name,
    "group_name": BulletinGroup.name,
    "day_name": CalendarOverride.name,
}


def column_width(attribute: QueryableAttribute[Any]) -> int:
    """The number of characters a ``String(n)`` column holds."""
    kind = attribute.expression.type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{attribute} is not a text column of a fixed width")
    return kind.length


WIDTHS: dict[str, int] = {field: column_width(attribute) for field, attribute in COLUMNS.items()}


def width(field: str) -> int:
    """How many characters ``field`` holds."""
    return WIDTHS[field]


def too_wide(field: str, text: str | None) -> TooWide | None:
    """What is wrong with writing ``text`` to ``field`` (None: nothing; a blank is not this check's to refuse)."""
    if text is None or len(text) <= WIDTHS[field]:
        return None
    return TooWide(field, len(text), WIDTHS[field])

