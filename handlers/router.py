"""Routes an Incoming to its handler: commands, button presses, guided-flow steps, photo captions (which
handler each goes to: ``handlers.routes``), in one unit of work per message."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from pathlib import Path

from bot.clock import to_local
from bot.domain.albums import WITHOUT_CAPTIONS, in_a_run
from bot.domain.chat_ids import chat_of
from bot.domain.flow_expiry import FLOW_IDLE, flow_expired
from bot.domain.limits import PHOTO_FILE_MAX, is_image_name, photo_too_big
from bot.domain.messages import Incoming, Outcome, Reply
from bot.services.invites import looks_like_code
from handlers import (
    admin_import,
    answered_again,
    paging,
    report,
    report_albums,
    start,
)
from handlers.act_words import answer_act_words
from handlers.context import Afresh, Context, Deps
from handlers.people_lookup import is_admin
from handlers.routes import BUTTONS, FLOWS, GROUP_BUTTONS, PHOTO_FLOWS, build_commands, is_cancel
from storage import people, processed
from storage.db import wrote
from storage.people import Flow

log = logging.getLogger(__name__)
LOGGED_TEXT_MAX = 300  # characters of a message's text that a log line repeats


class _AlreadyHandled(Exception):
    """The message's key is stored: a delivery of it was handled (and answered) already."""


def describe(msg: Incoming) -> str:
    """A message for the log: channel, key, sender, chat and what was sent."""
    what = msg.callback_data if msg.callback_data is not None else msg.text
    if len(what) > LOGGED_TEXT_MAX:
        what = f"{what[:LOGGED_TEXT_MAX]}… ({len(what)} characters)"
    return (f"channel={msg.channel} key={msg.key} user={msg.user_id} chat={msg.chat_id} "
            f"photos={len(msg.photos)} text={what!r}")


def _stray_file(msg: Incoming) -> bool:
    """Whether the message brings a file that is no picture (a PDF, a Word file, a spreadsheet…): only /import
    takes one (a picture sent as a file comes as a photo; one too big to keep is refused as such)."""
    if msg.photos:
        return False
    if msg.document is not None:
        return not is_image_name(msg.document.name)
    return msg.unsupported == "file"  # a channel that does not pass files on (WeCom's file messages)


def _media_not_kept(ctx: Context) -> None:
    """A video, voice note… sent with a caption whose words were handled: say it was not kept (a site video
    with a report line would otherwise seem to go with the report)."""
    if ctx.msg.unsupported and ctx.msg.unsupported != "file" and ctx.msg.text.strip():
        ctx.reply("media_not_kept", kind=ctx.msg.unsupported)


def _file_not_kept(ctx: Context, *, in_flow: bool, command: bool = False) -> None:
    """Say that the file sent was not kept, and what the bot takes instead (`command`: its caption was a command,
    run all the same)."""
    document = ctx.msg.document
    name = document.name if document is not None else ""
    ctx.reply("file_not_kept", name=name, ledger=Path(name).suffix.lower() in admin_import.EXTENSIONS,
              admin=is_admin(ctx), importable=document is not None, in_flow=in_flow, text=bool(ctx.msg.text),
              command=command)


class Router:
    """The channel-agnostic entry point: one Incoming in, one Outcome out, one transaction."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.commands = build_commands()
        self.process = uuid.uuid4().hex[:16]  # names this process to the messages it keeps replies of

    async def handle(self, msg: Incoming) -> Outcome:
        """Handle one message in one unit of work. A message whose key was handled before is not handled again,
        only answered with the replies its first delivery may not have sent (handlers.answered_again); one that
        fails (a lock not free in time, any error) changes nothing and is answered that it was not saved."""
        try:
            return await self._handle(msg)
        except _AlreadyHandled:
            log.info("message %s:%s was handled before; not again", msg.channel, msg.key)
            return Outcome()
        except Exception:
            log.exception("could not handle a message: %s", describe(msg))
            return Outcome(replies=[Reply(html=self.deps.renderer.render("message_failed"))])

    async def _handle(self, msg: Incoming) -> Outcome:
        try:
            return await self._unit(msg)
        except Afresh as again:  # its unit of work rolled back (its locks let go): the rest in one of its own
            return await self._unit(msg, again)

    async def _unit(self, msg: Incoming, again: Afresh | None = None) -> Outcome:
        """`msg` handled in one unit of work; with `again`, the rest of a handler that gave its first one back."""
        async with self.deps.db.session() as session:
            caller = await people.get_caller(session, channel=msg.channel, external_id=msg.user_id,
                                             chat_id=msg.chat_id, message_key=msg.key)
            if caller.handled:
                return await answered_again.answer_again(session, msg, by=self.process)
            if caller.account_id is not None and caller.external_id not in (None, msg.user_id):
                await people.respell(session, account_id=caller.account_id, external_id=msg.user_id)
            if caller.blocked and caller.account_id is not None and not msg.in_group and await people.unblock(
                    session, account_id=caller.account_id, chat_id=msg.chat_id):
                log.info("%s:%s wrote again: no longer marked as blocking the bot", msg.channel, msg.chat_id)
                caller = replace(caller, blocked=False)
            person = None
            if caller.bound and caller.person_id is not None and not self._light(msg):
                person = await people.get_person_with_roles(session, person_id=caller.person_id)
            ctx = Context(msg=msg, deps=self.deps, session=session, caller=caller, person=person,
                          commands=self.commands)
            if again is None:
                await self._dispatch(ctx, caller.flow)
            else:
                ctx.outcome = again.outcome
                await again.then(ctx)
            await paging.keep_long_arguments(ctx)  # page buttons of a long search carry a short key
            await session.flush()  # what the ORM holds unwritten counts as written (nothing to do if none)
            if msg.key is not None and wrote(session) and not await processed.mark_handled(
                    session, channel=msg.channel, key=msg.key, now=ctx.now, replies=ctx.outcome.replies,
                    by=self.process):
                raise _AlreadyHandled  # another delivery of it committed meanwhile: roll this one back
        return ctx.outcome

    def _light(self, msg: Incoming) -> bool:
        """Whether the message goes to a light command (which needs no stored Person)."""
        if msg.callback_data is not None or msg.command is None:
            return False
        command = self.commands.get(msg.command[0])
        return command is not None and command.light

    async def _dispatch(self, ctx: Context, conversation: Flow | None) -> None:
        """`conversation` is the caller's flow state in this chat as loaded with the caller (only ever
        needed when they are bound)."""
        msg = ctx.msg
        if msg.for_another_bot:
            return
        if msg.in_group:
            await self._in_group(ctx)
            return
        if msg.photos and (not ctx.bound or ctx.caller.deactivated) and await report_albums.answered_before(ctx):
            return  # told who they are once per album (or run of photos)
        if ctx.caller.deactivated and not start.redeems_code(msg):
            ctx.reply("deactivated")
            return
        if conversation is not None and flow_expired(conversation.updated_at, ctx.now):
            await self._expire_flow(ctx, conversation)
            conversation = None
        if msg.callback_data is not None:
            if ctx.bound:
                await report_albums.forget_answers(ctx)  # an album's answer not sent yet is out of date now
            answered = len(ctx.outcome.replies)
            await self._button(ctx, msg.callback_data)
            if ctx.expired_flow is not None and is_cancel(msg.callback_data):
                # 取消 of a flow that ended already: its end (已自动取消) is the one answer, not also 已取消
                del ctx.outcome.replies[answered:]
                ctx.outcome.replies.append(Reply(html=self.deps.renderer.render(
                    "flow_expired", **ctx.expired_flow, pressed=False)))
            elif ctx.expired_flow is not None:  # the button did something else: the flow's end said first
                ctx.outcome.replies.insert(0, Reply(html=self.deps.renderer.render(
                    "flow_expired", **ctx.expired_flow, pressed=False)))
            return
        if ctx.bound and msg.album and msg.photos:
            photo_flow = conversation is not None and conversation.flow in PHOTO_FLOWS
            if await report_albums.take_part(ctx, in_flow=photo_flow,
                                             busy=conversation is not None and not photo_flow):
                return
            msg = ctx.msg  # the captioned part of an album carries the photos held for it
        command = msg.command
        if command is not None:
            if command[0] != admin_import.COMMAND and _stray_file(msg):  # /import takes the file; no other does
                _file_not_kept(ctx, in_flow=False, command=True)
            await self._command(ctx, *command, in_flow=conversation is not None)
            _media_not_kept(ctx)
            return
        if not ctx.bound:
            bare = start.bare_invite(msg)
            if bare is not None:
                await start.start(ctx, bare)
            else:
                ctx.reply("unbound")
            return
        stray = _stray_file(msg)
        if msg.unsupported and not (msg.text or msg.photos or msg.document):
            # A voice message, a location…: said so, and a guided flow keeps waiting for its answer.
            if stray:
                _file_not_kept(ctx, in_flow=conversation is not None)
            else:
                ctx.reply("unsupported_message", kind=msg.unsupported, in_flow=conversation is not None)
            return
        if conversation is not None and conversation.flow in FLOWS:
            if not msg.photos:  # the flow moves on: an answer to photos not sent yet would come after, out of date
                await report_albums.forget_answers(ctx)
            await FLOWS[conversation.flow](ctx, dict(conversation.state))
            if msg.photos and conversation.flow not in PHOTO_FLOWS:  # its words went to the flow, not its photos
                ctx.reply("photos_not_kept", album=bool(msg.album), count=len(msg.photos),
                          captioned=bool(msg.text.strip()))
            elif stray and conversation.flow not in admin_import.FLOWS:
                _file_not_kept(ctx, in_flow=True)
            _media_not_kept(ctx)
            if msg.album and msg.photos:
                await report_albums.answer_once(ctx)  # an album is answered once, not once per photo
            elif conversation.flow in PHOTO_FLOWS and in_a_run(msg.channel, album=msg.album, photos=len(msg.photos),
                                                               text=msg.text):
                await report_albums.answer_once(ctx, run=True)  # and so is a run of WeCom images
            return
        # A liaison's line that opens with a project code is a report, typed ("ZD2026-001 850 桩基", as
        # /report without the command) or as a photo's caption.
        reported = bool(msg.text) and "liaison" in ctx.roles and (
            await report.report_caption(ctx, msg.text)
            or (not stray and await report.report_without_code(ctx, msg.text)))
        if stray:  # a file sent with a report line: the report is stored, the file is not
            _file_not_kept(ctx, in_flow=False)
        if reported:
            _media_not_kept(ctx)  # a video captioned with a report line: the report is stored, the video is not
        if reported or stray:
            return
        if msg.unsupported:  # a video with words that are no report: said what the bot cannot read
            ctx.reply("unsupported_message", kind=msg.unsupported, in_flow=False)
            return
        if msg.text and not msg.photos and answer_act_words(ctx, msg.text):  # 「确认销号」 typed, not pressed
            return
        big = msg.document is not None and photo_too_big(msg.document.name, msg.document.size)
        ctx.reply("not_understood", has_photo=bool(msg.photos), big_photo=big, max_mb=PHOTO_FILE_MAX // 2**20,
                  captions=msg.channel not in WITHOUT_CAPTIONS)

    async def _expire_flow(self, ctx: Context, conversation: Flow) -> None:
        """End the caller's idle flow (bot.domain.flow_expiry); tell them unless they start something anew. A
        button pressed is answered once: its 「按钮已失效」 becomes the flow's end (`Context.reply`). A report
        begun on a day now past is not today's: the 项目办 can enter that day's (补报, handlers.backfill)."""
        await ctx.clear_flow()
        begun = to_local(conversation.updated_at).date() if conversation.updated_at is not None else ctx.today
        notice = {"hours": int(FLOW_IDLE.total_seconds() // 3600),
                  "missed_day": begun if conversation.flow == report.FLOW and begun < ctx.today else None}
        if ctx.msg.callback_data is not None:
            ctx.expired_flow = notice
        elif ctx.msg.command is None:
            ctx.reply("flow_expired", **notice, pressed=False)

    async def _in_group(self, ctx: Context) -> None:
        """A group chat: only commands meant for a group act (`Command.in_group`, buttons in
        `GROUP_BUTTONS`); any other command or button is answered with a pointer to the private chat, and
        what members say to each other (text that is no command of ours) is left alone."""
        msg = ctx.msg
        if msg.callback_data is not None:
            if msg.callback_data.partition(":")[0] in GROUP_BUTTONS:
                await self._button(ctx, msg.callback_data)
            else:
                start.private_only(ctx)
            return
        command = self.commands.get(msg.command[0]) if msg.command is not None else None
        if command is None or msg.command is None:
            code, _rest = start.code_and_rest(msg.text)
            if msg.command is None and looks_like_code(code):
                await start.code_in_group(ctx, code, bare=True)
            return
        if command.name == "start" and msg.command[1].split():
            await start.code_in_group(ctx, start.code_and_rest(msg.command[1])[0], bare=False)
        elif msg.anonymous:  # an anonymous admin: not known, so neither served nor sent to a private chat
            ctx.reply("group_anonymous", chat_id=chat_of(msg.chat_id))
        elif not command.in_group:
            start.private_only(ctx)
        elif ctx.caller.deactivated:
            ctx.reply("deactivated")
        elif not ctx.bound and not command.public:
            start.private_only(ctx)
        elif not command.allowed(ctx.roles, bound=ctx.bound):
            ctx.reply("not_allowed", command=command)
        elif unread := command.unread_words(msg.command[1]):
            ctx.refuse_words(unread)
        else:
            await command.handler(ctx, msg.command[1])

    async def _command(self, ctx: Context, name: str, args: str, *, in_flow: bool) -> None:
        command = self.commands.get(name)
        if command is None:
            ctx.reply("unknown_command", name=name, bound=ctx.bound)
            return
        if not command.allowed(ctx.roles, bound=ctx.bound):
            ctx.reply("not_allowed" if ctx.bound else "unbound", command=command)
            return
        if unread := command.unread_words(args):  # "/mine 多余": said so, and any guided flow goes on
            ctx.refuse_words(unread)
            return
        # A command leaves any guided flow (/cancel does so itself, and says so); no DELETE when the caller
        # had none in this chat.
        if name != "cancel" and not command.public and in_flow and await ctx.clear_flow():
            ctx.reply("flow_abandoned")
        await command.handler(ctx, args)

    async def _button(self, ctx: Context, data: str) -> None:
        if not ctx.bound:
            ctx.reply("unbound")
            return
        prefix, _, rest = data.partition(":")
        handler = BUTTONS.get(prefix)
        if handler is None:
            ctx.reply("button_expired")
            return
        await handler(ctx, rest)
