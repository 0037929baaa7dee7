"""/start <code>: bind a chat account to a person from the roster; /help: what the caller can do.

An unbound sender who types an invite code on its own in a private chat binds as with ``/start <code>``:
WeCom has no deep link to tap, and people there paste the code they were given (:func:`bare_invite_code`).
"""

from __future__ import annotations

from bot.domain.messages import Incoming
from bot.services.invites import looks_like_code, refusal_for
from handlers.context import Context
from storage import audit, people


async def help_command(ctx: Context, _args: str) -> None:
    """List the commands the caller's roles allow."""
    bound = ctx.person is not None
    commands = ctx.commands.available(ctx.roles, bound=bound)
    ctx.reply("help", person=ctx.person, roles=sorted(ctx.roles), commands=commands)


def bare_invite_code(msg: Incoming) -> str | None:
    """The invite code a message is made of, when it came from a private chat (never a group's: binding
    happens in private) and holds nothing else; else None."""
    if msg.chat_id != msg.user_id or msg.photos or msg.document is not None or msg.callback_data is not None:
        return None
    return msg.text.strip() if looks_like_code(msg.text) else None


async def start(ctx: Context, args: str) -> None:
    """Redeem an invite code, or greet a bound user again."""
    code = args.split()[0] if args.split() else ""
    if not code:
        if ctx.person is None:
            ctx.reply("start_needs_code")
        else:
            _greet(ctx)
        return
    invite = await people.get_invite(ctx.session, code=code)
    person = await people.get_person(ctx.session, person_id=invite.person_id) if invite else None
    refusal = refusal_for(invite, person, ctx.now)
    if refusal is not None or invite is None or person is None:
        ctx.reply("invite_refused", reason=refusal.value if refusal else "unknown", invite=invite)
        return
    if ctx.person is not None and ctx.person.id != person.id:
        ctx.reply("already_bound", current=ctx.person)
        return
    new_role = people.grant_role(person, invite.role)
    account = await people.bind_account(
        ctx.session, person=person, channel=ctx.msg.channel, external_id=ctx.msg.user_id,
        chat_id=ctx.msg.chat_id, display_name=ctx.msg.display_name or None, now=ctx.now,
    )
    invite.used_at = ctx.now
    invite.used_by_account_id = account.id
    ctx.person = person
    await audit.record(
        ctx.session, actor=ctx.actor, at=ctx.now, action="account.bind", object_type="person",
        object_key=str(person.id),
        detail={"channel": ctx.msg.channel, "external_id": ctx.msg.user_id, "role": invite.role, "new_role": new_role},
    )
    _greet(ctx)


def _greet(ctx: Context) -> None:
    assert ctx.person is not None
    commands = ctx.commands.available(ctx.roles, bound=True)
    ctx.reply("welcome", person=ctx.person, roles=sorted(ctx.roles), commands=commands)
    ctx.outcome.menu = ctx.commands.menu(ctx.roles, bound=True)
