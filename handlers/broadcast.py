"""/broadcast: an admin's notice to a role, a unit or everyone, one outbox row per person.

A broadcast to more than BROADCAST_CONFIRM people (setting, default 10) is not sent at once: the admin sees
the count and the text and presses 确认发送 (or 取消). Who it reaches is worked out again on 确认, so the
count sent is the one reported. Every broadcast sent is audited with its audience and text.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from bot.domain.limits import BROADCAST_TEXT_MAX
from bot.domain.messages import Button, Reply
from bot.render import ROLE_LABELS
from bot.render import label as button_label
from handlers.context import Context
from handlers.flow_buttons import Press, drafted, expired, flow_buttons
from handlers.flow_buttons import confirm_button as draft_confirm
from storage import audit, outbox
from storage.models import OutboxMessage, Person, PersonRole, Unit

PREFIX, FLOW = "bc", "broadcast"
BROADCAST_MAX = BROADCAST_TEXT_MAX
# The words an admin may type for a role: the roles' names as written (bot/templates/code_labels.j2) and shorter
# ones; read here, so that rewording a role's name there changes no command.
ROLE_WORDS: dict[str, str] = {
    "联络员": "liaison", "单位经办人": "unit", "包抓领导": "lead", "区主要领导": "top", "管理员": "admin",
    **{role: role for role in ROLE_LABELS},
    "经办人": "unit", "单位": "unit", "主要领导": "top", "领导": "lead",
}
EVERYONE = {"all", "全部", "所有人", "全体"}


async def broadcast_command(ctx: Context, args: str) -> None:
    """`/broadcast 联络员|区住建局|all 内容`: one notice per active person matching, through the outbox."""
    assert ctx.person is not None
    target, _, text = args.strip().partition(" ")
    text = text.strip()
    if not target or not text:
        ctx.reply("admin_ops_refused", reason="broadcast_usage")
        return
    if len(text) > BROADCAST_MAX:
        ctx.reply("admin_ops_refused", reason="broadcast_too_long", limit=BROADCAST_MAX)
        return
    resolved = await _audience(ctx, target)
    if resolved is None:
        return
    label, recipients = resolved
    if not recipients:
        ctx.reply("admin_ops_refused", reason="broadcast_nobody", target=label)
        return
    if len(recipients) > ctx.deps.settings.broadcast_confirm:
        state = drafted({"step": "confirm", "target": target, "text": text})
        await ctx.save_flow(FLOW, state)
        ctx.reply("admin_ops_broadcast_confirm", target=label, count=len(recipients), text=text,
                  limit=ctx.deps.settings.broadcast_confirm,
                  buttons=[[draft_confirm(button_label("broadcast_send", len(recipients)), PREFIX, state),
                            Button(button_label("cancel"), f"{PREFIX}:x")]])
        return
    await _send(ctx, label, recipients, text)


async def confirm_button(ctx: Context, data: str) -> None:
    """确认发送 / 取消 under a broadcast that waited for confirmation (the router does not check roles for
    buttons: an admin's only)."""
    if ctx.person is None or "admin" not in ctx.roles:
        ctx.reply("admin_ops_refused", reason="not_admin")
        return
    await _confirm(ctx, data)


@flow_buttons(FLOW, cancel="x", cancelled="admin_ops_broadcast_cancelled", confirm="ok")
async def _confirm(ctx: Context, press: Press) -> None:
    """确认发送 of the text its message showed: the audience worked out again, then sent."""
    state = press.state
    if not press.at("ok", "confirm"):
        expired(ctx)
        return
    await ctx.clear_flow()
    resolved = await _audience(ctx, str(state.get("target", "")))
    if resolved is None:
        return
    label, recipients = resolved
    if not recipients:
        ctx.reply("admin_ops_refused", reason="broadcast_nobody", target=label)
        return
    await _send(ctx, label, recipients, str(state.get("text", "")))


async def _send(ctx: Context, label: str, recipients: list[Person], text: str) -> None:
    assert ctx.person is not None
    # Its own key per broadcast (time and a random token): the same words sent twice are two broadcasts.
    key = f"broadcast:{ctx.now:%Y%m%d%H%M%S}:{ctx.person.id}:{secrets.token_hex(4)}"
    reply = Reply(html=ctx.deps.renderer.render("admin_ops_broadcast_notice", sender=ctx.person, text=text))
    notices = [outbox.PersonNotice(person_id=p.id, reply=reply, key=f"{key}:p{p.id}") for p in recipients]
    ids = await outbox.enqueue_for_people(ctx.session, notices, now=ctx.now)
    unreachable = int(await ctx.session.scalar(
        select(func.count(func.distinct(OutboxMessage.person_id)))
        .where(OutboxMessage.id.in_(ids), OutboxMessage.state == outbox.HELD)) or 0) if ids else 0
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="broadcast.send",
                       object_type="broadcast", object_key=key, detail={"target": label, "people": len(recipients),
                                               "unreachable": unreachable, "text": text[:500]})
    ctx.reply("admin_ops_broadcast_sent", target=label, count=len(recipients), unreachable=unreachable)


async def _audience(ctx: Context, target: str) -> tuple[str, list[Person]] | None:
    """Who a broadcast target names: everyone, a role, or a unit (its name, or the one unit containing it)."""
    base = select(Person).where(Person.active.is_(True)).order_by(Person.id)
    if target.lower() in EVERYONE:
        everyone = ctx.deps.renderer.phrase("admin_ops_words", "everyone")
        return everyone, list((await ctx.session.scalars(base)).unique().all())
    role = ROLE_WORDS.get(target) or ROLE_WORDS.get(target.lower())
    if role is not None:
        query = base.join(PersonRole, PersonRole.person_id == Person.id).where(PersonRole.role == role)
        return ROLE_LABELS[role], list((await ctx.session.scalars(query)).unique().all())
    units = list((await ctx.session.scalars(select(Unit).order_by(Unit.name))).all())
    matches = [u for u in units if u.name == target] or [u for u in units if target in u.name]
    if len(matches) != 1:
        ctx.reply("admin_ops_refused", reason="broadcast_target", target=target, units=matches,
                  roles=list(ROLE_LABELS.values()))
        return None
    unit = matches[0]
    return unit.name, list((await ctx.session.scalars(base.where(Person.unit_id == unit.id))).unique().all())
