"""What every `diaodu` subcommand shares: its errors, printing in the words of bot/templates/cli/, and opening
the configured store."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from bot.config import Settings

# The exit status of a configuration error (sysexits.h's EX_CONFIG): the settings must be fixed before the
# command can succeed, so a supervisor should not restart it (deploy/diaodu.service: RestartPreventExitStatus).
EXIT_CONFIG = 78


class CliError(Exception):
    """A user-facing error, worded by its reason in cli/refused.j2: printed in Chinese, exit code 1."""

    exit_code = 1

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.context = context

    @classmethod
    def said(cls, error: BaseException) -> CliError:
        """An error another part of the bot has put in words already (an admin's bad input, a bad setting)."""
        return cls("said", text=str(error))


class ConfigError(CliError):
    """The settings are wrong: printed in Chinese, exit code EXIT_CONFIG."""

    exit_code = EXIT_CONFIG


def say(template: str, *, file: TextIO | None = None, **context: Any) -> None:
    """Print a template of bot/templates/cli as plain text (to stdout unless ``file``)."""
    from bot.render import shared_renderer

    print(shared_renderer().plain(f"cli/{template}", **context), file=file or sys.stdout)


def refuse(error: CliError) -> int:
    """Print a CliError to stderr; its exit status."""
    say("refused", file=sys.stderr, reason=error.reason, config=isinstance(error, ConfigError),
        exit_config=EXIT_CONFIG, **error.context)
    return error.exit_code


async def open_core(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.app import Core, SchemaOutOfDate

    core = Core.build(settings)
    try:
        await core.check_schema()
    except SchemaOutOfDate as error:
        await core.db.dispose()
        raise CliError.said(error) from error
    return core


async def pick_person(core, name: str, phone: str | None):  # type: ignore[no-untyped-def]
    from storage import people

    async with core.db.session() as session:
        found = await people.find_people_by_name(session, name=name, phone=phone)
    if not found:
        raise CliError("no_person", name=name, phone=phone)
    if len(found) > 1:
        raise CliError("same_names", name=name, people=found)
    return found[0]
