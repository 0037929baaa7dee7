"""Notices held for someone without an account reach them when they bind in WeCom (an invite code typed in
the app), each saying how old it is. The Telegram side and the admin's view: tests/e2e/test_held_notices.py.
"""

from __future__ import annotations

from tests.e2e.test_held_notices import WORKING_DAYS, at, held_count, remind
from tests.fakes.wecom_api import shown_text
from tests.wecom.harness import HAO, WeComHarness


async def test_held_reminders_reach_her_in_wecom_when_she_binds_there(wecom: WeComHarness) -> None:
    await remind(wecom.core, wecom.clock, WORKING_DAYS[:1])
    assert await held_count(wecom.core, "郝芳") == 2
    wecom.clock.set(at(WORKING_DAYS[0], 19, 30))
    mark = len(wecom.fake.calls)
    await wecom.bind(HAO, "郝芳", keyword=True)
    stats = await wecom.deliver_outbox()
    assert stats.sent == 2
    shown = [t for t in (shown_text(m) for m in wecom.fake.sent_to(HAO, since=mark)) if "您绑定账号前暂存" in t]
    assert len(shown) == 2
    assert "这是 3 小时前的通知" in shown[0] and "这是 1 小时前的通知" in shown[1]
    assert "ZD2026-001" in shown[0]
    assert await held_count(wecom.core, "郝芳") == 0
