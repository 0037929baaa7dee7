"""A message delivered again after it was handled: answered with the replies kept with it (storage.processed), once.

Its first delivery stored its changes and its replies in one transaction, then sent the replies. The process may
have died in between (kill -9, a power cut), and the message comes again: Telegram re-delivers an update it was not
told was received, WeCom's inbox hands back after a restart what was answered and not done. It is not handled
again; it is answered with the kept replies, by the delivery that takes them (one, however many race):

- kept by this process: not taken. This process sent them, or is sending them (a double delivery racing the
  first): its own direct send answers, or hands them to the outbox.
- kept by another process: it may still be sending them (a slow first try, up to ``GUARD``), so they go to the
  outbox, not sent before ``GUARD`` after the message was handled; at once when that time has passed, or when the
  message comes from the inbox of a process known to be dead (``Incoming.answered_at``: WeCom takes over only the
  journal of a process no longer running).

Nothing marks the replies sent when they went out, so a process that dies after sending them and before the
message was confirmed to the channel has its message answered twice.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Incoming, Outcome
from storage import outbox, processed

log = logging.getLogger(__name__)

# Longer than the longest direct send of another process (Telegram's retries stop after 15 s, WeCom waits up to
# 65 s for its rate limit)
GUARD = timedelta(minutes=2)


async def answer_again(session: AsyncSession, msg: Incoming, *, by: str, now: datetime) -> Outcome:
    """The outcome of a message handled before (`msg.key` set): its kept replies, to send now, if another process
    kept them and cannot be sending them any more; else nothing to send now, and those replies queued in the outbox
    for later when another process kept them. `by`: this process."""
    assert msg.key is not None
    kept = await processed.kept_replies(session, channel=msg.channel, key=msg.key)
    if kept is None or kept.by == by or not await processed.take_replies(session, channel=msg.channel, key=msg.key):
        log.info("message %s:%s was handled before; not again", msg.channel, msg.key)
        return Outcome()
    due = now if msg.answered_at is not None else max(now, kept.handled_at + GUARD)
    log.warning("message %s:%s was handled before and maybe not answered: its %d replies sent again %s",
                msg.channel, msg.key, len(kept.replies), "now" if due <= now else f"at {due:%H:%M:%S}")
    if due <= now:
        return Outcome(replies=kept.replies)
    name = hashlib.sha256(f"{msg.channel}:{msg.key}".encode()).hexdigest()[:32]
    for n, reply in enumerate(kept.replies):
        await outbox.enqueue_for_chat(session, channel=msg.channel, chat_id=msg.chat_id, reply=reply,
                                      key=f"answered-again:{name}:{n}", now=now, attachment=reply.attachment,
                                      due=due)
    return Outcome()
