"""Composition root: builds storage, clock, router and channels from settings, and serves them."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import ArgumentError

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.services.channel_notices import ChannelNotices
from bot.services.outbox import OutboxSender, SendStats
from bot.services.shared_memory import SharedMemory
from bot.worded_error import WordedError
from bot.workers import Workers
from handlers.context import Deps
from handlers.router import Router
from jobs.job_runs import JobRuns
from jobs.wiring import build_jobs
from storage.db import Database
from storage.migrate import schema_is_current

log = logging.getLogger(__name__)


class ConfigurationError(WordedError, RuntimeError):
    """`diaodu run` cannot run with these settings; restarting will not help until they are fixed. Its message,
    for the operator, is worded by its reason in bot/templates/cli/startup_refused.j2."""

    template = "cli/startup_refused"


class SchemaOutOfDate(ConfigurationError):
    """The database is not at the latest migration (run `diaodu db upgrade`)."""


@dataclass
class Core:
    """The channel-independent part of a running bot."""

    settings: Settings
    deps: Deps
    router: Router
    # The worker process of bulletins, started with its first job (bot.workers); close() it on stop.
    workers: Workers = field(default_factory=Workers)
    # In `diaodu run`, the worker process of the chat's heavy work (deps.workers: a ledger sent to /import is
    # read there), apart from the bulletins' so that an import never waits behind a bulletin (10–20 s for
    # 10,000 projects). Started with each import and ended when it is read (some 80 MB after reading 50,000
    # rows, which a worker kept waiting for the next import would hold).
    import_workers: Workers = field(default_factory=lambda: Workers(idle_end=True))

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
        core = Core.build(self.settings, clock=clock, db=self.db)
        core.workers, core.import_workers, core.deps.workers = self.workers, self.import_workers, self.deps.workers
        return core

    def use_workers(self) -> None:
        """Do the chat's heavy work (a ledger sent to /import) in worker processes, as `diaodu run` does: in
        ``import_workers``, never queued behind a bulletin in ``workers``."""
        self.deps.workers = self.import_workers

    async def check_schema(self) -> None:
        current, revision, head = await schema_is_current(self.db.engine)
        if not current:
            raise SchemaOutOfDate("schema_out_of_date", revision=revision, head=head)


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


def photo_keeper(core: Core, *, telegram=None, wecom=None):  # type: ignore[no-untyped-def]
    """The photo keeper of `diaodu run`: the store PHOTO_STORE names, and a source per served channel (the
    channels' own Bot, once its application is started, and WeCom API client). ValueError when PHOTO_STORE is
    malformed."""
    from bot.services.photo_keeper import PhotoKeeper, PhotoSource
    from bot.services.photo_store import open_photo_store
    from bot.services.photo_store_fault import StoreFaultNotices

    sources: dict[str, PhotoSource] = {}
    if telegram is not None:
        from bot.channels.telegram_photos import TelegramPhotoSource

        application = telegram.application  # asked only while started: Telegram may not answer at start-up
        sources["telegram"] = TelegramPhotoSource(application.bot, started=lambda: application.running)
    if wecom is not None:
        from bot.channels.wecom import CHANNEL as WECOM
        from bot.channels.wecom.photos import WeComPhotoSource

        sources[WECOM] = WeComPhotoSource(wecom.transport.api)
    return PhotoKeeper(core.db, core.clock, open_photo_store(core.settings), sources,
                       store_faults=StoreFaultNotices(core.db, core.clock, core.deps.renderer))


class NoChannel(ConfigurationError):
    """Neither Telegram nor WeCom is configured."""


async def deliver_outbox(core: Core, *, timeout: float = 120.0) -> SendStats | None:
    """Send what is due in the outbox through every configured channel (None when none is configured). When
    Telegram refuses the bot token, its notices stay in the outbox (the running bot holds them and tells the
    admins) and the other channels' go out."""
    from telegram.error import InvalidToken

    from bot.channels.telegram_standing import standing
    from bot.channels.telegram_transport import TelegramTransport
    from bot.channels.wecom.wiring import wecom_outbox_transports
    from bot.services.group_rights import GroupRights

    bot = telegram_bot(core.settings)
    async with AsyncExitStack() as stack:
        memory = SharedMemory(core.db, core.clock)
        transports = dict(await stack.enter_async_context(wecom_outbox_transports(core.settings, memory=memory)))
        if bot is not None:
            try:
                await stack.enter_async_context(bot)
            except InvalidToken:
                log.warning("Telegram refused the bot token (TELEGRAM_BOT_TOKEN): its notices stay in the outbox")
                if not transports:
                    return SendStats()
            else:
                rights = GroupRights(core.db, core.deps.renderer, core.clock, channel="telegram",
                                     standing=functools.partial(standing, bot))
                transports["telegram"] = TelegramTransport(bot, files_root=core.settings.data_dir, rights=rights)
        if not transports:
            return None
        sender = OutboxSender(core.db, core.clock, transports,
                              notices=ChannelNotices(core.db, core.clock, core.deps.renderer))
        return await sender.drain(timeout, wait_for_retries=True)


def settle_heap() -> None:
    """Collect what start-up left behind, then exempt the objects that remain from later collections.

    A running bot keeps what it built at start-up (modules, SQLAlchemy's metadata, the templates, the
    Telegram client: some 210,000 objects) for its whole life, yet every full collection of the garbage
    collector walks them all again: a pause of about 0.1 s on a small machine, once every thousand or so
    messages under load (in the report benchmark, 0.1 ms per message on average). `gc.freeze` leaves them
    out of every later collection.
    """
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, *, stop: asyncio.Event | None = None,
                listening: asyncio.Future[int] | None = None) -> None:
    """`diaodu run`: Telegram (polling, or webhook when TELEGRAM_WEBHOOK_URL is set), WeCom, or both, with
    one HTTP server (webhooks, WeCom callback, /healthz, /readyz), the scheduled jobs and the outbox sender.
    ``listening`` is given the port the HTTP server listens on (with HTTP_PORT=0, the one the system picked)
    once it listens; Telegram comes in when its Bot API answers (bot.channels.telegram_serving), the rest at once."""
    from telegram.error import InvalidToken

    from bot.channels.journals import keep_taking_over, resume_journal, take_over_journals
    from bot.channels.telegram import CHANNEL as TELEGRAM
    from bot.channels.telegram import TelegramChannel, webhook_handler
    from bot.channels.telegram_polling import FOLDER as TELEGRAM_INBOX
    from bot.channels.telegram_polling import UpdateJournal
    from bot.channels.telegram_serving import TelegramService
    from bot.channels.wecom.callback import WeComChannel
    from bot.channels.wecom.crypto import WeComCryptoError
    from bot.channels.wecom.wiring import WECOM_INBOX, add_wecom_routes, wecom_configured, wecom_outbox_transports
    from bot.ops.health import Runtime, healthz_handler
    from bot.ops.metrics import (
        BotMetrics,
        instrument_router,
        instrument_scheduler,
        instrument_transports,
        metrics_handler,
    )
    from bot.services import album_waits
    from jobs.clock_watch import ClockWatch, outbox_due_times_back
    from jobs.scheduler import catch_up
    from storage.leader import lead, leadership_for
    from storage.settings import load_digest_settings

    if settings.telegram_bot_token and settings.telegram_webhook_url and settings.telegram_webhook_secret is None:
        raise ConfigurationError("webhook_secret")
    try:
        core = Core.build(settings)
    except ArgumentError as error:
        raise ConfigurationError("database_url", error=error) from error
    core.use_workers()
    try:
        await core.check_schema()
    except BaseException:
        await core.db.dispose()
        raise
    metrics = BotMetrics()
    instrument_router(core.router, metrics)  # before the channels take the router
    try:
        settings.wecom_robots()
        telegram = TelegramChannel(settings, core.router) if settings.telegram_bot_token else None
    except (ValueError, WeComCryptoError) as error:  # what the settings hold cannot be used
        await core.db.dispose()
        raise ConfigurationError("channels", error=error) from error
    try:
        # updates fetched are journaled until handled (bot.channels.telegram_polling)
        if telegram is not None:
            telegram.journal = UpdateJournal.open(telegram.application, settings.data_dir / TELEGRAM_INBOX,
                                                 core.clock)
    except OSError as error:  # the inbox's folder cannot be written
        await core.db.dispose()
        raise ConfigurationError("telegram_inbox", error=error, path=settings.data_dir / TELEGRAM_INBOX) from error
    try:
        # answered WeCom messages are journaled until handled (bot.channels.wecom.inbox)
        wecom = (WeComChannel.from_settings(settings, core.router, inbox=settings.data_dir / WECOM_INBOX)
                 if wecom_configured(settings) else None)
    except (ValueError, WeComCryptoError) as error:  # what the settings hold cannot be used
        await core.db.dispose()
        raise ConfigurationError("channels", error=error) from error
    except OSError as error:  # the inbox's folder cannot be written
        await core.db.dispose()
        raise ConfigurationError("wecom_inbox", error=error, path=settings.data_dir / WECOM_INBOX) from error
    if telegram is None and wecom is None:
        await core.db.dispose()
        raise NoChannel("no_channel")
    try:
        keeper = photo_keeper(core, telegram=telegram, wecom=wecom)
    except ValueError as error:
        await core.db.dispose()
        raise ConfigurationError("photo_store", error=error) from error
    async with core.db.session() as session:
        digest_settings = await load_digest_settings(session)
    job_runs = JobRuns()
    scheduler, start_up = build_jobs(core, digest_settings.reminder_times, job_runs)
    instrument_scheduler(scheduler, metrics)
    leadership = leadership_for(settings.database_url)
    runtime = Runtime(scheduler=scheduler, leadership=leadership, store_faults=keeper.store_faults)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    http = web.Application()
    http.router.add_get("/healthz", healthz_handler(core.db, core.clock, runtime))  # liveness
    http.router.add_get("/readyz", healthz_handler(core.db, core.clock, runtime, ready=True))  # and the rest
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    http.router.add_get("/metrics", metrics_handler(
        metrics, core.db, core.clock, leadership=leadership, token=metrics_token,
        channel_states=lambda: runtime.sender.channel_states() if runtime.sender is not None else {}))
    if telegram is not None and settings.telegram_webhook_url:
        secret = settings.telegram_webhook_secret.get_secret_value()  # type: ignore[union-attr]
        http.router.add_post(urlsplit(settings.telegram_webhook_url).path or "/",
                             webhook_handler(telegram.application, secret, telegram.journal))
    if telegram is not None and telegram.journal is not None:
        http.on_startup.append(resume_journal(telegram.journal))  # before it listens: a webhook update comes after
    if wecom is not None:
        add_wecom_routes(http, wecom)
    from bot.web.server import add_web_routes

    # the pages (驾驶舱) under /web/; their standings are built in the bulletins' worker process
    add_web_routes(http, db=core.db, clock=core.clock, settings=settings, workers=core.workers,
                   store_faults=keeper.store_faults)
    runner = web.AppRunner(http)
    try:
        async with AsyncExitStack() as stack:
            transports = dict(await stack.enter_async_context(wecom_outbox_transports(
                settings, channel=wecom, memory=SharedMemory(core.db, core.clock))))
            await runner.setup()
            await web.TCPSite(runner, settings.http_host, settings.http_port).start()
            port = int(runner.addresses[0][1])
            log.info("HTTP server listening on %s:%d", settings.http_host, port)
            service = TelegramService(telegram, settings, stop) if telegram is not None else None
            if service is not None:  # held as a channel fault until the Bot API answers
                transports[TELEGRAM] = service.transport
            runtime.sender = sender = OutboxSender(core.db, core.clock, instrument_transports(transports, metrics),
                                                   notices=ChannelNotices(core.db, core.clock, core.deps.renderer))
            closing = asyncio.Event()
            reaching: asyncio.Task[None] | None = None
            watching: asyncio.Task[None] | None = None
            if service is not None:  # the rest does not wait for Telegram
                reaching = asyncio.create_task(service.run(closing, lambda: sender.gate.works(TELEGRAM)),
                                               name="telegram")
                # an outage, or a token refused while polling, told even when no notice is due
                watching = asyncio.create_task(service.watch(closing, sender.gate), name="telegram-watch")
            if listening is not None and not listening.done():
                listening.set_result(port)
            sender_stop = asyncio.Event()
            scheduler.start(paused=True)  # the jobs run while this process leads
            # a step of the wall clock backward would hold the ticks up for as long (jobs.clock_watch)
            # and the outbox's retries stored before it as late (moved back by the leader, whose sender stored them)
            async def retries_back(by: timedelta) -> None:
                if leadership.is_leader:
                    await outbox_due_times_back(core.db, core.clock, by)

            clock_watching = asyncio.create_task(ClockWatch(scheduler, stepped_back=retries_back).run(closing),
                                                 name="clock-watch")
            settle_heap()  # start-up is done: what exists now lives as long as the process

            keeping: asyncio.Task[None] | None = None
            taking_over: asyncio.Task[None] | None = None

            async def put_off_album_notices() -> None:
                try:  # a caption may still be queued behind the backlog (bot.services.album_waits)
                    await album_waits.resume(core.db, core.clock, core.deps.renderer)
                except Exception:
                    log.exception("could not put off the notices of albums waiting for their caption")

            async def send(albums: asyncio.Task[None], until: asyncio.Event) -> None:
                await albums  # no notice goes out before the albums' notices are put off
                await sender.run_forever(until, take_over=True)

            async def elected() -> None:
                nonlocal sender_stop, keeping, taking_over
                # Live (/healthz) from the moment it leads: the jobs run and the sender's task is under way before
                # anything is awaited. The jobs only queue notices; the sender sends them once the albums' notices
                # are put off.
                scheduler.resume()
                catch_up(scheduler, start_up)  # days passed kept; a bulletin missed while none led goes out now, late
                sender_stop = asyncio.Event()
                albums = asyncio.create_task(put_off_album_notices(), name="album-waits")
                runtime.sending = asyncio.create_task(send(albums, sender_stop), name="outbox-sender")
                keeping = asyncio.create_task(keeper.run_forever(sender_stop), name="photo-keeper")
                if service is not None:
                    await albums  # and none of their captions is handled before either
                await take_over_journals(telegram, wecom)  # before it polls: those fetched before the new ones
                # and those of a webhook or WeCom process dying while this one leads
                taking_over = asyncio.create_task(keep_taking_over(
                    telegram, wecom, sender_stop, settings.journal_take_over_seconds), name="journals-take-over")
                if service is not None:
                    await service.lead(True)  # polls once Telegram answers

            async def deposed() -> None:
                scheduler.pause()
                sender_stop.set()
                if runtime.sending is not None:
                    await runtime.sending
                if keeping is not None:
                    await keeping
                if taking_over is not None:
                    await taking_over
                if service is not None:
                    await service.lead(False)

            try:
                await lead(leadership, stop, on_elected=elected, on_deposed=deposed)
            finally:
                stop.set()
                closing.set()
                if scheduler.running:
                    scheduler.shutdown(wait=False)  # cancels the runs under way, without waiting for them
                await job_runs.ended()  # before the database is closed under them
                await clock_watching
                if watching is not None:
                    await watching
                if reaching is not None:
                    try:
                        await reaching
                    except InvalidToken as error:  # 401 at getMe: revoked or mistyped; restarting cannot help
                        raise ConfigurationError("telegram_token") from error
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        # waits for the drawing under way; the job awaiting it was cancelled: the bulletin goes out late next start
        await asyncio.to_thread(core.workers.close)
        await asyncio.to_thread(core.import_workers.close)
        await core.db.dispose()
