"""Repository functions for people, their roles, chat accounts and invites."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage import processed
from storage.models import AuditEntry, ChatAccount, Conversation, Invite, Person, PersonRole


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


# Channels whose user ids are case-insensitive: WeCom's 成员UserID 不区分大小写 (an admin may type "haofang"
# for the member whose messages arrive as "HaoFang"). Ids are kept as spelled; only matching folds case.
CASE_INSENSITIVE_CHANNELS = frozenset({"wecom"})


def same_id(column: Any, value: Any, *, channel: str) -> ColumnElement[bool]:
    """`column` (an account's user or chat id) holds the id `value` (a value or a bind parameter) of `channel`:
    compared with case folded on the channels whose ids ignore case."""
    if channel in CASE_INSENSITIVE_CHANNELS:
        return func.lower(column) == func.lower(value)
    return column == value


def _exact_first(external_id: Any) -> tuple[Any, ...]:
    """Order for accounts matched case-insensitively: the one spelled exactly first, then the oldest (two
    accounts differing only by case, bound before matching folded case, resolve the same way every time)."""
    return case((ChatAccount.external_id == external_id, 0), else_=1), ChatAccount.id


async def get_account(session: AsyncSession, *, channel: str, external_id: str) -> ChatAccount | None:
    """The chat account of this channel user, if any (WeCom userids match whatever their case)."""
    return await session.scalar(
        select(ChatAccount)
        .where(ChatAccount.channel == channel, same_id(ChatAccount.external_id, external_id, channel=channel))
        .order_by(*_exact_first(external_id)).limit(1)
    )


@dataclass(frozen=True)
class Flow:
    """A caller's guided-flow state in one chat (see storage.conversations)."""

    flow: str
    state: dict[str, Any]
    updated_at: datetime | None = None  # when it last moved on (bot.domain.flows: an idle flow expires)


@dataclass(frozen=True)
class Caller:
    """Who sent a message, as stored: their chat account, its person, that person's roles, and their
    guided-flow state in the chat. Plain values, read without the ORM; `bound` says whether the sender may
    act as `person_id` (an account that is not blocked, of a person still active)."""

    account_id: int | None = None
    blocked: bool = False
    person_id: int | None = None
    name: str | None = None
    active: bool = False
    roles: frozenset[str] = frozenset()
    flow: Flow | None = None
    handled: bool = False  # the message being handled was handled before (storage.processed)
    external_id: str | None = None  # the account's id as stored (WeCom's may differ from the message's in case)

    @property
    def bound(self) -> bool:
        return self.account_id is not None and not self.blocked and self.person_id is not None and self.active

    @property
    def deactivated(self) -> bool:
        """The account belongs to a person the 项目办 has deactivated (told so, rather than "not bound")."""
        return self.account_id is not None and self.person_id is not None and not self.active


# One SELECT for account, person, roles (one row per role) and the conversation, which the router needs for
# every non-command message and to leave a flow on a command, and whether the message was handled before.
def _caller_query(channel: str) -> Any:
    """The caller query for `channel`'s way of comparing ids (`same_id`); the channel itself is a parameter."""
    external_id = bindparam("external_id", type_=String)
    same = same_id(ChatAccount.external_id, external_id, channel=channel)
    return (
        select(ChatAccount.id, ChatAccount.blocked_at, Person.id, Person.name, Person.active, PersonRole.role,
               Conversation.flow, Conversation.state, Conversation.updated_at,
               processed.handled(bindparam("channel"), bindparam("message_key", type_=String)),
               ChatAccount.external_id)
        .select_from(ChatAccount)
        .outerjoin(Person, Person.id == ChatAccount.person_id)
        .outerjoin(PersonRole, PersonRole.person_id == Person.id)
        .outerjoin(
            Conversation,
            and_(
                Conversation.channel == ChatAccount.channel,
                Conversation.chat_id == bindparam("chat_id"),
                Conversation.user_id == external_id,  # as the message spells it (flows are saved so)
            ),
        )
        .where(ChatAccount.channel == bindparam("channel"), same)
        .order_by(*_exact_first(external_id))
    )


_CALLER_EXACT = _caller_query("")  # ids compared as spelled (Telegram, the console)
_CALLER_FOLDED = {channel: _caller_query(channel) for channel in CASE_INSENSITIVE_CHANNELS}


async def get_caller(session: AsyncSession, *, channel: str, external_id: str, chat_id: str,
                     message_key: str | None = None) -> Caller:
    """The sender of a message in `chat_id` as stored, and whether the message with `message_key` was
    handled before; an empty `Caller` for an unknown account (which has had no message handled: its
    first, /start, creates the account)."""
    params = {"channel": channel, "external_id": external_id, "chat_id": chat_id,
              "message_key": processed.stored_key(message_key) if message_key is not None else None}
    found = (await session.execute(_CALLER_FOLDED.get(channel, _CALLER_EXACT), params)).all()
    if not found:
        return Caller()
    account_id, blocked_at, person_id, name, active, _role, flow, state, flow_at, handled, spelled = found[0]
    return Caller(
        account_id=account_id, blocked=blocked_at is not None, person_id=person_id, name=name,
        active=bool(active), roles=frozenset(row[5] for row in found if row[5] is not None and row[0] == account_id),
        external_id=spelled,
        flow=Flow(flow, dict(state or {}), flow_at) if flow is not None else None, handled=bool(handled),
    )


# The person with roles and unit, in one SELECT (roles joined rather than selected in).
_PERSON_QUERY = select(Person).where(Person.id == bindparam("person_id")).options(joinedload(Person.roles))


async def get_person_with_roles(session: AsyncSession, *, person_id: int) -> Person | None:
    """The stored person for handlers that need more than the caller's id, name and roles."""
    return (await session.scalars(_PERSON_QUERY, {"person_id": person_id})).unique().one_or_none()


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


async def active_admins(session: AsyncSession) -> list[Person]:
    """The active people with the admin role, in roster order."""
    return list((await session.scalars(
        select(Person).join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.role == "admin", Person.active.is_(True)).order_by(Person.id))).unique().all())


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


async def respell(session: AsyncSession, *, account_id: int, external_id: str) -> bool:
    """The channel spells the account's id differently now (a WeCom userid bound as an admin typed it, in
    another case): keep the channel's spelling as the account's id, its private chat and, when it was the
    id, its display name, so what is shown and sent reads as the channel writes it. True when it changed."""
    account = await session.get(ChatAccount, account_id)
    if account is None or account.external_id == external_id \
            or account.external_id.lower() != external_id.lower():
        return False
    old = account.external_id
    account.external_id = external_id
    if account.chat_id == old:
        account.chat_id = external_id
    if account.display_name == old:
        account.display_name = external_id
    await session.flush()
    return True


async def unblock(session: AsyncSession, *, account_id: int, chat_id: str) -> bool:
    """The person wrote to us from the chat of their account that the outbox marked blocked: it is
    reachable again (Telegram lets nobody write to a bot they have blocked). True when the mark was cleared."""
    result = await session.execute(
        update(ChatAccount).where(ChatAccount.id == account_id, ChatAccount.chat_id == chat_id,
                                  ChatAccount.blocked_at.is_not(None))
        .values(blocked_at=None).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


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


async def names_of(session: AsyncSession, *, ids: Collection[int]) -> dict[int, str]:
    """Person id → name, of those of ``ids`` that exist."""
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.name).where(Person.id.in_(sorted(ids))))
    return {pid: name for pid, name in rows.all()}


async def active_at(session: AsyncSession, *, at: datetime) -> set[int]:
    """The ids of the people active at ``at``: active now, or deactivated (``/deactivate``, audited as
    ``person.deactivate`` with the person's id) after it. Two queries."""
    active = set(await session.scalars(select(Person.id).where(Person.active.is_(True))))
    since = await session.scalars(select(AuditEntry.object_key).where(
        AuditEntry.action == "person.deactivate", AuditEntry.object_type == "person", AuditEntry.at > at))
    return active | {int(key) for key in since if key.isdigit()}
