"""/outbox, for admins: the notices that did not get through, with a 重试 button each and 全部重试; the
backlog; the people notices are held for (no chat account yet), with a button making each an invite.

A retry is audited in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.clock import to_local
from bot.domain import labels
from bot.domain.digits import as_id
from bot.domain.messages import Button
from bot.domain.paging import Page, page_number
from bot.render import html_to_plain, label
from bot.services.channel_notices import faults_told
from handlers.context import Context
from handlers.paging import page_buttons
from storage import audit, outbox, outbox_views
from storage import people as people_repo
from storage.models import ChatAccount, OutboxMessage, Person, PersonRole

OUTBOX_PREFIX = "obx"
INVITE_BUTTON = "adp:inv"  # /invite's button (handlers.admin_people): adp:inv:<role>:<person id>
ROLE_ORDER = ("liaison", "unit", "lead", "top", "admin")  # whose invite a held person's button makes
OUTBOX_SHOWN = 20
RETRY_ALL_LIMIT = 1000
CHANNEL_LABELS = labels.CHANNELS


async def outbox_command(ctx: Context, _args: str) -> None:
    """Notices that did not get through, newest first, with a 重试 button each (and 全部重试); the backlog."""
    await _show_outbox(ctx, done=None)


async def _show_outbox(ctx: Context, *, done: dict[str, Any] | None) -> None:
    """One page of the notices that did not get through (``ctx.page``; the first after a retry)."""
    total = await outbox_views.count_failed(ctx.session)
    number, pages = page_number(total, ctx.page if done is None else 1, OUTBOX_SHOWN)
    rows = await outbox_views.failed_messages(ctx.session, limit=OUTBOX_SHOWN, offset=(number - 1) * OUTBOX_SHOWN)
    page: Page[Any] = Page(items=list(rows), number=number, pages=pages, total=total)
    backlog = await outbox_views.backlog(ctx.session, now=ctx.now)
    names = await people_repo.names_of(ctx.session,
                                     ids={r.person_id for r in rows if r.person_id is not None})
    shown = [_outbox_row(r, names) for r in rows]
    buttons = [[Button(label("outbox_retry", r.id), f"{OUTBOX_PREFIX}:r:{r.id}")] for r in rows]
    if rows:
        buttons.append([Button(label("outbox_retry_all"), f"{OUTBOX_PREFIX}:all")])
    buttons += page_buttons("outbox", page)
    age = None if backlog.oldest_created_at is None else _waited(ctx.now - to_local(backlog.oldest_created_at))
    held, held_total, invite_buttons = await _held_shown(ctx)
    faults = await faults_told(ctx.session, now=ctx.now)  # channels down as a whole: their notices wait
    ctx.reply("admin_ops_outbox", rows=shown, total=total, backlog=backlog, age=age, done=done, page=page,
              held=held, held_total=held_total, faults=faults, buttons=invite_buttons + buttons)


async def _held_shown(ctx: Context) -> tuple[list[dict[str, Any]], int, list[list[Button]]]:
    """One line per person notices are held for (no chat account yet), and a button each that makes the
    person an invite (the /invite of their first role) to forward to them."""
    held, total = await outbox_views.held_people(ctx.session, limit=OUTBOX_SHOWN)
    if not held:
        return [], 0, []
    ids = sorted(h.person_id for h in held)
    found = {p.id: p for p in (await ctx.session.scalars(select(Person).where(Person.id.in_(ids)))).unique()}
    roles: dict[int, set[str]] = {}
    for person_id, role in (await ctx.session.execute(
            select(PersonRole.person_id, PersonRole.role).where(PersonRole.person_id.in_(ids)))).all():
        roles.setdefault(person_id, set()).add(role)
    lines: list[dict[str, Any]] = []
    buttons: list[list[Button]] = []
    for h in held:
        person = found.get(h.person_id)
        active = person is not None and person.active
        lines.append({"name": person.name if person is not None else None, "person_id": h.person_id,
                      "count": h.count, "active": active, "age": _waited(ctx.now - to_local(h.oldest_created_at))})
        role = next((r for r in ROLE_ORDER if r in roles.get(h.person_id, ())), None)
        if person is not None and active and role is not None:
            buttons.append([Button(label("invite", person.name), f"{INVITE_BUTTON}:{role}:{h.person_id}")])
    return lines, total, buttons


def _outbox_row(row: OutboxMessage, names: dict[int, str]) -> dict[str, Any]:
    """A notice that did not get through, for the template: its recipient (a person, by name when known, or a
    group), why (a reason the template words, or the channel's error as it said it)."""
    channel = CHANNEL_LABELS.get(row.channel or "", row.channel or "")
    plain = " ".join(html_to_plain(str((row.payload or {}).get("html", ""))).split())
    preview = plain if len(plain) <= 30 else plain[:30] + "…"
    error = row.last_error or ""
    reason = ("in_doubt" if row.state == outbox.IN_DOUBT else "no_account" if error == outbox.NO_ACCOUNT
              else "blocked" if error == outbox.ALL_BLOCKED else None)
    return {"id": row.id, "person_id": row.person_id, "person_name": names.get(row.person_id or 0),
            "chat_id": row.chat_id, "channel": channel, "state": row.state, "created_at": row.created_at,
            "preview": preview, "reason": reason, "error": error if len(error) <= 80 else error[:80] + "…"}


def _waited(delta: timedelta) -> int:
    """Whole minutes (the template words them: 30 分钟, 1 小时 0 分钟, 3 天)."""
    return max(0, int(delta.total_seconds() // 60))


async def outbox_button(ctx: Context, data: str) -> None:
    """obx:r:<id> retries one notice, obx:all every one that did not get through."""
    if "admin" not in ctx.roles:
        ctx.reply("admin_ops_refused", reason="not_admin")
        return
    kind, _, value = data.partition(":")
    if kind == "r" and as_id(value) is not None:
        rows = [await outbox_views.get_message(ctx.session, message_id=as_id(value))]
        if rows[0] is None or rows[0].state not in outbox.UNDELIVERED_STATES:
            ctx.reply("admin_ops_refused", reason="retry_gone", id=value)
            return
    elif kind == "all":
        rows = list(await outbox_views.failed_messages(ctx.session, limit=RETRY_ALL_LIMIT))
    else:
        ctx.reply("button_expired")
        return
    retried, stuck = [], []
    for row in rows:
        assert row is not None
        if await _readdress(ctx, row) and await outbox_views.retry_message(ctx.session, message_id=row.id,
                                                                           now=ctx.now):
            retried.append(row.id)
        else:
            stuck.append(row.id)
    if retried:
        await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="outbox.retry",
                           object_type="outbox", object_key="outbox", detail={"ids": retried, "skipped": stuck})
    await _show_outbox(ctx, done={"retried": len(retried), "stuck": len(stuck)})


async def _readdress(ctx: Context, row: OutboxMessage) -> bool:
    """A notice to a person that had no usable chat goes to the person's first usable account, if they have
    one by now (they bound one, or unblocked the bot by binding again). False if there is still none."""
    if row.channel is not None and row.chat_id is not None:
        return True
    if row.person_id is None:
        return False
    account = await ctx.session.scalar(
        select(ChatAccount).where(ChatAccount.person_id == row.person_id, ChatAccount.blocked_at.is_(None))
        .order_by(ChatAccount.id).limit(1))
    if account is None:
        return False
    row.channel, row.chat_id = account.channel, account.chat_id
    await ctx.session.flush()
    return True

