"""The notices waiting for a bulletin group the bot was taken out of, or muted in (``bulletin_groups.left_at``): a
send there would be refused, so they are not due (``chat_open``, part of every claim) until the mark goes; then they
go out, but only the newest waiting bulletin of each kind: an older one would tell the group of a week (a month) gone
by, so it is ``superseded``, never sent, and the admins are told which (``release_waiting``). A group the admins
remove takes with it what was not yet sent there (``withdraw_for_group``): ``withdrawn``, never sent."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BulletinGroup, OutboxMessage
from storage.outbox import PENDING, SENDING, SUPERSEDED, WITHDRAWN

BULLETIN_KEY = re.compile(r"^bulletin:([^:|]+):([^:|]+):g\d+:")  # jobs.bulletin_send's keys of a group's rows


def chat_open(row: Any = OutboxMessage) -> Any:
    """The condition that ``row``'s chat is no bulletin group marked out or muted (its notices wait there)."""
    return ~exists().where(BulletinGroup.channel == row.channel, BulletinGroup.chat_id == row.chat_id,
                           BulletinGroup.left_at.is_not(None))


async def chat_waits(session: AsyncSession, *, channel: str, chat_id: str) -> bool:
    """Whether ``chat_id`` is a bulletin group marked out or muted: what is sent there waits."""
    return bool(await session.scalar(select(func.count()).select_from(BulletinGroup).where(
        BulletinGroup.channel == channel, BulletinGroup.chat_id == chat_id, BulletinGroup.left_at.is_not(None))))


@dataclass(frozen=True)
class Notices:
    """Outbox rows of a group as people count them: the bulletins (kind, period; each is several rows, its text
    parts and files) and how many other notices."""

    bulletins: list[tuple[str, str]] = field(default_factory=list)
    others: int = 0

    def __bool__(self) -> bool:
        return bool(self.bulletins or self.others)


def notices_of(keys: Iterable[str]) -> Notices:
    """``Notices`` of the rows of these dedupe keys."""
    bulletins: set[tuple[str, str]] = set()
    others = 0
    for key in keys:
        match = BULLETIN_KEY.match(str(key))
        if match is None:
            others += 1
        else:
            bulletins.add((match.group(1), match.group(2)))
    return Notices(sorted(bulletins), others)


@dataclass(frozen=True)
class Released:
    """What waited for a group when its mark went: the notices that go out now, and the bulletins (kind, period)
    not sent because a newer one of their kind waited too."""

    sent: Notices = field(default_factory=Notices)
    superseded: list[tuple[str, str]] = field(default_factory=list)
    change: int = 0  # the audit id of the change that released them (storage.group_chats.mark_back)


async def release_waiting(session: AsyncSession, *, group: BulletinGroup, now: datetime) -> Released:
    """The mark of ``group`` goes: of its waiting bulletins only the newest of each kind goes out, the older ones
    are set ``superseded``; the other notices are due now, as they were."""
    rows = (await session.execute(select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
        OutboxMessage.channel == group.channel, OutboxMessage.chat_id == group.chat_id,
        OutboxMessage.state == PENDING))).all()
    newest: dict[str, str] = {}
    for _, key in rows:
        if (match := BULLETIN_KEY.match(str(key))) is not None:
            newest[match.group(1)] = max(newest.get(match.group(1), match.group(2)), match.group(2))
    stale: dict[tuple[str, str], list[int]] = {}
    kept: list[str] = []
    for row_id, key in rows:
        match = BULLETIN_KEY.match(str(key))
        if match is not None and match.group(2) < newest[match.group(1)]:
            stale.setdefault((match.group(1), match.group(2)), []).append(row_id)
        else:
            kept.append(str(key))
    ids = [row_id for found in stale.values() for row_id in found]
    if ids:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.state == PENDING)
                              .values(state=SUPERSEDED, sent_at=None, last_error=f"superseded at {now.isoformat()}")
                              .execution_options(synchronize_session=False))
    return Released(sent=notices_of(kept), superseded=sorted(stale))


async def withdraw_for_group(session: AsyncSession, *, group: BulletinGroup, now: datetime) -> Notices:
    """The admins remove ``group``: what was not yet sent there is set ``withdrawn``, never sent (its bulletins'
    rows, and, when the group is marked out or muted, every notice waiting there); what that was."""
    mine = OutboxMessage.dedupe_key.like(f"bulletin:%:g{group.id}:%")
    where = [OutboxMessage.channel == group.channel, OutboxMessage.chat_id == group.chat_id,
             OutboxMessage.state == PENDING]
    if group.left_at is None:  # else all of the chat's pending rows wait, none would be sent
        where.append(mine)
    keys = list((await session.execute(update(OutboxMessage).where(*where).values(
        state=WITHDRAWN, sent_at=None, last_error=f"withdrawn at {now.isoformat()}: its group was removed")
        .returning(OutboxMessage.dedupe_key).execution_options(synchronize_session=False))).scalars().all())
    return notices_of(keys)


def withdrawn_detail(withdrawn: Notices) -> dict[str, object]:
    """What ``withdraw_for_group`` withdrew, for the audit of the removal (nothing when it was nothing)."""
    detail: dict[str, object] = {}
    if withdrawn.bulletins:
        detail["withdrawn"] = [f"{kind}:{period}" for kind, period in withdrawn.bulletins]
    if withdrawn.others:
        detail["withdrawn_others"] = withdrawn.others
    return detail


async def readdress(session: AsyncSession, *, message_id: int, channel: str, old: str, new: str) -> None:
    """Outbox row ``message_id``, refused at ``new``, the id its group has now (a group upgraded to a supergroup
    while the row was being sent), waits there, and so do the rows of the old id claimed or handed back meanwhile
    (those waiting when the group moved followed it then, ``storage.group_chats.move_chat``; a send under way keeps
    the id it was given)."""
    await session.execute(update(OutboxMessage).where(or_(
        OutboxMessage.id == message_id,
        and_(OutboxMessage.channel == channel, OutboxMessage.chat_id == old,
             OutboxMessage.state.in_((PENDING, SENDING)))))
        .values(chat_id=new).execution_options(synchronize_session=False))
