"""Routes an Incoming to its handler: commands, button presses, guided-flow steps, photo captions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.domain.flow_expiry import FLOW_IDLE, flow_expired
from bot.domain.limits import PHOTO_FILE_MAX, photo_too_big
from bot.domain.messages import Incoming, Outcome, Reply
from bot.services.invites import looks_like_code
from handlers import (
    admin_import,
    admin_ops,
    admin_people,
    admin_projects,
    admin_settings,
    correct,
    digest,
    halfmonth,
    leave,
    lookup,
    meeting,
    nodes,
    paging,
    problems,
    reassign,
    report,
    report_albums,
    stage_events,
    start,
    web,
)
from handlers.commands import NO_WORDS, Command, CommandRegistry, Handler, Use
from handlers.context import Context, Deps
from storage import people, processed
from storage.db import wrote
from storage.people import Flow

ButtonHandler = Callable[[Context, str], Awaitable[None]]
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


def _for_unit(name: str, description: str, handler: Handler, usage: str) -> Command:
    """A command of the unit's handlers, which admins also use for a unit that has none (代办,
    bot.domain.scope)."""
    return Command(name, description, handler, roles=frozenset({"unit", "admin"}), usage=usage,
                   more=(Use(frozenset({"unit"}), description),
                         Use(frozenset({"admin"}), f"代办：{description}（单位没有经办人时）")))


def build_commands() -> CommandRegistry:
    """Every command, in help/menu order. Note: order matters, it is what users see."""
    registry = CommandRegistry()
    registry.add(Command("start", "绑定账号（发送邀请码）", start.start, public=True, usage="/start 邀请码"))
    registry.add(Command("help", "查看我能用的命令", start.help_command, public=True, in_group=True,
                         words=NO_WORDS))
    registry.add(Command("report", "填报项目进度", report.report_command, roles=frozenset({"liaison"}),
                         usage="/report 项目编号 金额 形象进度", light=True))
    registry.add(Command("undo", "撤回今天最后一次填报", report.undo_command, roles=frozenset({"liaison"}),
                         words=NO_WORDS))
    registry.add(Command("correct", "更正近几个工作日的填报（须写理由）", correct.correct_command,
                         roles=frozenset({"liaison", "admin"}), usage="/correct 项目编号 日期 金额 [形象进度] 理由：…",
                         more=(Use(frozenset({"admin"}), "更正任一项目的填报（须写理由）",
                                   "/correct 项目编号或名称 或 /correct 项目编号 日期 金额 理由：…"),)))
    registry.add(Command("mine", "我的项目及今日填报情况", lookup.mine_command, words=NO_WORDS))
    leave.register(registry)  # /leave
    registry.add(Command("project", "查看项目详情", lookup.project_command, usage="/project 项目编号"))
    registry.add(Command("issue", "查看问题详情", problems.issue_command, usage="/issue 问题编号",
                         more=(Use(frozenset({"liaison"}), "反映问题 / 查看问题详情",
                                   "/issue 项目编号 类别 问题描述 或 /issue 问题编号"),)))
    registry.add(Command("issues", "我的问题清单", problems.issues_command, usage="/issues 或 /issues 全部",
                         words=problems.ALL_WORDS))
    registry.add(_for_unit("accept", "受理问题", problems.command_for("accept"), "/accept 问题编号"))
    registry.add(_for_unit("answer", "答复问题（可写承诺日期）", problems.command_for("answer"),
                           "/answer 问题编号 [2026-12-10] 办理方案"))
    registry.add(_for_unit("reassign", "申请改派", problems.command_for("reassign"), "/reassign 问题编号 理由"))
    registry.add(_for_unit("resolved", "报告问题已解决", problems.command_for("resolve"),
                           "/resolved 问题编号 办理结果"))
    registry.add(Command("confirm", "确认销号", problems.command_for("confirm"),
                         roles=frozenset({"liaison", "admin"}), usage="/confirm 问题编号"))
    registry.add(Command("reopen", "问题未解决，退回重办", problems.command_for("reopen"),
                         roles=frozenset({"liaison", "admin"}), usage="/reopen 问题编号 理由",  # only the raiser
                         more=(Use(frozenset({"liaison"}), "问题未解决，退回重办"),
                               Use(frozenset({"admin"}), "您交办的议定事项未解决，退回重办"))))
    registry.add(Command("comment", "批示", problems.command_for("comment"),
                         roles=frozenset({"lead", "top", "admin"}), usage="/comment 问题编号 批示内容"))
    registry.add(Command("rank", "查看当前排名和近四周填报率", digest.rank_command, in_group=True,  # public in a group
                         usage="/rank 或 /rank 填报", words=digest.PARTICIPATION_WORDS))
    registry.add(Command("export", "导出项目台账（Excel）", digest.export_command, roles=frozenset({"admin"}),
                         words=NO_WORDS))
    registry.add(Command("web", "打开驾驶舱网页（一次性登录链接）", web.web_command, words=NO_WORDS))
    admin_people.register(registry)  # /invite /people /person /deactivate /handover
    admin_projects.register(registry)  # /project_set /approval /assign
    admin_import.register(registry)  # /import
    admin_settings.register(registry)  # /sla /calendar /schedule
    admin_ops.register(registry)  # /groups /broadcast /audit /outbox
    meeting.register(registry)  # /meeting /decide
    halfmonth.register(registry)  # /halfmonth
    stage_events.register(registry)  # /started /finished
    nodes.register(registry)  # /node
    # the words after /cancel are a remark (「/cancel 不填了」): it cancels all the same
    registry.add(Command("cancel", "取消正在进行的操作", cancel_command))
    return registry


BUTTONS: dict[str, ButtonHandler] = {
    report.PREFIX: report.report_button,
    correct.PREFIX: correct.correct_button,
    "pj": lookup.project_button,
    problems.ISSUE_PREFIX: problems.issue_button,
    problems.ACTION_PREFIX: problems.action_button,
    **reassign.BUTTONS,
    **admin_people.BUTTONS,
    **admin_projects.BUTTONS,
    **admin_import.BUTTONS,
    **admin_ops.BUTTONS,
    paging.PREFIX: paging.page_button,
    leave.PREFIX: leave.leave_button,
    halfmonth.PREFIX: halfmonth.halfmonth_button,
    stage_events.PREFIX: stage_events.stage_event_button,
    **nodes.BUTTONS,
    web.PREFIX: web.web_pressed,
}
# Button prefixes that may be pressed in a group chat, on a message the bot sent there. None yet: bulletins
# carry no buttons, and every other button acts for, or shows something to, one person.
GROUP_BUTTONS: frozenset[str] = frozenset()
FLOWS = {report.FLOW: report.report_step, correct.FLOW: correct.correct_step,
         problems.ISSUE_FLOW: problems.issue_step, problems.TEXT_FLOW: problems.text_step, **reassign.FLOWS,
         halfmonth.FLOW: halfmonth.halfmonth_step, **admin_import.FLOWS, **nodes.FLOWS}
# The flows that keep the photos sent at any of their steps (a report's, a node's evidence, a problem's): an
# album sent during one goes to it. During any other flow an album waits for its caption as outside a flow.
PHOTO_FLOWS = frozenset({report.FLOW, nodes.FLOW, problems.ISSUE_FLOW})


async def cancel_command(ctx: Context, _args: str) -> None:
    """Leave any guided flow."""
    cleared = await ctx.clear_flow()
    ctx.reply("cancelled" if cleared else "nothing_to_cancel")


class Router:
    """The channel-agnostic entry point: one Incoming in, one Outcome out, one transaction."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.commands = build_commands()

    async def handle(self, msg: Incoming) -> Outcome:
        """Handle one message in one unit of work. A message whose key was handled before gets nothing (its
        first delivery was answered); one that fails (a lock not free in time, any error) changes nothing
        and is answered that it was not saved."""
        try:
            return await self._handle(msg)
        except _AlreadyHandled:
            log.info("message %s:%s was handled before; not again", msg.channel, msg.key)
            return Outcome()
        except Exception:
            log.exception("could not handle a message: %s", describe(msg))
            return Outcome(replies=[Reply(html=self.deps.renderer.render("message_failed"))])

    async def _handle(self, msg: Incoming) -> Outcome:
        async with self.deps.db.session() as session:
            caller = await people.get_caller(session, channel=msg.channel, external_id=msg.user_id,
                                             chat_id=msg.chat_id, message_key=msg.key)
            if caller.handled:
                raise _AlreadyHandled
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
            await self._dispatch(ctx, caller.flow)
            await session.flush()  # what the ORM holds unwritten counts as written (nothing to do if none)
            if msg.key is not None and wrote(session) and not await processed.mark_handled(
                    session, channel=msg.channel, key=msg.key, now=ctx.now):
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
            await self._expire_flow(ctx)
            conversation = None
        if msg.callback_data is not None:
            if ctx.bound:
                await report_albums.forget_answers(ctx)  # an album's answer not sent yet is out of date now
            await self._button(ctx, msg.callback_data)
            return
        if ctx.bound and msg.album and msg.photos:
            photo_flow = conversation is not None and conversation.flow in PHOTO_FLOWS
            if await report_albums.take_part(ctx, in_flow=photo_flow,
                                             busy=conversation is not None and not photo_flow):
                return
            msg = ctx.msg  # the captioned part of an album carries the photos held for it
        command = msg.command
        if command is not None:
            await self._command(ctx, *command, in_flow=conversation is not None)
            return
        if not ctx.bound:
            bare = start.bare_invite(msg)
            if bare is not None:
                await start.start(ctx, bare)
            else:
                ctx.reply("unbound")
            return
        if msg.unsupported and not (msg.text or msg.photos or msg.document):
            # A voice message, a location…: said so, and a guided flow keeps waiting for its answer.
            ctx.reply("unsupported_message", kind=msg.unsupported, in_flow=conversation is not None)
            return
        if conversation is not None and conversation.flow in FLOWS:
            await FLOWS[conversation.flow](ctx, dict(conversation.state))
            if msg.album and msg.photos:
                await report_albums.answer_once(ctx)  # an album is answered once, not once per photo
            return
        # A liaison's line that opens with a project code is a report, typed ("ZD2026-001 850 桩基", as
        # /report without the command) or as a photo's caption.
        if msg.text and "liaison" in ctx.roles and await report.report_caption(ctx, msg.text):
            return
        big = msg.document is not None and photo_too_big(msg.document.name, msg.document.size)
        ctx.reply("not_understood", has_photo=bool(msg.photos), big_photo=big, max_mb=PHOTO_FILE_MAX // 2**20)

    async def _expire_flow(self, ctx: Context) -> None:
        """End the caller's idle flow (bot.domain.flow_expiry); tell them unless they start something anew."""
        await ctx.clear_flow()
        if ctx.msg.command is None:
            ctx.reply("flow_expired", hours=int(FLOW_IDLE.total_seconds() // 3600))

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
