"""What each command, button prefix and guided flow goes to: the commands in help/menu order, the button
prefixes and the flows' steps, which ``handlers.router`` dispatches to."""

from __future__ import annotations

from bot.render import shared_renderer
from handlers import (
    admin_import,
    admin_ops,
    admin_people,
    admin_projects,
    admin_settings,
    backfill,
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
    stage_events,
    start,
    web,
)
from handlers.commands import NO_WORDS, Command, CommandRegistry, Handler, Use, command_words
from handlers.context import Context
from handlers.flow_buttons import ButtonHandler


def _for_unit(name: str, handler: Handler) -> Command:
    """A command of the unit's handlers, which admins also use for a unit that has none (代办,
    bot.domain.scope)."""
    description = command_words(name)
    proxy = shared_renderer().phrase("commands", "proxy", description)
    return Command.worded(name, handler, roles=frozenset({"unit", "admin"}),
                          more=(Use(frozenset({"unit"}), description), Use(frozenset({"admin"}), proxy)))


def build_commands() -> CommandRegistry:
    """Every command, in help/menu order. Note: order matters, it is what users see."""
    registry = CommandRegistry()
    registry.add(Command.worded("start", start.start, public=True))
    registry.add(Command.worded("help", start.help_command, public=True, in_group=True,
                                words=NO_WORDS))
    registry.add(Command.worded("report", report.report_command, roles=frozenset({"liaison"}), light=True))
    registry.add(Command.worded("undo", report.undo_command, roles=frozenset({"liaison"}),
                                words=NO_WORDS))
    registry.add(Command.worded("correct", correct.correct_command,
                                roles=frozenset({"liaison", "admin"}),
                                more=(Use(frozenset({"admin"}), command_words("correct.admin"),
                                          command_words("correct.admin.usage")),)))
    registry.add(Command.worded("mine", lookup.mine_command, words=NO_WORDS))
    leave.register(registry)  # /leave
    registry.add(Command.worded("project", lookup.project_command))
    registry.add(Command.worded("issue", problems.issue_command,
                                more=(Use(frozenset({"liaison"}), command_words("issue.liaison"),
                                          command_words("issue.liaison.usage")),)))
    registry.add(Command.worded("issues", problems.issues_command, words=problems.ISSUES_WORDS))
    registry.add(_for_unit("accept", problems.command_for("accept")))
    registry.add(_for_unit("answer", problems.command_for("answer")))
    registry.add(_for_unit("reassign", problems.command_for("reassign")))
    registry.add(_for_unit("resolved", problems.command_for("resolve")))
    registry.add(Command.worded("confirm", problems.command_for("confirm"),
                                roles=frozenset({"liaison", "admin"})))
    registry.add(Command.worded("reopen", problems.command_for("reopen"),
                                roles=frozenset({"liaison", "admin"}),  # only the raiser
                                more=(Use(frozenset({"liaison"}), command_words("reopen.liaison")),
                                      Use(frozenset({"admin"}), command_words("reopen.admin")))))
    registry.add(Command.worded("comment", problems.command_for("comment"),
                                roles=frozenset({"lead", "top", "admin"})))
    registry.add(Command.worded("rank", digest.rank_command, in_group=True,  # public in a group
                                words=digest.PARTICIPATION_WORDS))
    registry.add(Command.worded("export", digest.export_command, roles=frozenset({"admin"}),
                                words=NO_WORDS))
    registry.add(Command.worded("web", web.web_command, words=NO_WORDS))
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
    registry.add(Command.worded("cancel", cancel_command))
    return registry


BUTTONS: dict[str, ButtonHandler] = {
    report.PREFIX: report.report_button,
    correct.PREFIX: correct.correct_button,
    backfill.PREFIX: backfill.backfill_button,
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
# What follows a flow's prefix on its 取消 button (`rp:cancel`, `iss:x`…): pressed after the flow expired, the
# flow's end is the one answer (handlers.router)
CANCEL_ACTIONS = frozenset({"cancel", "x"})


def is_cancel(data: str) -> bool:
    """Whether the button pressed is a flow's 取消."""
    return data.partition(":")[2] in CANCEL_ACTIONS


# Button prefixes that may be pressed in a group chat, on a message the bot sent there. None yet: bulletins
# carry no buttons, and every other button acts for, or shows something to, one person.
GROUP_BUTTONS: frozenset[str] = frozenset()
FLOWS = {report.FLOW: report.report_step, correct.FLOW: correct.correct_step, backfill.FLOW: backfill.backfill_step,
         problems.ISSUE_FLOW: problems.issue_step, problems.TEXT_FLOW: problems.text_step, **reassign.FLOWS,
         halfmonth.FLOW: halfmonth.halfmonth_step, **admin_import.FLOWS, **nodes.FLOWS}
# The flows that keep the photos sent at any of their steps (a report's, a node's evidence, a problem's): an
# album sent during one goes to it. During any other flow an album waits for its caption as outside a flow.
PHOTO_FLOWS = frozenset({report.FLOW, nodes.FLOW, problems.ISSUE_FLOW})


async def cancel_command(ctx: Context, _args: str) -> None:
    """Leave any guided flow."""
    cleared = await ctx.clear_flow()
    ctx.reply("cancelled" if cleared else "nothing_to_cancel")
