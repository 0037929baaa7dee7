"""Repository functions for people, their roles, chat accounts and invites."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import ChatAccount, Conversation, Invite, Person, PersonRole


def hash_code(code: str) -> str:
    """Invite codes are kept only as a SHA-256 hash."""
    return hashlib.sha256(code.encode()).hexdigest()


async def find_people_by_name(session: AsyncSession, *, name: str, phone: str | None = None) -> list[Person]:
    """Active and inactive people with this name (names repeat), optionally narrowed by phone."""
    query = select(Person).where(Person.name == name).order_by(Person.id)
    if phone:
        query = query.where(Person.phone == phone)
    return list((await session.scalars(query)).unique().all())


async def get_person(session: AsyncSession, *, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def get_account(session: AsyncSession, *, channel: str, external_id: str) -> ChatAccount | None:
    """The chat account of this channel user, if any."""
    return await session.scalar(
        select(ChatAccount).where(ChatAccount.channel == channel, ChatAccount.external_id == external_id)
    )


@dataclass(frozen=True)
class Caller:
    """Who sent a message, as stored: their chat account, its person (whatever their state) with roles and
    unit loaded, and their guided-flow state in that chat. All None for an unknown account."""

    account: ChatAccount | None
    person: Person | None
    conversation: Conversation | None


# One SELECT instead of account, person and roles (and the conversation, which the router needs for every
# non-command message and to leave a flow on a command): roles are joined rather than selected in.
_CALLER_QUERY = (
    select(ChatAccount, Person, Conversation)
    .outerjoin(Person, Person.id == ChatAccount.person_id)
    .outerjoin(
        Conversation,
        and_(
            Conversation.channel == ChatAccount.channel,
            Conversation.chat_id == bindparam("chat_id"),
            Conversation.user_id == ChatAccount.external_id,
        ),
    )
    .where(ChatAccount.channel == bindparam("channel"), ChatAccount.external_id == bindparam("external_id"))
    .options(joinedload(Person.roles))
)


async def get_caller(session: AsyncSession, *, channel: str, external_id: str, chat_id: str) -> Caller:
    """The chat account of this channel user with its person and their conversation in `chat_id`."""
    result = await session.execute(_CALLER_QUERY, {"channel": channel, "external_id": external_id,
                                                   "chat_id": chat_id})
    rows = result.unique().all()  # every row: the roles come one per row
    if not rows:
        return Caller(account=None, person=None, conversation=None)
    account, person, conversation = rows[0]
    return Caller(account=account, person=person, conversation=conversation)


async def accounts_of(session: AsyncSession, *, person_id: int) -> list[ChatAccount]:
    query = select(ChatAccount).where(ChatAccount.person_id == person_id).order_by(ChatAccount.id)
    return list((await session.scalars(query)).all())


def grant_role(person: Person, role: str) -> bool:
    """Give a person a role; True if it was new."""
    if role in person.role_names:
        return False
    person.roles.append(PersonRole(person_id=person.id, role=role))
    return True


async def add_invite(
    session: AsyncSession, *, code: str, person: Person, role: str, now: datetime, expires_at: datetime, created_by: str
) -> Invite:
    invite = Invite(
        code_hash=hash_code(code),
        person_id=person.id,
        role=role,
        created_at=now,
        expires_at=expires_at,
        created_by=created_by,
    )
    session.add(invite)
    await session.flush()
    return invite


async def get_invite(session: AsyncSession, *, code: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.code_hash == hash_code(code)))


async def bind_account(
    session: AsyncSession,
    *,
    person: Person,
    channel: str,
    external_id: str,
    chat_id: str,
    display_name: str | None,
    now: datetime,
) -> ChatAccount:
    """Bind (or re-bind) a chat identity to a person."""
    account = await get_account(session, channel=channel, external_id=external_id)
    if account is None:
        account = ChatAccount(channel=channel, external_id=external_id, created_at=now, person_id=person.id,
                              chat_id=chat_id, display_name=display_name)
        session.add(account)
    else:
        account.person_id = person.id
        account.chat_id = chat_id
        account.display_name = display_name
        account.blocked_at = None
    await session.flush()
    return account


async def people_with_role(session: AsyncSession, *, role: str, unit_id: int | None = None) -> list[Person]:
    """Active people holding a role (optionally in one unit), in id order."""
    query = (select(Person).join(PersonRole, PersonRole.person_id == Person.id)
             .where(PersonRole.role == role, Person.active.is_(True)).order_by(Person.id))
    if unit_id is not None:
        query = query.where(Person.unit_id == unit_id)
    return list((await session.scalars(query)).unique().all())


async def unit_handlers(session: AsyncSession, *, unit_id: int) -> list[Person]:
    """The handlers (经办人) who answer for a unit."""
    return await people_with_role(session, role="unit", unit_id=unit_id)
