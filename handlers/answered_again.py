"""A message delivered again after it was handled: answered with the replies kept with it (storage.processed) only
when the process that handled it is known to have died, once; else not answered at all.

Its first delivery stored its changes and its replies in one transaction, then sent the replies. The process may
have died in between (kill -9, a power cut). Only a journal of the messages a process took in and did not finish
knows that: a process takes over the journal of one no longer running (WeCom's inbox) and hands its messages back
with ``Incoming.first_died``. Such a message, handled before (by a process other than this one, which is alive),
is answered with the kept replies, by the delivery that takes them (one, however many race). Any other delivery
again (a webhook's double delivery, a client's retry, the same message posted to another process) gets nothing:
the process that handled it is, as far as anyone knows, alive, and sent or is sending its replies itself.

The outcome says that its replies are the kept ones (``Outcome.again``): the channel's journal recorded how far
they went out before the process died, and the channel sends only the rest.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Incoming, Outcome
from storage import processed

log = logging.getLogger(__name__)


async def answer_again(session: AsyncSession, msg: Incoming, *, by: str) -> Outcome:
    """The outcome of a message handled before (`msg.key` set): the replies kept with it, taken, when the process
    that handled it died with it in hand (`msg.first_died`; not `by`, this process) and no other delivery took
    them; else nothing."""
    assert msg.key is not None
    kept = await processed.kept_replies(session, channel=msg.channel, key=msg.key) if msg.first_died else None
    if kept is None or kept.by == by or not await processed.take_replies(session, channel=msg.channel, key=msg.key):
        log.info("message %s:%s was handled before; not again", msg.channel, msg.key)
        return Outcome()
    log.warning("message %s:%s was handled before by a process that died: its %d replies go out again (those the "
                "journal says were sent left out)", msg.channel, msg.key, len(kept.replies))
    return Outcome(replies=kept.replies, again=True)
