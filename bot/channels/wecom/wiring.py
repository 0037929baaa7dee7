"""Wiring the WeCom app: from the WECOM_* settings to the API client, the callback channel's routes and
the outbox transports; the app menu and the command that publishes it."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.channels.base import DeliveryError, Transport
from bot.channels.wecom import CHANNEL
from bot.channels.wecom.api import DEFAULT_API_BASE, WeComApi
from bot.channels.wecom.inbox import FOLDER
from bot.channels.wecom.robot import WeComRobotTransport
from bot.channels.wecom.transport import WeComTransport

if TYPE_CHECKING:
    from bot.channels.wecom.callback import WeComChannel
    from bot.config import Settings
    from bot.services.shared_memory import SharedMemory

CALLBACK_PATH = "/wecom/callback"
WECOM_INBOX = FOLDER  # the folder of DATA_DIR holding the journals of answered messages


def wecom_configured(settings: Settings) -> bool:
    """Whether the self-built app is configured: corp id, agent id, secret, token and AES key."""
    return bool(settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret
                and settings.wecom_token and settings.wecom_aes_key)


def make_api(settings: Settings) -> WeComApi:
    """The API client of the configured app."""
    if not (settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret):
        raise ValueError("set WECOM_CORP_ID, WECOM_AGENT_ID and WECOM_SECRET")
    return WeComApi(corp_id=settings.wecom_corp_id, secret=settings.wecom_secret.get_secret_value(),
                    agent_id=settings.wecom_agent_id, base_url=settings.wecom_api_base or DEFAULT_API_BASE)


def add_wecom_routes(app: web.Application, channel: WeComChannel, *, path: str = CALLBACK_PATH) -> None:
    """Serve the callback (GET verification, POST messages) on ``app``; on start-up (before it listens), queue
    the messages answered before a restart and not handled; on shutdown, let queued messages finish and close
    the channel's API session."""
    app.router.add_get(path, channel.on_get)
    app.router.add_post(path, channel.on_post)

    async def _resume(_app: web.Application) -> None:
        await channel.resume()

    app.on_startup.append(_resume)

    async def _close(_app: web.Application) -> None:
        await channel.close()

    app.on_shutdown.append(_close)


@asynccontextmanager
async def wecom_outbox_transports(settings: Settings, *, channel: WeComChannel | None = None,
                                  memory: SharedMemory | None = None) -> AsyncIterator[dict[str, Transport]]:
    """The outbox transports of the configured WeCom app ("wecom") and group robots ("wecom_robot");
    empty when neither is configured. Sessions made here are closed on exit (a given channel's are not).
    With ``memory`` (the database's), button memories and the robots' rate window are shared by every
    process."""
    transports: dict[str, Transport] = {}
    own: list[Any] = []
    if channel is not None:
        transports[CHANNEL] = channel.transport
    elif settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret:
        transport = WeComTransport(make_api(settings), files_root=getattr(settings, "data_dir", None),
                                   memory=memory)
        transports[CHANNEL] = transport
        own.append(transport)
    if memory is None and channel is not None:
        memory = channel.memory
    robots = WeComRobotTransport.from_settings(settings, memory=memory)
    if robots is not None:
        transports[robots.channel] = robots
        own.append(robots)
    try:
        yield transports
    finally:
        for transport in own:
            await transport.close()


# ---------------------------------------------------------------- the app menu

def app_menu() -> dict[str, Any]:
    """The app's menu for ``menu/create``: each button a command, named in its template (wecom_menu.j2).
    WeCom allows 3 top-level buttons (16 bytes a name) with up to 5 sub-buttons (40 bytes) each."""
    from bot.render import shared_renderer

    names = shared_renderer().words("wecom_menu", "names")

    def click(command: str) -> dict[str, str]:
        return {"type": "click", "name": names[command], "key": command}

    return {"button": [
        click("/report"),
        {"name": names["problems"], "sub_button": [click("/issues"), click("/issue")]},
        {"name": names["mine"], "sub_button": [click("/mine"), click("/rank"), click("/help")]},
    ]}


async def publish_menu(api: WeComApi, menu: Mapping[str, Any] | None = None) -> None:
    """Publish the app's menu (``menu/create``; ``app_menu`` unless given); clicks arrive as the command in
    each button's key."""
    await api.create_menu(dict(menu if menu is not None else app_menu()))


async def cli_wecom_menu(core: Any, args: argparse.Namespace, *, out: Callable[[str], None] = print,
                         api: WeComApi | None = None) -> int:
    """`diaodu wecom menu [--dry-run]`: publish the app menu (dry run: print it as JSON)."""
    from bot.services.admin_ops import WeComRefused

    menu = app_menu()
    if getattr(args, "dry_run", False):
        out(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    settings = core.settings
    if api is None and not (settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret):
        raise WeComRefused("no_app")
    client = api or make_api(settings)
    try:
        await publish_menu(client, menu)
    except DeliveryError as error:
        raise WeComRefused("menu_failed", error=error) from error
    finally:
        if api is None:
            await client.close()
    out(core.deps.renderer.plain("cli/wecom", menu=[b["name"] for b in menu["button"]]))
    return 0
