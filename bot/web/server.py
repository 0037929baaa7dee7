"""The web pages' routes on the bot's HTTP server (``add_web_routes``), and the static files they use."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.clock import Clock
from bot.config import Settings
from bot.services.photo_store_fault import StoreFaultNotices
from bot.web import evidence_photos, photos
from bot.web.auth import add_auth_routes
from bot.web.live_standings import LiveStandings
from bot.web.pages import downloads, groups, overview, problem_list, project, reporting
from bot.web.rendering import secure
from bot.web.state import STATE, WebState
from bot.workers import Workers
from storage.db import Database

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    path = STATIC / name
    if Path(name).name != name or path.suffix not in STATIC_TYPES or not path.is_file():
        raise web.HTTPNotFound()
    response = web.Response(body=path.read_bytes(), content_type=STATIC_TYPES[path.suffix], charset="utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    secure(response)
    return response


def add_web_routes(app: web.Application, *, db: Database, clock: Clock, settings: Settings,
                   workers: Workers | None = None, store_faults: StoreFaultNotices | None = None) -> WebState:
    """Serve the pages under /web/ on ``app``; the state they share is returned (tests reach its standings).

    The standings the pages show are computed in the background (bot.web.live_standings), in ``workers``'
    process when given: from the server's start when the pages can be reached (``WEB_PUBLIC_URL`` is set,
    so /web hands out links), else from the first page view; the server's cleanup stops the refresher.
    ``store_faults`` hears of a photo store the pages cannot read (bot.web.photo_reads)."""
    standings = LiveStandings(db, clock, refresh=settings.web_standings_seconds, workers=workers,
                              prepare=(overview.prepare, downloads.prepare_trend))
    state = WebState(db=db, clock=clock, settings=settings, standings=standings, store_faults=store_faults)
    app[STATE] = state
    app.cleanup_ctx.append(standings.running_while if settings.web_public_url else standings.stopped_with)
    add_auth_routes(app)
    router = app.router
    router.add_get("/web/static/{name}", static_file)
    router.add_get("/web/", overview.overview)
    router.add_get("/web", _to_home)
    router.add_get("/web/project/{code}", project.project_page)
    router.add_get("/web/chart/project/{code}.svg", project.project_chart)
    router.add_get("/web/photo/{photo_id}", photos.photo)
    router.add_get("/web/photo/{photo_id}/file", photos.photo_file)
    router.add_get("/web/photo/{photo_id}/thumb", photos.thumbnail)
    router.add_get("/web/photo/{photo_id}/screen", photos.screen)
    evidence_photos.add_routes(router)  # problem and node photos
    router.add_get("/web/chart/trend.svg", downloads.trend_chart)
    router.add_get("/web/problems", problem_list.problem_list)
    router.add_get("/web/problem/{number}", problem_list.problem_page)
    router.add_get("/web/units", groups.group_list("unit"))
    router.add_get("/web/unit/{name}", groups.group_page("unit"))
    router.add_get("/web/towns", groups.group_list("town"))
    router.add_get("/web/town/{name}", groups.group_page("town"))
    router.add_get("/web/reporting", reporting.reporting)
    router.add_get("/web/downloads", downloads.downloads)
    router.add_get("/web/download/ledger.xlsx", downloads.ledger)
    router.add_get("/web/download/bulletin/{kind}/{period}/{name}", downloads.bulletin_file)
    return state


async def _to_home(_request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": "/web/"})
