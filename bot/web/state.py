"""What every web route shares (database, clock, settings, templates, the standings cache) and the unit of
work one page view runs in (``View``): one database session, the signed-in person, today."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, to_local
from bot.config import Settings
from bot.domain.standings import Standings
from bot.services.standings import current_standings
from bot.web.access import Viewer
from bot.web.rendering import WebRenderer, html_page
from storage.db import Database

STANDINGS_TTL = 60.0  # seconds the overview's standings are reused (a 大屏 refreshes each minute)


@dataclass
class StandingsCache:
    """The standings of a cut-off day, computed at most once a ``ttl`` by this process: 10,000 projects'
    standings take a good part of a second, and every page view and 大屏 refresh asks for them."""

    ttl: float = STANDINGS_TTL
    monotonic: Callable[[], float] = time.monotonic
    _kept: dict[tuple[date, date], tuple[float, Standings]] = field(default_factory=dict)
    _derived: dict[tuple[int, ...], tuple[tuple[Standings, ...], Any]] = field(default_factory=dict)

    async def get(self, session: AsyncSession, *, today: date, cutoff: date) -> Standings:
        key = (today, cutoff)
        kept = self._kept.get(key)
        if kept is not None and self.monotonic() - kept[0] < self.ttl:
            return kept[1]
        standings = await current_standings(session, today=today, cutoff=cutoff)
        self._kept = {k: v for k, v in self._kept.items() if k[0] == today}  # yesterday's go
        self._kept[key] = (self.monotonic(), standings)
        return standings

    def derived(self, key: str, of: tuple[Standings, ...], compute: Callable[[], Any]) -> Any:
        """What ``compute`` makes of these standings, computed once while they are the ones kept."""
        ident = (hash(key), *map(id, of))
        found = self._derived.get(ident)
        if found is not None and all(a is b for a, b in zip(found[0], of, strict=True)):
            return found[1]
        value = compute()
        kept = {id(s) for _t, s in self._kept.values()}
        self._derived = {k: v for k, v in self._derived.items() if all(id(s) in kept for s in v[0])}
        self._derived[ident] = (of, value)
        return value

    def clear(self) -> None:
        self._kept.clear()
        self._derived.clear()


@dataclass
class WebState:
    db: Database
    clock: Clock
    settings: Settings
    renderer: WebRenderer = field(default_factory=WebRenderer)
    standings: StandingsCache = field(default_factory=StandingsCache)

    @property
    def idle(self) -> timedelta:
        return timedelta(hours=self.settings.web_session_idle_hours)


STATE = web.AppKey("diaodu_web", WebState)


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

    def refuse(self) -> web.Response:
        """403: the page exists but is outside the person's scope."""
        return self.page("forbidden.html.j2", status=403)

    def not_found(self, what: str) -> web.Response:
        return self.page("not_found.html.j2", status=404, what=what)


ViewHandler = Callable[[View], Awaitable[web.StreamResponse]]
