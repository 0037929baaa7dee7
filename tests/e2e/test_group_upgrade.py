"""A bulletin group Telegram upgrades to a supergroup (a new chat id), through the real PTB Application, the outbox
and the fake Bot API answering as Telegram does: told by the updates (the supergroup's my_chat_member, the service
messages in the old and the new chat) or only by a send to the old id refused naming the new one (the updates lost),
the group follows its new id with its name and marks, the notices waiting for it go there, and the admins are told
once."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from storage.models import AuditEntry, BulletinGroup, OutboxMessage
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import (  # noqa: F401 - fixtures
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
from tests.e2e.test_group_rights import ADMIN, NOTE, forget_refused, marks, started

OLD, NEW = -4001234, -1009876543210  # a basic group, and the supergroup it becomes


async def registered(office: Office) -> None:
    await started(office)
    office.fake.group(OLD, kind="group", title="城北片区")
    added = await office.tg.send(ADMIN, "/groups add 城北片区", chat_id=OLD)
    assert "已将本群添加为通报群「城北片区」" in added, added


async def test_a_group_upgraded_to_a_supergroup_keeps_its_name_and_marks_and_the_admins_are_told_once(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Marked 不能发图片 (found by the week's charts refused), the group is upgraded: Telegram's three updates move
    it to its new id, the mark with it, and tell the admins once; the next bulletin goes to the new id only, its text
    with a line in place of each chart."""
    office = Office(cloned, settings)
    await registered(office)
    office.fake.group_permissions(OLD, can_send_photos=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    await office.deliver()
    await office.deliver()
    forget_refused(office)
    listed, _cli = await marks(cloned)
    assert "⚠️ 不能发图片：" in listed, listed

    office.travel(at(10, 14, 11, 0))
    updates = office.fake.migrate_group(OLD, NEW, user_id=HAO)
    assert len(updates) == 3 and "my_chat_member" in updates[0]
    for update in updates:
        await cloned.wait_processed(update["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "通报群「城北片区」已升级为超级群" in told and f"<code>{NEW}</code>" in told, told
    async with cloned.session() as session:
        [group] = (await session.scalars(select(BulletinGroup).where(BulletinGroup.channel == "telegram")
                                          .where(BulletinGroup.name == "城北片区"))).all()
        moves = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "group.move"))).all()
    assert (group.chat_id, group.files_refused) == (str(NEW), "photos")
    assert len(moves) == 1
    listed, cli = await marks(cloned)
    assert "城北片区" in listed and "⚠️ 不能发图片：" in listed and str(NEW) in listed, listed
    assert texts(ADMIN, await office.deliver()) == []  # told once

    office.travel(at(10, 19, 9, 0))
    await office.tick()
    calls = await office.deliver()
    assert to(OLD, calls, method=None) == []
    sent = texts(NEW, calls)
    assert "重点项目周通报（2026-W42" in sent[0] and any(NOTE in t for t in sent), sent
    forget_refused(office)


async def test_a_group_upgraded_while_the_bot_heard_nothing_is_followed_when_a_send_is_refused(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """The updates of the upgrade lost (the bot was down longer than Telegram keeps them): the week's bulletin
    queued for the group meets "group chat was upgraded to a supergroup chat" naming the new id. Every message of it
    reaches the new id, the group follows it there, and the admins are told once; the next bulletin goes to the new
    id at once."""
    office = Office(cloned, settings)
    await registered(office)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    async with cloned.session() as session:
        queued = len((await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == str(OLD)))).all())
    assert queued > 1
    assert office.fake.migrate_group(OLD, NEW, user_id=HAO, told=False)

    calls = await office.deliver() + await office.deliver()
    refused = to(OLD, calls, method=None)
    assert refused and not any(c.ok for c in refused)
    assert len([c for c in to(NEW, calls, method=None) if c.ok]) == queued
    assert "重点项目周通报（2026-W41" in texts(NEW, calls)[0]
    [told] = texts(ADMIN, calls)
    assert "通报群「城北片区」已升级为超级群" in told, told
    async with cloned.session() as session:
        chats = (await session.scalars(select(BulletinGroup.chat_id).where(BulletinGroup.name == "城北片区"))).all()
    assert chats == [str(NEW)]
    forget_refused(office)

    office.travel(at(10, 19, 9, 0))
    await office.tick()
    calls = await office.deliver()
    assert to(OLD, calls, method=None) == [] and texts(NEW, calls)
    assert texts(ADMIN, calls) == []


async def test_a_group_upgraded_and_refusing_the_bot_at_its_new_id_is_marked_and_its_notices_wait_there(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Upgraded unheard, the group also took the bot out: the bulletin's first send to the old id is redirected to
    the new one and refused there. The group (at its new id) is marked 已移出, the admins told, and the bulletin waits
    at the new id, not given up on; the bot added back, it goes out there."""
    office = Office(cloned, settings)
    await registered(office)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    assert office.fake.migrate_group(OLD, NEW, user_id=HAO, told=False)
    office.fake.bot_standing(NEW, "kicked", user_id=HAO, told=False)

    calls = await office.deliver() + await office.deliver()
    assert not any(c.ok for c in to(NEW, calls, method=None))
    told = "".join(texts(ADMIN, calls))
    assert "已被移出通报群「城北片区」" in told, told
    async with cloned.session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id.in_([str(OLD), str(NEW)]))
                                      )).all()
        group = await session.scalar(select(BulletinGroup).where(BulletinGroup.name == "城北片区"))
    assert group is not None and group.chat_id == str(NEW) and group.left_at is not None
    assert len(rows) > 1 and {(r.chat_id, r.state, r.attempts) for r in rows} == {(str(NEW), "pending", 0)}
    forget_refused(office)
    office.fake.calls[:] = [c for c in office.fake.calls if c.status != 403]

    office.travel(at(10, 13, 10, 0))
    await cloned.wait_processed(office.fake.bot_standing(NEW, "member", user_id=HAO)["update_id"])
    calls = await office.deliver()
    assert "重点项目周通报（2026-W41" in texts(NEW, calls)[0]
    assert len([c for c in to(NEW, calls, method=None) if c.ok]) == len(rows)
