"""Whether each channel can send at all: a circuit breaker per channel, opened by a fault of its setup.

A ``ChannelDown`` error (the channel refuses every message until somebody fixes its setup: WeCom's
trusted IPs, a reset secret) is a fault of the channel, not of the message. It opens the channel's
breaker: the sender stops claiming the channel's notices, hands back those it holds unsent (no try
counted, nothing marked failed) and leaves them pending.

Then it probes: ``PROBE_FIRST`` after the fault, then twice as far apart each time, at most ``PROBE_MAX``
(``probe_interval``). A probe is the transport's own check when it has one (``probe()``: for WeCom a
fresh ``gettoken``), and then one held notice sent as a trial (``TRIAL``: the only one of its channel in
flight). The trial getting through, or being refused for a reason of its own (which proves the channel
answers), closes the breaker and the held notices go out; the check or the trial meeting ``ChannelDown``
again opens it until the next probe.

Only states and times live here (no I/O): ``bot.services.channel_gate`` runs the probes and the trials, and
``bot.services.channel_notices`` tells the admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.channels.base import ChannelDown

UP = "up"
DOWN = "down"  # holding every notice until the next probe
TRIAL = "trial"  # the check passed (or there is none): one notice may go out to find out
PROBE_FIRST = timedelta(seconds=30)
PROBE_MAX = timedelta(minutes=5)


def probe_interval(probes: int, *, first: timedelta = PROBE_FIRST, most: timedelta = PROBE_MAX) -> timedelta:
    """How long after the fault (``probes`` = 0) or after the ``probes``-th failed probe to probe again."""
    return min(most, first * 2 ** min(probes, 30))


@dataclass(frozen=True)
class ChannelFault:
    """Why a channel is down, since when, and when it is probed next."""

    channel: str
    reason: str  # ChannelDown.reason: "ip_not_trusted", "bad_secret"…
    detail: str  # the channel's own words (errcode and message), for the log and the health check
    since: datetime
    next_probe_at: datetime
    probes: int = 0  # failed probes so far
    state: str = DOWN

    def describe(self) -> dict[str, object]:
        """The fault as the health check shows it."""
        return {"state": self.state, "reason": self.reason, "detail": self.detail,
                "since": self.since.isoformat(), "next_probe_at": self.next_probe_at.isoformat(),
                "probes": self.probes}


class ChannelBreakers:
    """The breakers of one sender's channels (a channel never tripped is up)."""

    def __init__(self, *, first_probe: timedelta = PROBE_FIRST, max_probe: timedelta = PROBE_MAX) -> None:
        self.first_probe = first_probe
        self.max_probe = max_probe
        self._faults: dict[str, ChannelFault] = {}

    def state(self, channel: str) -> str:
        fault = self._faults.get(channel)
        return UP if fault is None else fault.state

    def fault(self, channel: str) -> ChannelFault | None:
        return self._faults.get(channel)

    def faults(self) -> dict[str, ChannelFault]:
        """The channels that are not up, and why."""
        return dict(self._faults)

    def up(self, channels: Iterable[str]) -> list[str]:
        """Those of ``channels`` that send as usual."""
        return [c for c in channels if c not in self._faults]

    def on_trial(self, channels: Iterable[str]) -> list[str]:
        """Those of ``channels`` that may send one notice to find out whether they work again."""
        return [c for c in channels if self.state(c) == TRIAL]

    def probes_due(self, now: datetime) -> list[str]:
        return [c for c, f in self._faults.items() if f.state == DOWN and f.next_probe_at <= now]

    def next_probe_at(self) -> datetime | None:
        times = [f.next_probe_at for f in self._faults.values() if f.state == DOWN]
        return min(times) if times else None

    def trip(self, channel: str, error: ChannelDown, now: datetime) -> bool:
        """A send met ``error``: the channel is down until the next probe. True when it was up (a new
        fault); a trial meeting it again means the next probe comes later; sends failing together with the
        one that opened the breaker change nothing."""
        fault = self._faults.get(channel)
        if fault is None:
            self._faults[channel] = ChannelFault(channel, error.reason, str(error), since=now,
                                                 next_probe_at=now + self._interval(0))
            return True
        if fault.state == TRIAL:
            self.probe_failed(channel, now, error)
        return False

    def recall(self, fault: ChannelFault) -> bool:
        """A fault told before this sender started (a restart, a new leader), its channel not tripped here yet:
        down until ``fault.next_probe_at``, so the probe finds out whether it was mended meanwhile (a token or
        a secret fixed in the settings takes a restart). True when it was taken."""
        if fault.channel in self._faults:
            return False
        self._faults[fault.channel] = replace(fault, state=DOWN, probes=0)
        return True

    def probe_failed(self, channel: str, now: datetime, error: ChannelDown | None = None) -> None:
        """A probe or a trial found the channel still down (``error``), or could not tell (None: network
        trouble): probe again later, each time twice as late."""
        fault = self._faults.get(channel)
        if fault is None:
            return
        probes = fault.probes + 1
        if error is not None:
            fault = replace(fault, reason=error.reason, detail=str(error))
        self._faults[channel] = replace(fault, probes=probes, state=DOWN, next_probe_at=now + self._interval(probes))

    def probe_passed(self, channel: str) -> None:
        """The channel's own check passed (or it has none): one notice may now go out as a trial."""
        fault = self._faults.get(channel)
        if fault is not None:
            self._faults[channel] = replace(fault, state=TRIAL)

    def recovered(self, channel: str) -> ChannelFault | None:
        """The channel works again; the fault it had, if any."""
        return self._faults.pop(channel, None)

    def _interval(self, probes: int) -> timedelta:
        return probe_interval(probes, first=self.first_probe, most=self.max_probe)
