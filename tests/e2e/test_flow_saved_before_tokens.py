"""A 补报 or correction waiting for its 确认 as the previous version saved it (its state has no draft token: the
flows are kept in the database across a restart, an upgrade included). Typing 「确认补报」 / 「确认更正」 or any
text then must be answered (confirmed, or told the draft is out of date), not fail on the missing token."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.config import Settings
from storage.models import Conversation
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_backfill import CODE
from tests.e2e.test_backfill_old_buttons import office_at_work
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401  (fixtures)


async def _as_saved_before_tokens(tg: TelegramHarness) -> None:
    async with tg.session() as session:
        conversation = (await session.scalars(select(Conversation))).one()
        assert "draft" in conversation.state, conversation.state
        conversation.state = {k: v for k, v in conversation.state.items() if k != "draft"}
        await session.commit()


async def test_a_backfill_draft_saved_before_tokens_is_answered_when_typed_to(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    tg = december
    office = await office_at_work(tg, settings)
    office.travel(at(date(2026, 12, 24), 10))
    shown = await tg.send(ADMIN, f"/correct {CODE} 12-22 100 清表 理由：漏报")
    assert "确认补报" in shown.buttons, shown
    await _as_saved_before_tokens(tg)
    typed = await tg.send(ADMIN, "确认补报")
    assert typed.text.strip(), typed  # a reply the admin can read (stored, or the draft out of date)


async def test_a_correction_draft_saved_before_tokens_is_answered_when_typed_to(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    tg = december
    office = await office_at_work(tg, settings)
    office.travel(at(date(2026, 12, 24), 10))
    shown = await tg.send(ADMIN, f"/correct {CODE} 12-21 120 理由：金额有误")
    assert "确认更正" in shown.buttons, shown
    await _as_saved_before_tokens(tg)
    typed = await tg.send(ADMIN, "确认更正")
    assert typed.text.strip(), typed
