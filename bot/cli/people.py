"""`diaodu invite`, `console`, `people bind` and `wecom menu`: people and their chat accounts."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta

from bot.cli.common import CliError, open_core, pick_person, say
from bot.config import Settings


async def invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.invites import create_invite, link_username
    from storage.audit import Actor

    core = await open_core(settings)
    try:
        person = await pick_person(core, args.person, args.phone)
        if not person.active:  # as the chat's /invite: the code could not be redeemed
            raise CliError("deactivated", name=person.name)
        async with core.db.session() as session:
            invite = await create_invite(
                session, person=person, role=args.role, now=core.clock.now(),
                ttl=timedelta(hours=settings.invite_ttl_hours), actor=Actor(label="cli", channel="cli"),
                bot_username=link_username(settings),
            )
    finally:
        await core.db.dispose()
    if args.json:
        print(json.dumps({"code": invite.code, "link": invite.link, "expires_at": invite.expires_at.isoformat()},
                         ensure_ascii=False))
    else:
        say("invite", invite=invite)
    return 0


async def console(settings: Settings, name: str, phone: str | None) -> int:
    from bot.channels.console import bind_console, chat

    core = await open_core(settings)
    try:
        person = await pick_person(core, name, phone)
        external_id = await bind_console(core.db, person, now=core.clock.now())

        async def read_line(prompt: str) -> str | None:
            try:
                return await asyncio.to_thread(input, prompt)
            except EOFError:
                return None

        await chat(core.router, external_id, person.name, read_line, print)
    finally:
        await core.db.dispose()
    return 0


async def wecom_admin(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.wecom.binding import cli_bind_wecom
    from bot.channels.wecom.wiring import cli_wecom_menu
    from bot.services.admin_ops import AdminInputError

    core = await open_core(settings)
    try:
        if args.command == "people":
            return await cli_bind_wecom(core, args)
        return await cli_wecom_menu(core, args)
    except AdminInputError as error:
        raise CliError.said(error) from error
    finally:
        await core.db.dispose()
