"""A problem's button typed as words outside any flow: the raiser's notice says 请点「确认销号」, and a member whose
notice has scrolled away types 「确认销号」. Such words are answered with the command that does what the button
does (for the roles that have it), rather than with 没有看懂."""

from __future__ import annotations

from bot.domain.messages import Button
from bot.domain.typed_choice import typed_choice
from bot.render import label
from handlers.commands import Command
from handlers.context import Context

# A problem button's words (its macro in buttons.j2) → the command doing the same.
ACT_COMMANDS = {"accept": "accept", "answer": "answer", "reassign": "reassign", "resolved": "resolved",
                "close": "confirm", "reopen": "reopen", "comment": "comment"}


def act_command(ctx: Context, text: str) -> Command | None:
    """The command of the problem button whose words `text` is, as /help shows it to the caller; None for other
    words, or a button whose command the caller's roles do not have."""
    name = typed_choice(text, [[Button(label(button), command)] for button, command in ACT_COMMANDS.items()])
    command = ctx.commands.get(name) if name is not None else None
    if command is None or not command.allowed(ctx.roles, bound=True):
        return None
    return command.described_for(ctx.roles)


def answer_act_words(ctx: Context, text: str) -> bool:
    """Whether `text` was a problem button's words (then answered with its command)."""
    command = act_command(ctx, text)
    if command is None:
        return False
    ctx.reply("act_words_typed", words=text.strip(), name=command.name, usage=command.usage)
    return True
