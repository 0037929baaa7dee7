"""The notices queued for a bulletin group wait while the bot is taken out of it or muted there, through the real PTB
Application, the outbox and the fake Bot API: none is tried (Telegram would refuse each) or lost; when the bot may
send there again they go out, the admins told once, with what went out; of the bulletins that waited only the newest
of each kind is sent, and the admins are told which were not."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from storage import audit, outbox_views
from storage.models import OutboxMessage
from storage.outbox import PENDING, SENT, SUPERSEDED, WITHDRAWN
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import (  # noqa: F401 - fixtures
    GROUP,
    HAO,
    WANG,
    Office,
    at,
    cloned,
    data_dir,
    settings,
    texts,
    to,
)
from tests.e2e.test_group_rights import ADMIN, started


async def group_rows(tg: TelegramHarness) -> list[OutboxMessage]:
    async with tg.session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == str(GROUP))
                                           .order_by(OutboxMessage.id))).all())


async def test_a_bulletin_queued_for_a_group_the_bot_is_muted_in_waits_and_goes_out_when_it_may_speak(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """The week's bulletin is queued for the group; before it goes out a group admin mutes the bot (Telegram tells
    it). The admins are told once; none of the bulletin's messages is tried, none is lost. Allowed to speak again,
    the bot sends them all, and the admins are told once that they went out."""
    office = Office(cloned, settings)
    await started(office)
    office.travel(at(10, 12, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W41"]
    queued = await group_rows(cloned)
    assert len(queued) > 1

    office.travel(at(10, 12, 9, 1))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "restricted", user_id=HAO, can_send=False)[
        "update_id"])
    calls = await office.deliver()
    assert texts(WANG, calls) and to(GROUP, calls, method=None) == []  # not tried
    [told] = texts(ADMIN, calls)
    assert "机器人在通报群「重点项目领导小组」被禁言" in told and "恢复发送后补发" in told, told
    assert {(r.state, r.attempts) for r in await group_rows(cloned)} == {(PENDING, 0)}
    assert to(GROUP, await office.deliver(), method=None) == [] and texts(ADMIN, await office.deliver()) == []

    office.travel(at(10, 13, 10, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "member", user_id=HAO)["update_id"])
    calls = await office.deliver()
    sent = to(GROUP, calls, method=None)
    assert len(sent) == len(queued) and all(c.ok for c in sent)
    assert "重点项目周通报（2026-W41" in texts(GROUP, calls)[0]
    [told] = texts(ADMIN, calls)
    assert "已恢复发送消息的权限" in told and "暂停期间暂存的 2026-W41 周通报现补发到该群" in told, told
    assert "不再补发" not in told
    assert {r.state for r in await group_rows(cloned)} == {SENT}


async def test_a_bulletin_waiting_for_a_group_the_bot_was_taken_out_of_is_superseded_by_the_next_one(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Queued for the group, the week's bulletin waits while the bot is out of it; the next week's bulletin comes
    out meanwhile and waits there too. Added back, the bot sends the newer one only: the admins are told once that
    it went out and that the old one was superseded, and the group gets the bulletins from then on."""
    office = Office(cloned, settings)
    await started(office)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "kicked", user_id=HAO)["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "已被移出通报群「重点项目领导小组」" in told and "同类通报只补发最新一期" in told, told
    office.travel(at(10, 19, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W42"]
    assert to(GROUP, await office.deliver(), method=None) == []
    assert {r.state for r in await group_rows(cloned)} == {PENDING}

    office.travel(at(10, 20, 9, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "member", user_id=HAO)["update_id"])
    calls = await office.deliver()
    got = texts(GROUP, calls)
    assert "重点项目周通报（2026-W42" in got[0] and not any("2026-W41" in text for text in got)
    [told] = texts(ADMIN, calls)
    assert "已重新加入通报群" in told and "以下通报已过时，不再补发：2026-W41 周通报" in told, told
    assert "暂停期间暂存的 2026-W42 周通报现补发到该群" in told, told
    rows = await group_rows(cloned)
    assert {r.state for r in rows if ":2026-W41:" in r.dedupe_key} == {SUPERSEDED}
    assert {r.state for r in rows if ":2026-W42:" in r.dedupe_key} == {SENT}

    office.travel(at(10, 26, 9, 0))
    await office.tick()
    assert "重点项目周通报（2026-W43" in texts(GROUP, await office.deliver())[0]


async def test_a_group_the_bot_was_taken_out_of_unheard_is_found_by_a_refused_send_and_its_notices_wait(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Taken out of the group while the update saying so was lost: the bulletin's first message is refused ("bot was
    kicked from the supergroup chat"); the group is marked 已移出, the admins told once, and the bulletin waits (its
    other messages not tried). Added back, it goes out."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.bot_standing(GROUP, "kicked", user_id=HAO, told=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    calls = await office.deliver()
    [refused] = to(GROUP, calls, method=None)
    assert not refused.ok and "bot was kicked" in (refused.error or "")
    [told] = texts(ADMIN, calls) + texts(ADMIN, await office.deliver())
    assert "已被移出通报群「重点项目领导小组」" in told, told
    assert {(r.state, r.attempts) for r in await group_rows(cloned)} == {(PENDING, 0)}
    office.fake.calls[:] = [c for c in office.fake.calls if c.status != 403]

    office.travel(at(10, 13, 10, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "member", user_id=HAO)["update_id"])
    calls = await office.deliver()
    assert "重点项目周通报（2026-W41" in texts(GROUP, calls)[0]
    assert {r.state for r in await group_rows(cloned)} == {SENT}


async def test_a_group_removed_while_its_bulletin_waits_takes_the_bulletin_with_it(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """The week's bulletin waits for the group the bot was taken out of; the admins remove the group. The bulletin
    is withdrawn with it, as the reply and the audit say: never tried, not shown as undelivered, not sent even when
    the bot is let back into the group."""
    office = Office(cloned, settings)
    await started(office)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "kicked", user_id=HAO)["update_id"])
    await office.deliver()
    assert {r.state for r in await group_rows(cloned)} == {PENDING}

    removed = await cloned.send(ADMIN, f"/groups remove {GROUP}")
    assert "已移除通报群「重点项目领导小组」" in removed, removed
    assert "该群尚未发出的 2026-W41 周通报随之撤销，不再发送" in removed, removed
    assert {r.state for r in await group_rows(cloned)} == {WITHDRAWN}
    office.travel(at(10, 12, 10, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "member", user_id=HAO)["update_id"])
    calls = await office.deliver()
    assert to(GROUP, calls, method=None) == [] and texts(ADMIN, calls) == []
    async with cloned.session() as session:
        assert await outbox_views.count_failed(session) == 0  # nothing for /outbox to offer 重试 for
        [entry] = [a for a in await audit.entries_for(session, object_key=f"telegram:{GROUP}")
                   if a.action == "group.remove"]
    assert entry.detail == {"name": "重点项目领导小组", "withdrawn": ["weekly:2026-W41"]}
