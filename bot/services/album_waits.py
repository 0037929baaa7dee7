"""After a restart: the albums still waiting for their caption (``storage.album_waits``) have their one notice
("the photos were not saved") put off again, since the caption, sent with the parts the bot handled before it
stopped, may still be queued behind the backlog the bot is about to work through (``bot.domain.albums``). A
notice that went out meanwhile is recorded as told, never sent again. Run by ``diaodu run``'s leader once elected,
before its outbox sender sends anything and before it polls Telegram."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.clock import Clock
from bot.domain.albums import ALBUM_MEMORY, notice_key, resumed_due
from bot.domain.messages import Reply
from bot.render import Renderer
from storage import album_waits, outbox
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class Resumed:
    """What :func:`resume` did: notices put off, notices found gone out, albums forgotten."""

    put_off: int = 0
    told: int = 0
    forgotten: int = 0


async def resume(db: Database, clock: Clock, renderer: Renderer) -> Resumed:
    """Put off the notices of the albums still waiting for their caption (see the module's docstring)."""
    now = clock.now()
    done = Resumed()
    async with db.session() as session:
        done.forgotten = await album_waits.forget_before(session, seen_before=now - ALBUM_MEMORY)
        for wait in await album_waits.waiting(session):
            key = notice_key(wait.channel, wait.chat_id, wait.album)
            if not await outbox.withdraw_pending(session, channel=wait.channel, chat_id=wait.chat_id, key=key):
                await album_waits.save_wait(session, replace(wait, state=album_waits.TOLD))
                done.told += 1
                continue
            due = resumed_due(wait.notice_due, seen_at=wait.seen_at, sent_at=wait.sent_at, now=now)
            html = renderer.render("album_unexplained", count=wait.parts, busy=wait.busy)
            await outbox.enqueue_for_chat(session, channel=wait.channel, chat_id=wait.chat_id, reply=Reply(html=html),
                                          key=key, now=now, due=due)
            await album_waits.save_wait(session, replace(wait, notice_due=due))
            done.put_off += 1
    if done.put_off or done.told:
        log.info("albums waiting for their caption at start-up: %s", done)
    return done
