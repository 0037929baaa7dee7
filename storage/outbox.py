"""Repository functions for the outbox: every outgoing notice is a row, written with the change causing it.

This module holds the row states and writes the rows (``enqueue_*``); a sender claims them and records how each
send ended through ``storage.outbox_sending``; admins' views, held notices and sending again are in
``storage.outbox_views``.

Life of a row (``OutboxMessage.state``):

- ``pending``: waiting to be sent once ``next_attempt_at`` has come.
- ``sending``: claimed by a sender. While a row is sending, ``next_attempt_at`` is the end of the
  claim's lease. ``attempts`` is counted up when a row is claimed and doubles as a fencing token: the
  outcome of a send is only recorded by the claim that made it. Right before the network call the
  sender commits ``send_started_at`` (``mark_send_started``, fenced like the outcomes); until then the
  row has certainly not gone out.
- A sender that crashed leaves its rows in ``sending``. When a row's lease has run out, the next claim
  takes it over: a row whose send had not started is simply due again (it was only held in a batch),
  while a row whose send had started is set ``in_doubt`` (``hold_interrupted_sends``): the send may or
  may not have reached the chat, so it is not sent again automatically. Nothing stays stuck either way.
- ``sent``, ``failed`` (gave up after too many tries, ``last_error`` says why), ``undeliverable`` (every
  chat account of the recipient blocked the bot) and ``in_doubt`` are final for the sender.
- ``held``: the recipient has no chat account yet. The row waits, never claimed, until the person binds
  one (``held_for_person`` / ``release_held``: then it is readdressed and sent, or summarised when old),
  and admins see one line per person waiting (``held_people``), not a failure per notice.
- A row for a bulletin group the bot was taken out of, or muted in (``bulletin_groups.left_at``), waits: it is
  not due until the mark goes (``storage.group_waits``); a waiting bulletin of which a newer one of the same kind
  came out meanwhile is then ``superseded``, final and never sent. A group the admins remove takes its rows not yet
  sent with it: ``withdrawn``, final and never sent.
- ``merged``: a marker, never sent: the notice under this key went out as a line of a grouped notice
  (``mark_merged``), so the key counts as used and a repeated tick does not send it again.
  Admins see the last three (``failed_messages``) and may send one again (``retry_message``): back to
  ``pending``. A late "sent" from the claim that was interrupted still turns its ``in_doubt`` row
  ``sent``.

Claiming is a conditional ``UPDATE … SET state='sending' … RETURNING`` of due rows. On PostgreSQL the
candidates are first selected ``FOR UPDATE SKIP LOCKED``, so concurrent senders skip each other's rows;
on SQLite it is one ``UPDATE … WHERE id IN (SELECT …)`` statement under the single writer lock. Either
way the due condition is checked again on the row itself, so two senders never claim the same row.
A row whose send has started is never due: a claim sets such rows ``in_doubt`` instead, first thing in
the same transaction.

Recipients: a notice to a person goes to that person while active; a deactivated person's notices go to
whoever stands in for them (``storage.recipients``: their successor, else the admins), the rows addressed
to the stand-in.

Dedupe: every notice has a caller-chosen key; each row's ``dedupe_key`` is that key plus the chat it
goes to (``"{key}|telegram:123"``) or ``"{key}|none"``. Enqueuing a key that already has rows is a no-op,
and the unique column makes that hold even when two transactions race (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, insert, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Attachment, Button, Reply
from storage.models import ChatAccount, OutboxMessage
from storage.recipients import stand_ins

log = logging.getLogger(__name__)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNDELIVERABLE = "undeliverable"
IN_DOUBT = "in_doubt"
HELD = "held"  # waiting for the recipient to bind a chat account
MERGED = "merged"  # a marker: the notice went out as part of a grouped one
SUMMARISED = "summarised"  # held so long that it went out as a line of a summary when the person bound
SUPERSEDED = "superseded"  # a bulletin that waited for its group while a newer one of its kind came out: not sent
WITHDRAWN = "withdrawn"  # not yet sent to a bulletin group when the admins removed it: never sent
FINAL_STATES = (SENT, FAILED, UNDELIVERABLE, IN_DOUBT, HELD, MERGED, SUMMARISED, SUPERSEDED, WITHDRAWN)
UNDELIVERED_STATES = (FAILED, UNDELIVERABLE, IN_DOUBT)  # what the admins are shown, with a retry button
KEY_MAX = 200
NO_ACCOUNT = "no chat account"
ALL_BLOCKED = "every chat account blocked the bot"
INTERRUPTED = ("send interrupted: its sender stopped after the send began and before its outcome was "
               "recorded; it may have been delivered, so it is not sent again automatically")
KEYS_PER_QUERY = 250  # keys looked up per statement (two bound values each)
# Collations under which text sorts byte by byte (UTF-8 bytes sort as code points do).
_BYTE_ORDER_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"})



# ---------------------------------------------------------------- payloads


def payload_from(reply: Reply, *, attachment: Attachment | None = None) -> dict[str, Any]:
    """The JSON stored for a reply: its HTML, its rows of buttons, the projects it is about (if any) and an
    optional file to send with it."""
    payload: dict[str, Any] = {
        "html": reply.html,
        "buttons": [[{"label": b.label, "data": b.data, **({"url": b.url} if b.url else {}),
                      **({"web_app": True} if b.web_app else {})} for b in row]
                    for row in reply.buttons],
    }
    if reply.about:
        payload["about"] = list(reply.about)
    if attachment is not None:
        payload["attachment"] = {
            "kind": attachment.kind, "path": attachment.path, "filename": attachment.filename,
        }
    return payload


def reply_from_payload(payload: dict[str, Any]) -> Reply:
    """The reply a stored payload describes."""
    rows = tuple(
        tuple(Button(label=str(b["label"]), data=str(b["data"]), url=str(b.get("url") or ""),
                     web_app=bool(b.get("web_app"))) for b in row)
        for row in payload.get("buttons") or ()
    )
    return Reply(html=str(payload.get("html", "")), buttons=rows,
                 about=tuple(str(code) for code in payload.get("about") or ()))


def attachment_from_payload(payload: dict[str, Any]) -> Attachment | None:
    """The file a stored payload asks to send with the message, if any."""
    raw = payload.get("attachment")
    if not raw:
        return None
    kind = raw.get("kind")
    if kind not in ("photo", "document"):
        raise ValueError(f"unknown attachment kind {kind!r}")
    return Attachment(kind=kind, path=str(raw["path"]), filename=raw.get("filename"))


# ---------------------------------------------------------------- enqueuing


def _row_key(key: str, suffix: str) -> str:
    if not key or "|" in key:
        raise ValueError(f"a notice key must be non-empty and free of '|': {key!r}")
    full = f"{key}|{suffix}"
    if len(full) > KEY_MAX:
        raise ValueError(f"dedupe key longer than {KEY_MAX} characters: {full!r}")
    return full


_sorts_by_bytes_cache: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


async def _sorts_by_bytes(session: AsyncSession) -> bool:
    """Whether dedupe keys compare byte by byte, so that the rows of a key are one range of the unique index.

    SQLite compares them so (BINARY collation); PostgreSQL does under a C-like database collation. Then a
    range finds a key's rows through the index; ``LIKE 'key|%'`` cannot (SQLite's LIKE ignores case and
    PostgreSQL's needs the C collation), and reads the whole outbox for every notice.
    """
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return True
    if bind.dialect.name != "postgresql":
        return False
    engine = bind.engine
    known = _sorts_by_bytes_cache.get(engine)
    if known is None:
        row = (await session.execute(text(
            "SELECT datcollate::text, to_jsonb(d) ->> 'datlocprovider' FROM pg_database d "
            "WHERE datname = current_database()"
        ))).one()
        collation, provider = row[0], row[1]
        known = _sorts_by_bytes_cache[engine] = (collation in _BYTE_ORDER_COLLATIONS
                                                 and provider in (None, "c", "b"))
    return known


@functools.cache
def _keys_query(count: int, by_bytes: bool) -> Select[Any]:
    """The row keys under any of `count` notice keys, given as bound values k0, k1… (ranges or patterns)."""
    column = OutboxMessage.dedupe_key
    if by_bytes:
        return select(column).where(or_(*(
            and_(column >= bindparam(f"k{i}"), column < bindparam(f"k{i}_end")) for i in range(count)
        )))
    return select(column).where(or_(*(column.like(bindparam(f"k{i}"), escape="/") for i in range(count))))


def _like_prefix(text: str) -> str:
    """A LIKE pattern (escape character '/') for the values starting with `text`."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


async def _keys_used(session: AsyncSession, keys: Collection[str]) -> set[str]:
    """Which of these notice keys (valid ones, see `_row_key`) already have rows: one query per 250 keys."""
    wanted = list(dict.fromkeys(keys))
    by_bytes = await _sorts_by_bytes(session)
    used: set[str] = set()
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        chunk = wanted[start:start + KEYS_PER_QUERY]
        if len(wanted) > 1:  # always the same statement (repeating a key), so it is built and compiled once
            chunk += chunk[-1:] * (KEYS_PER_QUERY - len(chunk))
        params: dict[str, str] = {}
        for i, key in enumerate(chunk):
            if by_bytes:
                # The rows of a key run from "key|" to just before "key}": '}' follows '|'; keys have no '|'.
                params[f"k{i}"], params[f"k{i}_end"] = f"{key}|", f"{key}}}"
            else:
                params[f"k{i}"] = _like_prefix(f"{key}|")
        for row_key in (await session.scalars(_keys_query(len(chunk), by_bytes), params)).all():
            used.add(row_key.split("|", 1)[0])
    return used


async def keys_used(session: AsyncSession, keys: Collection[str]) -> set[str]:
    """Which of these notice keys were used before (sent, waiting, or merged into a grouped notice)."""
    for key in keys:
        _row_key(key, "")
    return await _keys_used(session, keys)


async def mark_merged(session: AsyncSession, merged: Sequence[tuple[int, str, str]], *, now: datetime) -> None:
    """Record that the notices (person id, key) went out as lines of the grouped notice named third: each
    key gets a ``merged`` marker row, so that it counts as used and is never sent on its own."""
    rows = [_values(key=_row_key(key, "merged"), person_id=person_id, channel=None, chat_id=None,
                    payload={"merged_into": into}, now=now, state=MERGED)
            for person_id, key, into in merged]
    rows = [{**row, "sent_at": now} for row in rows]
    await _insert_new(session, rows, ids_only=True)


async def _key_is_used(session: AsyncSession, key: str) -> bool:
    _row_key(key, "")  # refuse bad keys before anything is read
    return key in await _keys_used(session, [key])


async def _insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]], *, ids_only: bool = False
                      ) -> list[Any]:
    """Insert rows whose dedupe key is not taken yet; returns the rows actually written (or only their ids),
    in order."""
    dialect = session.get_bind().dialect.name
    returned: Any = OutboxMessage.id if ids_only else OutboxMessage
    written: list[Any] = []
    if dialect in ("sqlite", "postgresql"):
        if not rows:
            return written
        module = sqlite if dialect == "sqlite" else postgresql
        statement = (
            module.insert(OutboxMessage)
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
            .returning(returned)
            .execution_options(render_nulls=True)  # every row the same columns: one batch, not one per kind
        )
        # One executemany, sent as multi-row INSERTs: rows (and so ids) in order; RETURNING's order is not.
        written.extend((await session.scalars(statement, list(rows))).all())
        return sorted(written) if ids_only else sorted(written, key=lambda m: m.id)
    for values in rows:
        try:  # any other database: insert in a savepoint and shrug off the duplicate
            async with session.begin_nested():
                statement = insert(OutboxMessage).values(**values).returning(returned)
                written.extend((await session.scalars(statement)).all())
        except IntegrityError:
            pass
    return written


def _values(
    *, key: str, person_id: int | None, channel: str | None, chat_id: str | None, payload: dict[str, Any],
    now: datetime, state: str = PENDING, last_error: str | None = None, parts_sent: int = 0,
    due: datetime | None = None,
) -> dict[str, Any]:
    return {
        "dedupe_key": key, "person_id": person_id, "channel": channel, "chat_id": chat_id, "payload": payload,
        "state": state, "attempts": 0, "next_attempt_at": due or now, "last_error": last_error, "created_at": now,
        "parts_sent": parts_sent,
    }


async def enqueue_for_person(
    session: AsyncSession, *, person_id: int, reply: Reply, key: str, now: datetime,
    attachment: Attachment | None = None,
) -> list[OutboxMessage]:
    """Queue a notice to a person (or, when deactivated, to who stands in for them): one row per chat
    account that has not blocked the bot.

    A person without a chat account gets one "held" row, waiting for them to bind one; a person whose
    accounts all blocked the bot gets one "undeliverable" row (kept for the admins' list).
    Returns the rows written; none when the key was used before.
    """
    if await _key_is_used(session, key):
        return []
    payload = payload_from(reply, attachment=attachment)
    targets = (await stand_ins(session, [person_id]))[person_id]
    accounts = await _accounts_of(session, targets)
    rows: list[dict[str, Any]] = []
    for target in targets:
        rows += _person_rows(person_id=target, key=key, payload=payload, accounts=accounts[target], now=now)
    return await _insert_new(session, rows)


async def _accounts_of(session: AsyncSession, person_ids: Collection[int]) -> dict[int, list[ChatAccount]]:
    """Each person's chat accounts, in id order."""
    accounts: dict[int, list[ChatAccount]] = {pid: [] for pid in person_ids}
    if person_ids:
        query = (select(ChatAccount).where(ChatAccount.person_id.in_(sorted(set(person_ids))))
                 .order_by(ChatAccount.id))
        for account in (await session.scalars(query)).all():
            accounts[account.person_id].append(account)
    return accounts


def _person_rows(*, person_id: int, key: str, payload: dict[str, Any], accounts: Sequence[ChatAccount],
                 now: datetime) -> list[dict[str, Any]]:
    """The rows of a notice to a person with these chat accounts (in id order)."""
    usable = [a for a in accounts if a.blocked_at is None]
    if not usable:
        state, reason = (UNDELIVERABLE, ALL_BLOCKED) if accounts else (HELD, NO_ACCOUNT)
        return [_values(
            key=_row_key(key, "none"), person_id=person_id, channel=None, chat_id=None, payload=payload,
            now=now, state=state, last_error=reason,
        )]
    return [
        _values(key=_row_key(key, f"{a.channel}:{a.chat_id}"), person_id=person_id, channel=a.channel,
                chat_id=a.chat_id, payload=payload, now=now)
        for a in usable
    ]


@dataclass(frozen=True)
class PersonNotice:
    """One notice for `enqueue_for_people`: what `enqueue_for_person` takes besides the session and time."""

    person_id: int
    reply: Reply
    key: str
    attachment: Attachment | None = None


async def enqueue_for_people(
    session: AsyncSession, notices: Sequence[PersonNotice], *, now: datetime
) -> list[int]:
    """`enqueue_for_person` for each notice in turn, with the same rows as a result, in a few statements
    however many there are: one per 250 keys to find the keys used before, one to find who is active (more
    only for deactivated people), one for the chat accounts and one executemany insert. Returns the ids of
    the rows written, in order.
    """
    for notice in notices:
        _row_key(notice.key, "")  # refuse bad keys before anything is read
    if not notices:
        return []
    used = await _keys_used(session, [n.key for n in notices])
    targets = await stand_ins(session, {n.person_id for n in notices if n.key not in used})
    accounts = await _accounts_of(session, {t for ts in targets.values() for t in ts})
    # A stand-in told the same thing for several people (or for themselves too) is told it once.
    told = {(n.person_id, n.reply.html) for n in notices if targets.get(n.person_id) == (n.person_id,)}
    rows: list[dict[str, Any]] = []
    for notice in notices:
        if notice.key in used:  # written before, or by an earlier notice of this batch
            continue
        used.add(notice.key)
        payload = payload_from(notice.reply, attachment=notice.attachment)
        own = targets[notice.person_id] == (notice.person_id,)
        for target in targets[notice.person_id]:
            if not own:
                if (target, notice.reply.html) in told:
                    continue
                told.add((target, notice.reply.html))
            rows += _person_rows(person_id=target, key=notice.key, now=now, accounts=accounts[target],
                                 payload=payload)
    return await _insert_new(session, rows, ids_only=True)


async def enqueue_for_chat(
    session: AsyncSession, *, channel: str, chat_id: str, reply: Reply, key: str, now: datetime,
    attachment: Attachment | None = None, parts_sent: int = 0, due: datetime | None = None,
) -> list[OutboxMessage]:
    """Queue a notice to one chat (a group chat, or a direct reply that could not go out at once); no-op
    when the key was used. ``parts_sent``: how many of its messages already reached the chat (a direct
    reply that failed part-way), which the sender will not send again. ``due``: not sent before then (a
    notice that may still be withdrawn, see `withdraw_pending`); at once when not given."""
    if await _key_is_used(session, key):
        return []
    return await _insert_new(session, [_values(
        key=_row_key(key, f"{channel}:{chat_id}"), person_id=None, channel=channel, chat_id=str(chat_id),
        payload=payload_from(reply, attachment=attachment), now=now, parts_sent=max(0, parts_sent), due=due,
    )])


async def withdraw_pending(session: AsyncSession, *, channel: str, chat_id: str, key: str) -> bool:
    """Take back a notice to one chat (`enqueue_for_chat`) that no sender has claimed yet, because what it
    would say no longer holds; the key is free again. Whether there was one: a notice already claimed goes
    out as it is."""
    result = await session.execute(delete(OutboxMessage).where(
        OutboxMessage.dedupe_key == _row_key(key, f"{channel}:{chat_id}"), OutboxMessage.state == PENDING))
    return bool(result.rowcount)
