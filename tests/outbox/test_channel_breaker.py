"""The channels' breakers as plain rules: when a channel is down, when it is probed, and what ends a fault
(end to end: tests/wecom/test_channel_down.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.channels.base import ChannelDown
from bot.services.channel_breaker import DOWN, TRIAL, UP, ChannelBreakers, probe_interval
from bot.services.channel_notices import address_refused

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
IP = ChannelDown("ip_not_trusted", "WeCom errcode 60020")


def test_probes_come_twice_as_late_each_time_up_to_five_minutes() -> None:
    assert [probe_interval(n).total_seconds() for n in range(6)] == [30, 60, 120, 240, 300, 300]
    assert probe_interval(10_000) == timedelta(minutes=5)


def test_sends_failing_together_open_the_breaker_once_and_do_not_delay_the_probe() -> None:
    breakers = ChannelBreakers()
    assert breakers.trip("wecom", IP, T0) is True
    assert breakers.trip("wecom", IP, T0 + timedelta(seconds=1)) is False
    fault = breakers.fault("wecom")
    assert fault is not None
    assert (fault.state, fault.probes, fault.next_probe_at) == (DOWN, 0, T0 + timedelta(seconds=30))
    assert breakers.up(["telegram", "wecom"]) == ["telegram"]
    assert breakers.probes_due(T0 + timedelta(seconds=29)) == []
    assert breakers.probes_due(T0 + timedelta(seconds=30)) == ["wecom"]


def test_a_trial_meeting_the_fault_again_waits_longer_and_one_that_gets_through_ends_it() -> None:
    breakers = ChannelBreakers()
    breakers.trip("wecom", IP, T0)
    breakers.probe_passed("wecom")
    assert breakers.state("wecom") == TRIAL and breakers.on_trial(["wecom", "telegram"]) == ["wecom"]
    at = T0 + timedelta(seconds=30)
    assert breakers.trip("wecom", ChannelDown("bad_secret", "40001"), at) is False
    fault = breakers.fault("wecom")
    assert fault is not None and (fault.state, fault.reason, fault.probes) == (DOWN, "bad_secret", 1)
    assert fault.next_probe_at == at + timedelta(seconds=60) and fault.since == T0
    breakers.probe_passed("wecom")
    ended = breakers.recovered("wecom")
    assert ended is not None and ended.since == T0
    assert breakers.state("wecom") == UP and breakers.faults() == {}


def test_the_refused_address_is_read_from_wecoms_words() -> None:
    assert address_refused("errcode 60020: not allow to access from your ip, hint: [1], from ip: 203.0.113.7, "
                           "more info at https://open.work.weixin.qq.com/devtool/query?e=60020") == "203.0.113.7"
    assert address_refused("errcode 40001: invalid secret") is None
