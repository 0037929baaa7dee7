"""/start <code>: bind a chat account to a person from the roster; /help: what the caller can do; the
pointer to the private chat that group chats get for everything not meant for a group.

An unbound sender who types an invite code on its own in a private chat binds as with ``/start <code>``:
WeCom has no deep link to tap, and people there paste the code they were given (:func:`bare_invite`).
Binding happens only in a private chat. A code typed in a group (``/start <code>``, or a live code on its
own) is no secret any more: it is revoked, the admins are told to issue a new one, and the sender is
pointed to the private chat (:func:`code_in_group`).
"""

from __future__ import annotations

from bot.domain.messages import Button, Incoming, Reply
from bot.services import held_notices
from bot.services.invites import looks_like_code, refusal_for, revoke_shown_code
from handlers.context import Context
from storage import audit, outbox, people


async def help_command(ctx: Context, _args: str) -> None:
    """List the commands the caller's roles allow (in a group chat: the few meant for a group)."""
    bound = ctx.person is not None
    if ctx.msg.in_group:
        if not bound:
            private_only(ctx)
            return
        commands = ctx.commands.available(ctx.roles, bound=True, in_group=True)
        ctx.reply("help_group", commands=commands, buttons=[[_private_button(ctx)]])
        return
    commands = ctx.commands.available(ctx.roles, bound=bound)
    ctx.reply("help", person=ctx.person, roles=sorted(ctx.roles), commands=commands)


def private_only(ctx: Context) -> None:
    """Answer a group chat "请私聊我", with a button opening the private chat."""
    ctx.reply("private_only", start=False, buttons=[[_private_button(ctx)]])


async def code_in_group(ctx: Context, code: str, *, bare: bool) -> None:
    """An invite code typed in a group chat (``/start <code>``, or ``bare``: the code alone), where everyone
    there can read it. A live code is revoked at once (nobody there can redeem it) and every active admin
    is told to issue a new one; the sender is told to get a new code and bind in a private chat. A bare
    text that is no live code is left alone, like any other chatter."""
    invite = await people.get_invite(ctx.session, code=code) if looks_like_code(code) else None
    person = await people.get_person(ctx.session, person_id=invite.person_id) if invite else None
    live = invite is not None and person is not None and refusal_for(invite, person, ctx.now) is None
    if live:
        assert invite is not None and person is not None
        await revoke_shown_code(ctx.session, invite=invite, person=person, now=ctx.now, actor=ctx.actor,
                                chat=ctx.msg.chat_id)
        admins = await people.active_admins(ctx.session)
        reply = Reply(html=ctx.deps.renderer.render("invite_shown_in_group", person=person, role=invite.role,
                                                    sender=ctx.msg.display_name))
        await outbox.enqueue_for_people(ctx.session, [
            outbox.PersonNotice(person_id=admin.id, reply=reply, key=f"invite-shown:{invite.id}:p{admin.id}")
            for admin in admins], now=ctx.now)
    elif bare:
        return
    ctx.reply("private_only", start=True, revoked=live, buttons=[[_private_button(ctx)]])


def _private_button(ctx: Context) -> Button:
    """A button opening the private chat with the bot (never carrying a code: a group sees the button)."""
    username = ctx.msg.bot_username or ctx.deps.settings.telegram_bot_username
    return Button(ctx.deps.renderer.render("private_button").strip(), "", url=f"https://t.me/{username}")


def redeems_code(msg: Incoming) -> bool:
    """Whether the message offers an invite code (which even a deactivated person's account may redeem
    for the person the code was made for)."""
    command = msg.command
    if command is not None:
        return command[0] == "start" and bool(command[1].strip())
    return bare_invite(msg) is not None


# What a code pasted from a message or a document comes wrapped in: quotes, brackets, punctuation, the word.
_AROUND = "「」『』“”\"'‘’《》()（）<>【】[]。，,.!！?？:：;； \t\n"


def code_of(text: str) -> str:
    """The code in a text as people paste it: 「AbC…」, “邀请码：AbC…。” are the code AbC…."""
    text = text.strip().strip(_AROUND)
    if text.startswith("邀请码"):
        text = text.removeprefix("邀请码").strip(_AROUND)
    return text


def code_and_rest(text: str) -> tuple[str, str]:
    """The invite code a text opens with, as people paste it, and the words written after it ("" if none):
    「邀请码：AbC… 多余」 is the code AbC… and 「多余」."""
    words = code_of(text).split(maxsplit=1)
    if not words:
        return "", ""
    return code_of(words[0]), words[1].strip() if len(words) > 1 else ""


def bare_invite(msg: Incoming) -> str | None:
    """The text of a message that opens with an invite code (quotes or punctuation around it, maybe more
    words after it, which binding then refuses), when it came from a private chat (never a group's:
    binding happens in private); else None."""
    if msg.in_group or msg.chat_id != msg.user_id or msg.photos or msg.document is not None \
            or msg.callback_data is not None:
        return None
    code, _rest = code_and_rest(msg.text)
    return msg.text if looks_like_code(code) else None


async def start(ctx: Context, args: str) -> None:
    """Redeem an invite code, or greet a bound user again. Words after the code are refused, named, and
    nothing is bound (as every command refuses words it cannot use)."""
    code, rest = code_and_rest(args)
    if rest:
        ctx.refuse_words(rest, command="start")
        return
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
    # What was held for them while they had no account goes out now (bot.services.held_notices).
    await held_notices.release(ctx.session, ctx.deps.renderer, person_id=person.id, account=account, now=ctx.now)
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
