"""Downloads: the ledger (台账) as xlsx, as /export makes it (admins), and the files of the latest bulletins
(leads, top officials, admins); and the overview's trend chart."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from datetime import date
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import BULLETIN_FILES
from bot.domain.periods import KIND_NAMES
from bot.domain.trend import TrendPoint, counted_bases, unblurred, weekly_trend
from bot.render import shared_renderer
from bot.services.ledger_download import ledger_file, ledger_filename
from bot.web import access
from bot.web.auth import page_route
from bot.web.live_standings import LiveStandings, Snapshot
from bot.web.rendering import secure
from bot.web.state import View
from storage import web_queries
from storage.ledger_bases import base_days_entered

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPES = {".xlsx": XLSX, ".png": "image/png", ".svg": "image/svg+xml"}


def _bulletin_dir(view: View, kind: str, period: str) -> Path:
    return view.state.settings.data_dir / BULLETIN_FILES / kind / period


@page_route
async def downloads(view: View) -> web.StreamResponse:
    bulletins = []
    if access.may_download_bulletins(view.viewer):
        for kind, period, at in await web_queries.latest_bulletins(view.session):
            folder = _bulletin_dir(view, kind, period)
            files = sorted(p.name for p in folder.iterdir() if p.suffix in TYPES) if folder.is_dir() else []
            bulletins.append((KIND_NAMES.get(kind, kind), kind, period, at, files))
    return view.page("downloads.html.j2", ledger=access.may_download_ledger(view.viewer), bulletins=bulletins,
                     may_bulletins=access.may_download_bulletins(view.viewer))


@page_route
async def ledger(view: View) -> web.StreamResponse:
    if not access.may_download_ledger(view.viewer):
        return view.refuse()
    snapshot = view.snapshot()
    if snapshot is None:
        return view.computing()
    data = await ledger_file(view.session, snapshot.current)
    name = ledger_filename(snapshot.at)  # the figures' moment
    return _file(data, name, XLSX)


@page_route
async def bulletin_file(view: View) -> web.StreamResponse:
    if not access.may_download_bulletins(view.viewer):
        return view.refuse()
    kind, period, name = (view.request.match_info[k] for k in ("kind", "period", "name"))
    known = {(k, p) for k, p, _at in await web_queries.latest_bulletins(view.session, limit=1000)}
    folder = _bulletin_dir(view, kind, period)
    path = folder / name
    if (kind, period) not in known or Path(name).name != name or path.suffix not in TYPES or not path.is_file():
        return view.not_found("file")
    return _file(path.read_bytes(), name, TYPES[path.suffix])


def _file(data: bytes, name: str, content_type: str) -> web.Response:
    from urllib.parse import quote

    response = web.Response(body=data, content_type=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    secure(response)
    return response


TREND = "trend.svg"
TREND_NARROW = "trend-narrow.svg"  # the phone's variant (bot.web.charts: narrow)


def narrow(request: web.Request) -> bool:
    """Whether a chart is asked for in its phone's variant (``?narrow=1``, what the pages' <picture> asks for
    on a narrow screen)."""
    return request.query.get("narrow") == "1"


async def _trend(session: AsyncSession, today: date) -> tuple[list[TrendPoint], str]:
    """Completion against 序时进度 by week for the year, the whole scheme: the chart's points and title. The weeks
    a ledger base blurs (bot.domain.trend.unblurred) have no completion drawn, their 序时进度 only; the
    overview says why under the chart."""
    year = today.year
    _baseline, daily = await web_queries.counted_daily(session, year=year, up_to=today)
    # each week of the projects in the ledger by its end (storage.entered)
    entered = await web_queries.entered_totals(session, year=year)
    points = weekly_trend(year=year, today=today, daily=daily, entered=entered)
    # a week counts the bases of the projects it counts (one imported later blurs none of the weeks before it)
    kept, _ = unblurred(points, functools.partial(counted_bases, await base_days_entered(session, year=year)))
    exact = {p.day for p in kept}
    points = [p if p.day in exact else dataclasses.replace(p, rate=None) for p in points]
    return points, shared_renderer().phrase("chart", "trend_title", year)


async def prepare_trend(live: LiveStandings, snapshot: Snapshot) -> None:
    """The overview's trend chart drawn with each new snapshot (in the worker process when there is one):
    seconds of matplotlib for a year of 10,000 projects' reports, never while a view waits."""
    from bot.web.charts import trend_svg

    async with live.db.session() as session:
        points, title = await _trend(session, snapshot.today)
    snapshot.derived[TREND] = await live.off_loop(functools.partial(trend_svg, title=title), points)
    snapshot.derived[TREND_NARROW] = await live.off_loop(functools.partial(trend_svg, title=title, narrow=True), points)


@page_route
async def trend_chart(view: View) -> web.StreamResponse:
    """The overview's trend chart (the public figure), as drawn with the latest standings; drawn here only
    when there is none for today yet."""
    snapshot = view.snapshot()
    small = narrow(view.request)
    key = TREND_NARROW if small else TREND
    svg = snapshot.derived.get(key) if snapshot is not None and snapshot.today == view.today else None
    if svg is None:
        from bot.web.charts import trend_svg  # matplotlib loads with the first chart, not at start-up

        points, title = await _trend(view.session, view.today)
        svg = await asyncio.to_thread(functools.partial(trend_svg, title=title, narrow=small), points)
    response = web.Response(body=svg, content_type="image/svg+xml")
    secure(response)
    return response
