"""Which notices the outbox sender may send while a channel is down as a whole (``ChannelDown``).

The gate keeps the channels' breakers (``bot.services.channel_breaker``): it says which channels to
claim rows of, which notice of a channel on trial is the trial, runs the probes, and on a fault or its end
logs it and has the admins told (``bot.services.channel_notices``). A row of a channel that is down is
handed back unsent, no try counted, and is not claimed again until the channel works.

A channel whose every send fails for a passing reason for a while (``bot.services.send_streaks``: Telegram's
``sendMessage`` answering 5xx while polling works) is down alike, told and held the same way; a trial that meets a
passing failure again puts the next probe off, as one meeting the fault does. When a channel works again, its
notices still waiting out a retry's backoff fall due at once, with the held ones.

A channel that sends but does not receive (Telegram cannot deliver to the webhook) holds nothing: the gate
keeps the fault for the health check (``receiving_faults``), logs it and has the admins told, on every channel
that works, this one included.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.channels.base import ChannelDown, Transport
from bot.clock import Clock
from bot.services.channel_breaker import TRIAL, UP, ChannelBreakers, ChannelFault
from bot.services.channel_notices import ChannelNotices
from bot.services.send_streaks import SENDS_FAILING, SendStreaks
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
ERROR_MAX = 1000


def describe(exc: BaseException) -> str:
    """An error as stored in a row's ``last_error`` and logged: its type and text, at most ``ERROR_MAX``."""
    text = str(exc).strip()
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:ERROR_MAX]


class ChannelGate:
    """The channels of one sender that may send, the trial notice of each channel being tried, the probes."""

    def __init__(self, transports: Mapping[str, Transport], clock: Clock, *, breakers: ChannelBreakers | None = None,
                 notices: ChannelNotices | None = None, probe_timeout: float = 30.0,
                 retries_due: Callable[[str], Awaitable[int]] | None = None) -> None:
        """``retries_due``: makes the notices of a channel that works again which wait out a retry's backoff due now
        (the sender's ``storage.outbox_sending.retries_due_now``)."""
        self.transports = transports
        self.clock = clock
        self.breakers = breakers or ChannelBreakers()
        self.notices = notices
        self.probe_timeout = probe_timeout
        self._trials: dict[str, int] = {}  # channel on trial -> the id of the notice trying it
        self._recalled = False
        self.receiving_faults: dict[str, ChannelFault] = {}  # channel -> why messages to the bot do not reach it
        self.streaks = SendStreaks()
        self._retries_due = retries_due

    def states(self) -> dict[str, ChannelFault | None]:
        """Each channel, with its fault while it is down (None: up)."""
        return {channel: self.breakers.fault(channel) for channel in sorted(self.transports)}

    def up(self) -> list[str]:
        """The channels whose due rows are claimed as usual."""
        return self.breakers.up(self.transports)

    def may_send(self, message: OutboxMessage) -> bool:
        channel = str(message.channel)
        state = self.breakers.state(channel)
        return state == UP or (state == TRIAL and self._trials.get(channel) == message.id)

    def trial_channels(self) -> list[str]:
        """The channels that may send one notice as a trial and have none out yet."""
        return [c for c in self.breakers.on_trial(self.transports) if c not in self._trials]

    def start_trial(self, channel: str, message_id: int) -> None:
        self._trials[channel] = message_id

    def end_trial(self, message: OutboxMessage) -> bool:
        """Whether ``message`` was its channel's trial (which is over now, however it ended)."""
        channel = str(message.channel)
        if self._trials.get(channel) != message.id:
            return False
        del self._trials[channel]
        return True

    async def recall(self) -> None:
        """Once per sender, before its first probe: the faults the admins were told of by an earlier sender
        (before a restart, on another leader) are this one's too, probed at once (``ChannelBreakers.recall``).
        A failure to read them is only logged: the channel is then found down by its first send, as usual."""
        if self._recalled or self.notices is None:
            return
        try:
            faults = await self.notices.told(sorted(self.transports))
        except Exception:
            log.exception("could not read the channel faults told before this sender started")
            return
        self._recalled = True
        for fault in faults:
            if self.breakers.recall(fault):
                log.warning("channel %s was down before this sender started (%s, since %s); probing it", fault.channel,
                            fault.reason, fault.since.isoformat())

    async def probe(self) -> None:
        """Probe the channels that are down and due for it: the transport's ``probe()`` if it has one; when
        that passes (or there is none), the next claim takes one notice of the channel as a trial."""
        await self.recall()
        for channel in self.breakers.probes_due(self.clock.now()):
            check = getattr(self.transports[channel], "probe", None)
            if callable(check):
                try:
                    await asyncio.wait_for(check(), self.probe_timeout)
                except ChannelDown as error:
                    self.breakers.probe_failed(channel, self.clock.now(), error)
                    log.warning("channel %s is still down (%s); next probe at %s", channel, error,
                                self._next_probe(channel))
                    continue
                except Exception as error:  # the network, a timeout: the probe cannot tell
                    self.breakers.probe_failed(channel, self.clock.now())
                    log.warning("could not probe channel %s (%s); next probe at %s", channel, describe(error),
                                self._next_probe(channel))
                    continue
            self.breakers.probe_passed(channel)
            log.info("channel %s: probe passed; one held notice goes out to try it", channel)

    async def down(self, channel: str, error: ChannelDown) -> None:
        """A send met ``error``: the channel is down (logged and told once per fault)."""
        if not self.breakers.trip(channel, error, self.clock.now()):
            return  # known already (sends failing together), or a trial that found it still down
        log.error("channel %s is down (%s): %s; its notices are held, not failed, and the channel is probed "
                  "from %s on", channel, error.reason, error, self._next_probe(channel))
        fault = self.breakers.fault(channel)
        if fault is not None:
            await self._tell(fault, down=True)

    def answered(self, channel: str) -> None:
        """A send of ``channel`` got an answer (sent, or refused for a reason of the message or its chat)."""
        self.streaks.answered(channel)

    async def send_failed(self, channel: str, message: int, error: BaseException, *, trial: bool) -> bool:
        """A send of ``channel`` (of the notice ``message``) failed for a passing reason (``error``). The channel's
        trial meeting it: the channel is still down, probed again later; True if it is down for its sends failing
        (the trial failed as they did: its notice is held like the others, no try counted). Otherwise, once every
        send has failed so for a while (``SendStreaks``), the channel is down (``down``): True then (this send's
        notice is held like the others)."""
        if trial:
            self.breakers.probe_failed(channel, self.clock.now())
            log.warning("channel %s: the trial notice failed (%s); next probe at %s", channel, describe(error),
                        self._next_probe(channel))
            fault = self.breakers.fault(channel)
            return fault is not None and fault.reason == SENDS_FAILING
        if self.breakers.state(channel) != UP:
            return False
        fault = self.streaks.failed(channel, message, error, self.clock.now())
        if fault is None:
            return False
        await self.down(channel, fault)
        return True

    async def works(self, channel: str) -> None:
        """A trial got through (or was refused for a reason of its own): the channel works again."""
        fault = self.breakers.recovered(channel)
        if fault is None:
            # Nothing held here, but the admins may have been told it was down (by a watcher whose news was
            # still being written when the channel came back): they hear of its end, if so (once).
            await self._tell(ChannelFault(channel, "", "", since=self.clock.now(), next_probe_at=self.clock.now()),
                             down=False)
            return
        log.warning("channel %s works again (down since %s: %s); its held notices go out", channel,
                    fault.since.isoformat(), fault.reason)
        if self._retries_due is not None:  # those waiting for a retry go out with them, not minutes later
            try:
                moved = await self._retries_due(channel)
            except Exception:  # they still go out when their backoff ends
                log.exception("could not make the retries of channel %s due now", channel)
            else:
                if moved:
                    log.info("channel %s: %d notices waiting for a retry are due now", channel, moved)
        await self._tell(fault, down=False)

    async def not_receiving(self, channel: str, error: ChannelDown) -> None:
        """Messages to the bot through ``channel`` do not reach it (``error`` says why): logged and told once per
        fault; what the bot sends still goes."""
        known = self.receiving_faults.get(channel)
        if known is not None and known.reason == error.reason:
            return
        now = self.clock.now()
        fault = ChannelFault(channel, error.reason, str(error), since=known.since if known else now,
                             next_probe_at=now, state="not_receiving")
        self.receiving_faults[channel] = fault
        log.error("channel %s does not receive what is sent to the bot (%s): %s; what the bot sends still goes",
                  channel, error.reason, error)
        if self.notices is not None:
            try:
                await self.notices.not_receiving(fault, reachable=self.up())
            except Exception:
                log.exception("could not tell the admins that channel %s does not receive", channel)

    async def receiving(self, channel: str) -> None:
        """Messages to the bot through ``channel`` reach it (again): the admins hear of it if they were told
        they did not (by this process or one before it), once."""
        fault = self.receiving_faults.pop(channel, None)
        if fault is not None:
            log.warning("channel %s receives again (not since %s: %s)", channel, fault.since.isoformat(), fault.reason)
        if self.notices is None:
            return
        now = self.clock.now()
        try:
            await self.notices.receiving(fault or ChannelFault(channel, "", "", since=now, next_probe_at=now),
                                         reachable=self.up())
        except Exception:
            log.exception("could not tell the admins that channel %s receives again", channel)

    def _next_probe(self, channel: str) -> str:
        fault = self.breakers.fault(channel)
        return "-" if fault is None else fault.next_probe_at.isoformat()

    async def _tell(self, fault: ChannelFault, *, down: bool) -> None:
        """The admins' notice of a fault or its end, on the channels that work; a failure to write it is
        only logged (the held notices do not depend on it)."""
        if self.notices is None:
            return
        reachable = [c for c in self.up() if c != fault.channel]
        try:
            if down:
                await self.notices.down(fault, reachable=reachable)
            else:
                await self.notices.up(fault, reachable=reachable)
        except Exception:
            log.exception("could not tell the admins about channel %s", fault.channel)
