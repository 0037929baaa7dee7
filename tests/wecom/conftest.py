"""Fixtures of the WeCom tests: the fake WeCom server, a core on the sample ledger, the channel serving it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Core
from bot.clock import FrozenClock
from bot.config import Settings
from tests.e2e.harness import running, sample_core
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import WeComHarness, wecom_settings

# Answers of the fake that mean the bot sent something WeCom would refuse (not flow control).
REFUSALS = {40058, 45002, 44004, 40007, 40004, 40005, 40006, 301002, 40016, 40017, 40018, 40019}


@pytest.fixture
async def fake_wecom() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def wc_settings(fake_wecom: FakeWeCom) -> Settings:
    return wecom_settings(fake_wecom)


@pytest.fixture
async def wecom_core(wc_settings: Settings, frozen_clock: FrozenClock,
                     ledger_template: Path) -> AsyncIterator[Core]:
    async with sample_core(wc_settings, frozen_clock, ledger_template) as core:
        yield core


@pytest.fixture
async def wecom(fake_wecom: FakeWeCom, wecom_core: Core, wc_settings: Settings,
                tmp_path: Path) -> AsyncIterator[WeComHarness]:
    """The WeCom channel on a local port, with its inbox as `diaodu run` has it. Fails the test if handling a
    message raised, or if the fake refused something the bot sent (bad markdown, a bad card…), dropped a message
    over a member's limits, or would show a card button's text cut; or if a message answered was left unhandled
    in the inbox."""
    inbox = tmp_path / "wecom-inbox"
    async with running(WeComHarness(fake_wecom, wecom_core, wc_settings, inbox=inbox)) as harness:
        yield harness
    assert list(inbox.iterdir()) == [], "messages answered and left unhandled in the inbox"
    refused = [(c.path, c.answer) for c in fake_wecom.calls if c.errcode in REFUSALS]
    assert harness.channel.stats["failed"] == 0, "a WeCom message raised while being handled"
    assert not refused, f"the fake WeCom refused: {refused}"
    assert not fake_wecom.dropped, f"WeCom dropped messages over a member's limits: {fake_wecom.dropped[:3]}"
    assert not fake_wecom.cut_buttons, f"card buttons a WeCom client shows cut: {fake_wecom.cut_buttons[:3]}"
