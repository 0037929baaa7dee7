"""Notices held for someone without a chat account go out when they bind one, on any channel.

Called by every way of binding (an invite code on Telegram or WeCom, an admin binding a WeCom account):
the recent notices are readdressed to the new account, each opened by a line saying how old it is; the
old ones become one summary listing them with their ages (`bot.domain.held` decides which are which).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.held import age_minutes, split_held
from bot.domain.limits import preview
from bot.domain.messages import Reply
from bot.render import Renderer, html_to_plain
from storage import outbox, outbox_views
from storage.models import ChatAccount

SUMMARY_PREVIEW = 40  # characters of each summarised notice shown


async def release(session: AsyncSession, renderer: Renderer, *, person_id: int, account: ChatAccount,
                  now: datetime) -> int:
    """Deliver the person's held notices through `account`; returns how many there were."""
    held = await outbox_views.held_for_person(session, person_id=person_id)
    if not held:
        return 0
    split = split_held([(row.id, row.created_at) for row in held], now)
    rows = {row.id: row for row in held}
    in_full = []
    for row_id in split.in_full:
        row = rows[row_id]
        note = renderer.render("held_note", minutes=age_minutes(row.created_at, now))
        payload = dict(row.payload or {})
        payload["html"] = f"{note}\n{payload.get('html', '')}"
        in_full.append((row, payload))
    summarised = [rows[i] for i in split.summarised]
    await outbox_views.release_held(session, in_full=in_full, summarised=summarised, channel=account.channel,
                                    chat_id=account.chat_id, now=now)
    if summarised:
        items = [{"minutes": age_minutes(row.created_at, now),
                  "text": preview(" ".join(html_to_plain(str((row.payload or {}).get("html", ""))).split()),
                                  SUMMARY_PREVIEW)}
                 for row in summarised]
        html = renderer.render("held_summary", items=items, in_full=len(in_full))
        await outbox.enqueue_for_person(session, person_id=person_id, reply=Reply(html=html), now=now,
                                        key=f"held-summary:{person_id}:{summarised[-1].id}")
    return len(held)
