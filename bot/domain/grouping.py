"""One message per person per tick: what a tick has to tell each person, grouped.

A job (the reminders, the escalation tick) states each thing it has to tell someone as a `Concern`: the
notice it would send on its own, under its own key, and the one line (and buttons) it takes in a list.
A person concerned by one thing gets that notice; a person concerned by several gets one notice listing
them, under a key made from theirs, and each of their keys is marked used, so that a repeated tick
sends nothing twice. These are the pure rules; `bot.services.grouped_notices` writes the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from bot.domain.messages import Button, Reply

DIGEST_BUTTONS_MAX = 8  # rows of buttons of a grouped notice (one per thing listed, the first ones)
# buttons a grouped notice offers at most when it gives a thing more than one (a WeCom card holds six; past
# them it would become a numbered list): past them, each thing its first button only
DIGEST_CARD_BUTTONS = 6
DIGEST_LINES_MAX = 20  # things listed in a grouped notice; the rest are counted


@dataclass(frozen=True)
class Concern:
    """One thing a tick tells one person: alone, `reply` under `key`; among others, `line` and `buttons`."""

    person_id: int
    key: str
    reply: Reply
    line: str
    buttons: tuple[Button, ...] = ()


def by_person(concerns: Iterable[Concern], used: Collection[str] = ()) -> dict[int, list[Concern]]:
    """Each person's concerns not told before (key not in `used`), in the order given, each key once."""
    grouped: dict[int, list[Concern]] = {}
    seen = set(used)
    for concern in concerns:
        if concern.key in seen:
            continue
        seen.add(concern.key)
        grouped.setdefault(concern.person_id, []).append(concern)
    return grouped


def group_key(prefix: str, person_id: int, keys: Iterable[str]) -> str:
    """The key of a grouped notice: the same things for the same person give the same key."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:20]
    return f"{prefix}:{digest}:p{person_id}"


def digest_buttons(concerns: Sequence[Concern], limit: int = DIGEST_BUTTONS_MAX) -> tuple[tuple[Button, ...], ...]:
    """The buttons of a grouped notice: a row for each of the first `limit` concerns, each action once (the
    list says what the others are). A concern's buttons all side by side (a leader's problem: 批示 and 详情)
    while the notice's buttons stay within `DIGEST_CARD_BUTTONS`, else only the first of each."""
    rows = _rows(concerns, limit, every=True)
    if sum(len(row) for row in rows) > DIGEST_CARD_BUTTONS:
        rows = _rows(concerns, limit, every=False)
    return rows


def _rows(concerns: Sequence[Concern], limit: int, *, every: bool) -> tuple[tuple[Button, ...], ...]:
    """A row per concern with a button not given before: all its buttons (`every`) or its first."""
    rows: list[tuple[Button, ...]] = []
    seen: set[str] = set()
    for concern in concerns:
        if len(rows) >= limit:
            break
        row = tuple(b for b in (concern.buttons if every else concern.buttons[:1]) if b.data not in seen)
        seen.update(b.data for b in row)
        if row:
            rows.append(row)
    return tuple(rows)
