"""Composition root: builds storage, clock, router and channels from settings, and serves them."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.outbox import OutboxSender, SendStats
from handlers.context import Deps
from handlers.router import Router
from storage.db import Database
from storage.migrate import schema_is_current

log = logging.getLogger(__name__)


class SchemaOutOfDate(RuntimeError):
    """The database is not at the latest migration."""


@dataclass
class Core:
    """The channel-independent part of a running bot."""

    settings: Settings
    deps: Deps
    router: Router

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> Core:
        deps = Deps(db=db or Database(settings.database_url), clock=clock or SystemClock(), settings=settings)
        return cls(settings=settings, deps=deps, router=Router(deps))

    @property
    def db(self) -> Database:
        return self.deps.db

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    def with_clock(self, clock: Clock) -> Core:
        """The same core seen through another clock (`diaodu job … --at`)."""
        return Core.build(self.settings, clock=clock, db=self.db)

    async def check_schema(self) -> None:
        current, revision, head = await schema_is_current(self.db.engine)
        if not current:
            raise SchemaOutOfDate(
                f"数据库结构不是最新版本(当前 {revision or '空库'},最新 {head})。请先运行:diaodu db upgrade"
            )


def telegram_bot(settings: Settings):  # type: ignore[no-untyped-def]
    """A PTB Bot for sending only (CLI jobs), honouring the same base URLs and proxy as `diaodu run`."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    if settings.telegram_bot_token is None:
        return None
    kwargs: dict[str, object] = {}
    if settings.telegram_base_url:
        kwargs["base_url"] = settings.telegram_base_url
    if settings.telegram_base_file_url:
        kwargs["base_file_url"] = settings.telegram_base_file_url
    request = HTTPXRequest(connection_pool_size=16, proxy=settings.telegram_proxy)
    return Bot(settings.telegram_bot_token.get_secret_value(), request=request, **kwargs)  # type: ignore[arg-type]


async def deliver_outbox(core: Core, *, timeout: float = 120.0) -> SendStats | None:
    """Send what is due in the outbox through every configured channel (None when none is configured)."""
    from bot.channels.telegram_transport import TelegramTransport

    bot = telegram_bot(core.settings)
    if bot is None:
        return None
    async with bot:
        sender = OutboxSender(core.db, core.clock, {"telegram": TelegramTransport(bot)})
        return await sender.drain(timeout, wait_for_retries=True)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """`diaodu run`: Telegram by polling, or by webhook when TELEGRAM_WEBHOOK_URL is set."""
    from bot.channels.telegram import TelegramChannel
    from telegram import Update

    from bot.channels.telegram_transport import TelegramTransport
    from jobs import digests, escalation, reminders
    from jobs.scheduler import build_scheduler
    from storage.settings import load_digest_settings

    core = Core.build(settings)
    await core.check_schema()
    channel = TelegramChannel(settings, core.router)
    application = channel.application
    sender = OutboxSender(core.db, core.clock,
                          {"telegram": TelegramTransport(application.bot, files_root=settings.data_dir)})
    renderer = core.deps.renderer

    async def escalation_tick() -> None:
        result = await escalation.run(core.db, core.clock, renderer)
        if result.checked:
            log.info("escalation tick: %s", result)

    async def digest_tick() -> None:
        for produced in await digests.run_due(core.db, renderer, now=core.clock.now(), files_root=settings.data_dir):
            log.info("bulletin produced: %s", produced)

    async def reminder_run(slot: time) -> None:
        log.info("reminders %s: %s", slot, await reminders.run(core.db, core.clock.now(), renderer, slot=slot))

    async with core.db.session() as session:
        digest_settings = await load_digest_settings(session)
    scheduler = build_scheduler(escalation=escalation_tick, digests=digest_tick, reminder=reminder_run,
                                reminder_times=digest_settings.reminder_times)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    http = web.Application()
    http.router.add_get("/healthz", _healthz(core))
    webhook_url = settings.telegram_webhook_url
    if webhook_url:
        secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
        if not secret:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET must be set when TELEGRAM_WEBHOOK_URL is set")
        http.router.add_post(urlsplit(webhook_url).path or "/", _webhook(application, secret))
    runner = web.AppRunner(http)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    try:
        async with application:
            await channel.publish_default_menu(application)  # run_polling would, via post_init
            await application.start()
            sending = asyncio.create_task(sender.run_forever(stop), name="outbox-sender")
            try:
                if webhook_url:
                    await application.bot.set_webhook(webhook_url, secret_token=secret,
                                                      allowed_updates=Update.ALL_TYPES)
                    log.info("serving Telegram by webhook at %s", webhook_url)
                else:
                    assert application.updater is not None
                    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                    log.info("serving Telegram by polling")
                scheduler.start()
                try:
                    await digest_tick()  # a bulletin missed while the bot was down goes out now, marked late
                except Exception:
                    log.exception("start-up digest run failed; the scheduler tries again")
                await stop.wait()
            finally:
                stop.set()
                if scheduler.running:
                    scheduler.shutdown(wait=False)
                await sending
                if application.updater is not None and application.updater.running:
                    await application.updater.stop()
                await application.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        await core.db.dispose()


def _healthz(core: Core) -> web.RequestHandler:  # type: ignore[name-defined]
    async def healthz(_request: web.Request) -> web.Response:
        try:
            current, _revision, _head = await schema_is_current(core.db.engine)
        except Exception:  # noqa: BLE001 - health reports any store failure
            return web.json_response({"ok": False, "store": "unreachable"}, status=503)
        return web.json_response({"ok": current, "store": "ok", "schema_current": current},
                                 status=200 if current else 503)

    return healthz


def _webhook(application: object, secret: str) -> web.RequestHandler:  # type: ignore[name-defined]
    import hmac

    from telegram import Update

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403)
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400)
        update = Update.de_json(payload, application.bot)  # type: ignore[attr-defined]
        await application.update_queue.put(update)  # type: ignore[attr-defined]
        return web.Response(status=200)

    return webhook
