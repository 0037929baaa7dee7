"""How many characters each text column people fill holds: the one definition of every such limit, used by the
models (``String(PERSON_NAME_WIDTH)``…) and by every check before writing.

SQLite keeps a text longer than its column; PostgreSQL refuses it, and with it the whole transaction (an
import, a command, or a later ``diaodu db copy``). So every path where people or admins type such a text (the
ledger import, /project_set, /node, /calendar, /group, the command line) checks it here before writing
(``too_wide``), and refuses it with ``text_too_wide``'s words: the field, its width and the text's length.
Free text kept in ``Text`` columns (descriptions, answers, notes) has limits of its own (``bot.domain.limits``).
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT_CODE_WIDTH = 40
PROJECT_NAME_WIDTH = 200
CATEGORY_WIDTH = 50
PROJECT_LEVEL_WIDTH = 20
LOCATION_WIDTH = 100
OWNER_WIDTH = 200
UNIT_NAME_WIDTH = 100
PERSON_NAME_WIDTH = 50
PHONE_WIDTH = 20
TITLE_WIDTH = 100
PERSON_KEY_WIDTH = 50
NODE_NAME_WIDTH = 50
GROUP_NAME_WIDTH = 100
ROBOT_NAME_WIDTH = 100  # a WeCom group robot's name (WECOM_ROBOT_KEYS), kept as its bulletin group's chat id
DAY_NAME_WIDTH = 50

# Field (as ``text_too_wide.j2`` names it) → how many characters it holds.
WIDTHS: dict[str, int] = {
    "project_code": PROJECT_CODE_WIDTH,
    "project_name": PROJECT_NAME_WIDTH,
    "category": CATEGORY_WIDTH,
    "project_level": PROJECT_LEVEL_WIDTH,
    "location": LOCATION_WIDTH,
    "owner": OWNER_WIDTH,
    "unit": UNIT_NAME_WIDTH,
    "person_name": PERSON_NAME_WIDTH,
    "phone": PHONE_WIDTH,
    "title": TITLE_WIDTH,
    "person_key": PERSON_KEY_WIDTH,
    "node_name": NODE_NAME_WIDTH,
    "group_name": GROUP_NAME_WIDTH,
    "robot_name": ROBOT_NAME_WIDTH,
    "day_name": DAY_NAME_WIDTH,
}


@dataclass(frozen=True)
class TooWide:
    """A text longer than the column it would be written to holds: which field, how long the text is and how
    many characters the field holds. Refused with ``text_too_wide``'s words."""

    field: str
    length: int
    most: int


def width(field: str) -> int:
    """How many characters ``field`` holds."""
    return WIDTHS[field]


def too_wide(field: str, text: str | None) -> TooWide | None:
    """What is wrong with writing ``text`` to ``field`` (None: nothing; a blank is not this check's to refuse)."""
    if text is None or len(text) <= WIDTHS[field]:
        return None
    return TooWide(field, len(text), WIDTHS[field])
