"""Telling the admins that a channel is down (``bot.services.channel_breaker``), once per fault, and again
when it works: on their other channels, since the one at fault cannot carry the news.

One fault is one episode (``bot.services.fault_episodes``, ``channel-fault:<channel>``): a sender that
restarts, or a new leader, meeting the same fault finds the episode and tells nobody again (the notices'
keys carry the episode's start, and the outbox writes a key once). A sender that starts takes the episodes
over (``told``) and probes their channels at once: a fault mended by the restart itself (a token or secret
fixed in the settings) ends there, and the admins hear that the channel works again. An admin with no
account on another working channel learns of it from the log, the health check and the metrics only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services import fault_episodes
from bot.services.channel_breaker import ChannelFault
from storage import outbox, people
from storage.db import Database

log = logging.getLogger(__name__)

KNOWN_CHANNELS = ("wecom", "wecom_robot", "telegram")
_FROM_IP = re.compile(r"from ip:\s*([0-9a-fA-F.:]+)")


def episode_name(channel: str) -> str:
    return f"channel-fault:{channel}"


def receiving_episode_name(channel: str) -> str:
    return f"channel-not-receiving:{channel}"


def address_refused(detail: str) -> str | None:
    """The server address a trusted-IP refusal names ("… from ip: 1.2.3.4, more info …"), if it does."""
    found = _FROM_IP.search(detail)
    return found.group(1).rstrip(".,") if found else None


async def faults_told(session: AsyncSession, *, now: datetime,
                      channels: Collection[str] = KNOWN_CHANNELS) -> list[dict[str, Any]]:
    """The faults the admins were told of and not yet of their end (``channel``, ``reason``, ``since``), for
    ``/outbox``: why the notices of a channel wait."""
    found: list[dict[str, Any]] = []
    for channel in channels:
        episode = await fault_episodes.current(session, episode_name(channel), now=now)
        if episode is not None:
            found.append({"channel": channel, "reason": episode.get("reason"), "since": fault_episodes.since(episode)})
    return found


class ChannelNotices:
    """Writes the admins' notices about a channel's fault into the outbox."""

    def __init__(self, db: Database, clock: Clock, renderer: Renderer | None = None) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer or Renderer()

    async def told(self, channels: Collection[str]) -> list[ChannelFault]:
        """The faults of ``channels`` the admins were told of and not yet of their end, each due for a probe
        now: what a sender that starts takes over (``ChannelGate.recall``)."""
        now = self.clock.now()
        async with self.db.session() as session:
            episodes = await faults_told(session, now=now, channels=channels)
        return [ChannelFault(e["channel"], str(e["reason"]), "told before this process started", since=e["since"],
                             next_probe_at=now) for e in episodes]

    async def _episode(self, name: str, fault: ChannelFault) -> dict[str, Any]:
        """The episode of ``fault`` in the shared memory: the one told before, else a new one."""
        async with self.db.session() as session:
            episode, _new = await fault_episodes.begin(
                session, name, {"since": fault.since.isoformat(), "reason": fault.reason}, now=self.clock.now())
        return episode

    async def _end(self, name: str) -> tuple[dict[str, Any], datetime] | None:
        """The episode ``name`` told before and when it began, forgotten now; None: none was told."""
        async with self.db.session() as session:
            episode = await fault_episodes.end(session, name, now=self.clock.now())
        return None if episode is None else (episode, fault_episodes.since(episode))

    async def down(self, fault: ChannelFault, *, reachable: Collection[str]) -> int:
        """Tell the admins (on the ``reachable`` channels) that ``fault.channel`` is down, unless this fault
        was told before; how many notices were written."""
        episode = await self._episode(episode_name(fault.channel), fault)
        since = datetime.fromisoformat(str(episode["since"]))
        reply = Reply(html=self.renderer.render("channel_fault", kind="down", channel=fault.channel,
                                                reason=fault.reason, since=since,
                                                ip=address_refused(fault.detail)))
        return await self._tell(f"channel-down:{fault.channel}:{episode['since']}", reply, fault.channel, reachable)

    async def up(self, fault: ChannelFault, *, reachable: Collection[str]) -> int:
        """Tell the admins that ``fault.channel`` works again, if they were told it was down."""
        ended = await self._end(episode_name(fault.channel))
        if ended is None:
            return 0
        episode, since = ended
        reply = Reply(html=self.renderer.render("channel_fault", kind="up", channel=fault.channel,
                                                reason=fault.reason or episode.get("reason"), since=since, ip=None))
        return await self._tell(f"channel-up:{fault.channel}:{episode['since']}", reply, fault.channel, reachable)

    async def not_receiving(self, fault: ChannelFault, *, reachable: Collection[str]) -> int:
        """Tell the admins (on the ``reachable`` channels, ``fault.channel`` too: it still sends) that messages to
        the bot through ``fault.channel`` do not reach it, unless this fault was told before."""
        episode = await self._episode(receiving_episode_name(fault.channel), fault)
        since = datetime.fromisoformat(str(episode["since"]))
        reply = Reply(html=self.renderer.render("channel_not_receiving", kind="down", channel=fault.channel,
                                                reason=fault.reason, said=fault.detail, since=since))
        return await self._tell(f"not-receiving:{fault.channel}:{episode['since']}", reply, None, reachable)

    async def receiving(self, fault: ChannelFault, *, reachable: Collection[str]) -> int:
        """Tell the admins that messages through ``fault.channel`` reach the bot again, if they were told not."""
        ended = await self._end(receiving_episode_name(fault.channel))
        if ended is None:
            return 0
        episode, since = ended
        reply = Reply(html=self.renderer.render("channel_not_receiving", kind="up", channel=fault.channel,
                                                reason=episode.get("reason"), said="", since=since))
        return await self._tell(f"receiving:{fault.channel}:{episode['since']}", reply, None, reachable)

    async def _tell(self, key: str, reply: Reply, channel: str | None, reachable: Collection[str]) -> int:
        now = self.clock.now()
        targets = written = 0
        async with self.db.session() as session:
            for admin in await people.active_admins(session):
                for account in await people.accounts_of(session, person_id=admin.id):
                    if account.channel == channel or account.channel not in reachable or account.blocked_at:
                        continue
                    targets += 1
                    written += len(await outbox.enqueue_for_chat(
                        session, channel=account.channel, chat_id=account.chat_id, reply=reply,
                        key=f"{key}:p{admin.id}:a{account.id}", now=now))
        if not targets:
            log.warning("no admin has an account on another working channel to be told of %s", key)
        return written
