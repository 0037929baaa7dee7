"""What every `diaodu` subcommand shares: its errors (printed in Chinese) and opening the configured store."""

from __future__ import annotations

from bot.config import Settings

# The exit status of a configuration error (sysexits.h's EX_CONFIG): the settings must be fixed before the
# command can succeed, so a supervisor should not restart it (deploy/diaodu.service: RestartPreventExitStatus).
EXIT_CONFIG = 78


class CliError(Exception):
    """A user-facing error: printed in Chinese, exit code 1."""

    exit_code = 1


class ConfigError(CliError):
    """The settings are wrong: printed in Chinese, exit code EXIT_CONFIG."""

    exit_code = EXIT_CONFIG


async def open_core(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.app import Core, SchemaOutOfDate

    core = Core.build(settings)
    try:
        await core.check_schema()
    except SchemaOutOfDate as error:
        await core.db.dispose()
        raise CliError(str(error)) from error
    return core


async def pick_person(core, name: str, phone: str | None):  # type: ignore[no-untyped-def]
    from storage import people

    async with core.db.session() as session:
        found = await people.find_people_by_name(session, name=name, phone=phone)
    if not found:
        raise CliError(f"人员名单中没有「{name}」{f'（手机 {phone}）' if phone else ''}。请先导入人员名单。")
    if len(found) > 1:
        lines = "\n".join(
            f"  {p.name}  手机 {p.phone or '—'}  {(p.unit.name if p.unit else p.title) or ''}" for p in found
        )
        raise CliError(f"人员名单中有 {len(found)} 位「{name}」，请用 --phone 指定：\n{lines}")
    return found[0]
