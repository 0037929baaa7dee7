"""Report photos on the web pages: what a report's timeline entry shows of them, and the photo routes
(``/web/photo/<id>``: a page with the photo; ``…/screen``: the photo as that page shows it, at most 1280 px;
``…/file``: its bytes as sent; ``…/thumb``: the thumbnail), which check
the viewer's scope on the photo's project like every other page. The bytes come from the photo store
(``bot.services.photos``), read in the page's own unit of work; a store that cannot be read is said per photo,
never a server error (``serve``). ``photo_page`` and ``photo_response`` answer
for every kind of photo (``bot.web.evidence_photos`` serves problems' and nodes' photos through them).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.digits import as_id
from bot.services.photo_reasons import shown_reason
from bot.services.photo_store import PhotoStoreError, original_key
from bot.services.photos import Blob, PhotoFile, ProjectPhoto, photo_view, read_screen, read_stored
from bot.web import access
from bot.web.auth import page_route
from bot.web.pictures import Photo, Pictures, pictures
from bot.web.rendering import secure
from bot.web.state import View
from storage import photos as photo_repo
from storage import report_versions, web_queries
from storage.evidence_photos import StoredEvidence
from storage.models import Project, Report

log = logging.getLogger(__name__)
CACHE = "private, max-age=86400, immutable"  # a photo id always names the same bytes
REPORT_PHOTOS = "/web/photo"
STORE_RETRY = 60  # seconds: a photo route's Retry-After while the store cannot be read


async def of_reports(session: AsyncSession, project_id: int, reports: Sequence[Report]) -> dict[int, Pictures]:
    """Report id → its pictures (``bot.web.pictures``): the kept ones with a thumbnail shown, repeats flagged,
    those waiting and those given up said (the project's photos as the read API gives them,
    ``bot.services.photos``, over the reports' days)."""
    if not reports:
        return {}
    ids = {report.id for report in reports}
    days = [report.local_day for report in reports]
    rows = await photo_repo.photos_of_project(session, project_id=project_id, include_withdrawn=True,
                                              since=min(days), until=max(days))
    by_report: dict[int, list[ProjectPhoto]] = {}
    for picture in sorted((photo_view(row) for row in rows if row.report_id in ids), key=lambda p: p.id):
        by_report.setdefault(picture.report_id, []).append(picture)
    return {report.id: pictures(
        REPORT_PHOTOS, [Photo(id=p.id, state=p.state, has_thumbnail=p.has_thumbnail, fetch_reason=p.problem)
                        for p in by_report.get(report.id, ())],
        {p.id: p.duplicate for p in by_report.get(report.id, ()) if p.duplicate is not None})
        for report in reports}


async def _photo(view: View) -> tuple[photo_repo.StoredPhoto, Project] | web.StreamResponse:
    """The photo the route names and its project, or the answer when there is none or it is out of scope."""
    photo_id = view.request.match_info["photo_id"]
    stored = await photo_repo.stored_photo(view.session, photo_id=number) if (number := as_id(photo_id)) else None
    project = None if stored is None else await view.session.get(Project, stored.project_id)
    if stored is None or project is None:
        return view.not_found("photo")
    if not access.project_in_scope(view.viewer, project):
        return view.refuse()
    return stored, project


def _of_photo(answer: Callable[[View, photo_repo.StoredPhoto, Project], Awaitable[web.StreamResponse]],
              ) -> Callable[[View], Awaitable[web.StreamResponse]]:
    """A route giving `answer` for the photo it names and its project; not found or refused (``_photo``) when
    there is none or it is out of the viewer's scope."""

    @functools.wraps(answer)
    async def route(view: View) -> web.StreamResponse:
        found = await _photo(view)
        if isinstance(found, web.StreamResponse):
            return found
        return await answer(view, *found)

    return route


async def _serve(view: View, stored: photo_repo.StoredPhoto, *, thumbnail: bool) -> web.StreamResponse:
    return await serve(view, read_stored(view.state.photos, stored, thumbnail=thumbnail), thumbnail=thumbnail)


async def serve(view: View, reading: Awaitable[PhotoFile | Blob | None], *, thumbnail: bool,
                screen: bool = False) -> web.StreamResponse:
    """The answer of a photo route reading the store (``photo_response``); when the store cannot be read, 503
    saying so (a thumbnail: a grey stand-in saying the photo cannot be shown now), the failure told
    (``bot.web.photo_reads``)."""
    try:
        found = await reading
    except PhotoStoreError as error:
        await view.state.photo_reads.failed(error, path=view.request.path)
        return _store_down(view, thumbnail=thumbnail)
    await view.state.photo_reads.worked()
    return photo_response(view, found, thumbnail=thumbnail, screen=screen)


def _store_down(view: View, *, thumbnail: bool) -> web.StreamResponse:
    if thumbnail:
        stand_in = view.state.renderer.render("missing_thumbnail.svg.j2", unreachable=True).strip()
        response = web.Response(status=503, body=stand_in.encode(), content_type="image/svg+xml")
        secure(response)
    else:
        response = view.page("store_unreachable.html.j2", status=503)
    response.headers["Retry-After"] = str(STORE_RETRY)
    response.headers["Cache-Control"] = "no-store"  # shown as soon as the store is back
    return response


def photo_response(view: View, found: PhotoFile | Blob | None, *, thumbnail: bool,
                   screen: bool = False) -> web.StreamResponse:
    """A kept photo's (or its thumbnail's, or its screen copy's) bytes as every photo route serves them: cached
    for good (they are named by their content), under the pages' security headers; 404 when not kept (a
    thumbnail: a grey stand-in saying so)."""
    if found is None:
        if thumbnail:
            stand_in = view.state.renderer.render("missing_thumbnail.svg.j2", unreachable=False).strip()
            response = web.Response(status=404, body=stand_in.encode(), content_type="image/svg+xml")
            secure(response)
            return response
        return view.not_found("photo")
    response = web.Response(body=found.data, content_type=found.content_type)
    response.headers["Cache-Control"] = CACHE
    response.headers["ETag"] = f'"{found.sha256}{"-t" if thumbnail else "-s" if screen else ""}"'
    secure(response, media=True)
    return response


@page_route
@_of_photo
async def photo(view: View, stored: photo_repo.StoredPhoto, project: Project) -> web.StreamResponse:
    """A page showing the photo full size (a page of ours, under the pages' Content-Security-Policy)."""
    return await photo_page(view, stored, REPORT_PHOTOS, kind="report", code=project.code,
                            back_href=f"/web/project/{project.code}", back_label=f"{project.code} {project.name}")


async def photo_page(view: View, stored: photo_repo.StoredPhoto | StoredEvidence, base: str, *, kind: str,
                     **words: str) -> web.StreamResponse:
    """The page of one photo of ``kind`` (report, problem, node; served under ``base``): the photo when its
    bytes are in the store, else what stands in the way: still being downloaded, given up (the reason in
    Chinese), or no longer in the store (logged); under the heading the day it is of, who sent it and when,
    and its place among the photos sent with it, with the previous and the next one a tap away. A store that
    cannot be read (``unreachable``) leaves the rest of the page as it is and says the photo is kept. A photo of a
    report withdrawn or replaced says that version does not count, and links the day's version that does."""
    file_href = f"{base}/{stored.id}/file"
    screen_href = f"{base}/{stored.id}/screen"
    about = await web_queries.photo_about(view.session, kind=kind, photo_id=stored.id)
    before, after = about.neighbours(stored.id) if about is not None else (None, None)
    state, reason = "kept", ""
    if stored.sha256 is None:
        state = "waiting" if stored.fetch_after is not None else "lost"
        reason = shown_reason(stored.fetch_reason) if state == "lost" else ""
    else:
        try:
            kept = await view.state.photos.has(original_key(stored.sha256))
        except PhotoStoreError as error:  # the store down: the page says what it knows of the photo
            await view.state.photo_reads.failed(error, path=view.request.path)
            state = "unreachable"
        else:
            await view.state.photo_reads.worked()
            if not kept:
                state = "missing"
                log.warning("photo %s (%s) is recorded as kept but its bytes are not in the photo store", file_href,
                            stored.sha256)
    version = None  # a report's photo: the report no longer counting, and the version that does
    if kind == "report" and about is not None and about.owner_id is not None:
        version = await report_versions.superseded(view.session, report_id=about.owner_id)
    return view.page("photo.html.j2", state=state, reason=reason, file_href=file_href, screen_href=screen_href,
                     kind=kind, about=about, version=version,
                     photo_id=stored.id, base=base, before=before, after=after, **words)


@page_route
@_of_photo
async def photo_file(view: View, stored: photo_repo.StoredPhoto, _project: Project) -> web.StreamResponse:
    return await _serve(view, stored, thumbnail=False)


@page_route
@_of_photo
async def thumbnail(view: View, stored: photo_repo.StoredPhoto, _project: Project) -> web.StreamResponse:
    return await _serve(view, stored, thumbnail=True)


async def screen_response(view: View, sha256: str | None, content_type: str | None) -> web.StreamResponse:
    """The photo as its page shows it (``bot.services.photos.read_screen``), for every kind of photo."""
    return await serve(view, read_screen(view.state.photos, sha256=sha256, content_type=content_type),
                       thumbnail=False, screen=True)


@page_route
@_of_photo
async def screen(view: View, stored: photo_repo.StoredPhoto, _project: Project) -> web.StreamResponse:
    return await screen_response(view, stored.sha256, stored.content_type)
