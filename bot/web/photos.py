"""Report photos on the web pages: what a report's timeline entry shows of them, and the photo routes
(``/web/photo/<id>``: a page with the photo; ``…/file``: its bytes; ``…/thumb``: the thumbnail), which check
the viewer's scope on the photo's project like every other page. The bytes come from the photo store
(``bot.services.photos``), read in the page's own unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.digits import is_digits
from bot.services.photo_store import open_photo_store
from bot.services.photos import Blob, Duplicate, PhotoFile, ProjectPhoto, photo_view, read_stored
from bot.web import access
from bot.web.auth import page_route
from bot.web.rendering import secure
from bot.web.state import View
from storage import photos as photo_repo
from storage.models import Project, Report

CACHE = "private, max-age=86400, immutable"  # a photo id always names the same bytes


@dataclass(frozen=True)
class Pictures:
    """What a report's entry shows of its photos: how many it has, those a browser can open, and which of
    those repeat an earlier photo (疑似重复照片)."""

    count: int
    shown: tuple[int, ...] = ()  # ids of photos with a thumbnail (/web/photo/<id>)
    repeats: tuple[tuple[int, Duplicate], ...] = ()  # (photo id, the earlier photo it repeats), of those shown

    def repeat_of(self, photo_id: int) -> Duplicate | None:
        return next((dup for shown, dup in self.repeats if shown == photo_id), None)


async def of_reports(session: AsyncSession, project_id: int, reports: Sequence[Report]) -> dict[int, Pictures]:
    """Report id → its pictures: every photo counted, the kept ones with a thumbnail shown, repeats flagged
    (the project's photos as the read API gives them, ``bot.services.photos``, over the reports' days)."""
    if not reports:
        return {}
    ids = {report.id for report in reports}
    days = [report.local_day for report in reports]
    rows = await photo_repo.photos_of_project(session, project_id=project_id, include_withdrawn=True,
                                              since=min(days), until=max(days))
    kept = sorted((photo_view(row) for row in rows if row.report_id in ids and row.has_thumbnail), key=lambda p: p.id)
    shown: dict[int, list[ProjectPhoto]] = {}
    for picture in kept:
        shown.setdefault(picture.report_id, []).append(picture)
    return {report.id: Pictures(
        count=len(report.photos), shown=tuple(p.id for p in shown.get(report.id, ())),
        repeats=tuple((p.id, p.duplicate) for p in shown.get(report.id, ()) if p.duplicate is not None))
        for report in reports}


async def _photo(view: View) -> tuple[photo_repo.StoredPhoto, Project] | web.StreamResponse:
    """The photo the route names and its project, or the answer when there is none or it is out of scope."""
    photo_id = view.request.match_info["photo_id"]
    stored = await photo_repo.stored_photo(view.session, photo_id=int(photo_id)) if is_digits(photo_id) else None
    project = None if stored is None else await view.session.get(Project, stored.project_id)
    if stored is None or project is None:
        return view.not_found("照片")
    if not access.project_in_scope(view.viewer, project):
        return view.refuse()
    return stored, project


async def _serve(view: View, *, thumbnail: bool) -> web.StreamResponse:
    found = await _photo(view)
    if isinstance(found, web.StreamResponse):
        return found
    stored, _project = found
    return photo_response(view, await read_stored(open_photo_store(view.state.settings), stored, thumbnail=thumbnail),
                          thumbnail=thumbnail)


def photo_response(view: View, found: PhotoFile | Blob | None, *, thumbnail: bool) -> web.StreamResponse:
    """A kept photo's (or its thumbnail's) bytes as every photo route serves them: cached for good (they are
    named by their content), under the pages' security headers; 404 when not kept."""
    if found is None:
        return view.not_found("照片")
    response = web.Response(body=found.data, content_type=found.content_type)
    response.headers["Cache-Control"] = CACHE
    response.headers["ETag"] = f'"{found.sha256}{"-t" if thumbnail else ""}"'
    secure(response)
    return response


@page_route
async def photo(view: View) -> web.StreamResponse:
    """A page showing the photo full size (a page of ours, under the pages' Content-Security-Policy)."""
    found = await _photo(view)
    if isinstance(found, web.StreamResponse):
        return found
    stored, project = found
    return view.page("photo.html.j2", heading="现场照片", code=project.code, back_href=f"/web/project/{project.code}",
                     back_label=f"{project.code} {project.name}", file_href=f"/web/photo/{stored.id}/file")


@page_route
async def photo_file(view: View) -> web.StreamResponse:
    return await _serve(view, thumbnail=False)


@page_route
async def thumbnail(view: View) -> web.StreamResponse:
    return await _serve(view, thumbnail=True)
