"""Writes what a tick has to tell people: one notice per person, grouped when several things concern them.

See `bot.domain.grouping` for the rules. A person's single concern goes out as its own notice under its
own key (as it always did); several go out as one list (the `notice_digest` template) with a button per
thing, and each of their keys gets a `merged` marker in the outbox, so a repeated tick finds every key
used and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.grouping import DIGEST_LINES_MAX, Concern, by_person, digest_buttons, group_key
from bot.domain.messages import Reply
from bot.render import Renderer
from storage import outbox


async def deliver(session: AsyncSession, renderer: Renderer, concerns: Sequence[Concern], *, now: datetime,
                  kind: str) -> list[int]:
    """Queue one notice per person concerned; returns the outbox row ids written.

    Each concern's `line` is HTML its job rendered (escaped already). `kind` names the tick in the grouped
    notice's heading and key: "reminders" or "escalation".
    """
    if not concerns:
        return []
    used = await outbox.keys_used(session, [c.key for c in concerns])
    notices: list[outbox.PersonNotice] = []
    merged: list[tuple[int, str, str]] = []
    for person_id, mine in by_person(concerns, used).items():
        if len(mine) == 1:
            notices.append(outbox.PersonNotice(person_id=person_id, reply=mine[0].reply, key=mine[0].key))
            continue
        key = group_key(f"group:{kind}", person_id, [c.key for c in mine])
        html = renderer.render("notice_digest", kind=kind, lines=[Markup(c.line) for c in mine[:DIGEST_LINES_MAX]],
                               count=len(mine), more=max(0, len(mine) - DIGEST_LINES_MAX))
        about = tuple(dict.fromkeys(code for c in mine for code in c.reply.about))  # a reminder's projects
        notices.append(outbox.PersonNotice(person_id=person_id, key=key,
                                           reply=Reply(html=html, buttons=digest_buttons(mine), about=about)))
        merged += [(person_id, c.key, key) for c in mine]
    ids = await outbox.enqueue_for_people(session, notices, now=now)
    await outbox.mark_merged(session, merged, now=now)
    return ids
