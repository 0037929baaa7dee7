"""What every web route shares (database, clock, settings, templates, the live standings, the photo store) and
the unit of work one page view runs in (``View``): one database session, the signed-in person, today."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, to_local
from bot.config import Settings
from bot.services.photo_store import PhotoStore, open_photo_store
from bot.services.photo_store_fault import StoreFaultNotices
from bot.web.access import Viewer
from bot.web.live_standings import LiveStandings, Snapshot
from bot.web.photo_reads import StoreReads
from bot.web.rendering import WebRenderer, html_page
from storage.db import Database


@dataclass
class WebState:
    db: Database
    clock: Clock
    settings: Settings
    standings: LiveStandings
    renderer: WebRenderer = field(default_factory=WebRenderer)
    store_faults: StoreFaultNotices | None = None  # the photo keeper's (bot.services.photo_store_fault), if any

    @cached_property
    def photo_reads(self) -> StoreReads:
        """Whether the pages can read the photo store (bot.web.photo_reads)."""
        return StoreReads(self.clock, self.store_faults)

    @cached_property
    def photos(self) -> PhotoStore:
        """The photo store (PHOTO_STORE), opened once: a bucket's client and its connections serve every photo
        (one made per photo opened a connection, over the internet a TLS handshake, for each thumbnail)."""
        return open_photo_store(self.settings)

    @property
    def idle(self) -> timedelta:
        return timedelta(hours=self.settings.web_session_idle_hours)


STATE = web.AppKey("diaodu_web", WebState)
COMPUTING_RELOAD = 3  # seconds after which the "being computed" page reloads itself


@dataclass
class View:
    """One page view: its request, the shared state, one database session and the signed-in person."""

    request: web.Request
    state: WebState
    session: AsyncSession
    viewer: Viewer
    now: datetime

    @property
    def today(self) -> date:
        return to_local(self.now).date()

    def page(self, template: str, *, status: int = 200, **context: Any) -> web.Response:
        return html_page(self.state.renderer, template, status=status, viewer=self.viewer,
                         path=self.request.path, **context)

    def snapshot(self) -> Snapshot | None:
        """The latest standings computed in the background (None until the first computation ends)."""
        return self.state.standings.snapshot()

    def computing(self) -> web.Response:
        """503 while the first standings are being computed: a page that says so and reloads itself."""
        response = self.page("computing.html.j2", status=503, refresh=COMPUTING_RELOAD)
        response.headers["Retry-After"] = str(COMPUTING_RELOAD)
        return response

    def refuse(self) -> web.Response:
        """403: the page exists but is outside the person's scope."""
        return self.page("forbidden.html.j2", status=403)

    def not_found(self, what: str) -> web.Response:
        """404 naming the kind of thing not found (``project``, ``problem``, ``photo``, ``file``, ``unit``, ``town``,
        ``page``), worded in web/_things.html.j2."""
        return self.page("not_found.html.j2", status=404, what=what)


ViewHandler = Callable[[View], Awaitable[web.StreamResponse]]
