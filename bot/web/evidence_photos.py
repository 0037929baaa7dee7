"""The photos of problems and the evidence photos of nodes on the web pages: what a problem's page or a node's
line shows of them (``of_problem``, ``of_nodes``: ``bot.web.pictures``, with the earlier photos they repeat,
``storage.photo_repeats``), and their routes (``/web/problem-photo/<id>`` and
``/web/node-photo/<id>``: a page with the photo; ``…/file``: its bytes; ``…/thumb``: the thumbnail). A
problem's photo is shown to whoever may see the problem, a node's to whoever may open its project's page
(``bot.web.access``); anyone else gets 403, for the image too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.digits import as_id
from bot.services.photos import read_blob
from bot.web import access
from bot.web.auth import page_route
from bot.web.photos import photo_page, screen_response, serve
from bot.web.pictures import Photo, Pictures, pictures
from bot.web.state import View
from storage import evidence_photos as evidence_repo
from storage import photo_repeats
from storage import problems as problem_repo
from storage.models import Project

PROBLEM_PHOTOS = "/web/problem-photo"
NODE_PHOTOS = "/web/node-photo"

# The photo a route names and the words of its page, or the answer (404, 403) when it may not be shown.
Found = tuple[evidence_repo.StoredEvidence, dict[str, str]] | web.StreamResponse


def _photos(photos: Sequence[evidence_repo.EvidencePhoto]) -> list[Photo]:
    return [Photo(id=p.id, state=p.state, has_thumbnail=p.has_thumbnail, fetch_reason=p.fetch_reason)
            for p in photos]


async def of_problem(session: AsyncSession, *, problem_id: int) -> Pictures:
    """The photos the problem was raised with, repeats of earlier photos flagged."""
    photos = await evidence_repo.photos_of_problem(session, problem_id=problem_id)
    repeats = await photo_repeats.repeats_of(session, kind="problem", photo_ids=[p.id for p in photos])
    return pictures(PROBLEM_PHOTOS, _photos(photos), repeats)


async def of_nodes(session: AsyncSession, node_ids: Collection[int]) -> dict[int, Pictures]:
    """Node id → its evidence photos (nodes without any are left out), repeats of earlier photos flagged, for
    a project's node timeline. In a template: ``{% from "_photos.html.j2" import photo_strip %}`` and
    ``{{ photo_strip(node_pictures.get(node.id), "节点照片") }}``."""
    found = await evidence_repo.photos_of_nodes(session, node_ids=node_ids)
    repeats = await photo_repeats.repeats_of(session, kind="node",
                                             photo_ids=[p.id for photos in found.values() for p in photos])
    return {node_id: pictures(NODE_PHOTOS, _photos(photos), repeats) for node_id, photos in found.items()}


async def _problem_photo(view: View) -> Found:
    """The problem photo the route names and what its page says, or the answer when there is none or the
    viewer may not see its problem."""
    photo_id = view.request.match_info["photo_id"]
    number = as_id(photo_id)
    stored = await evidence_repo.stored_problem_photo(view.session, photo_id=number) if number else None
    problem = None if stored is None else await problem_repo.get_problem(view.session, problem_id=stored.owner_id)
    if stored is None or problem is None:
        return view.not_found("photo")
    if not access.problem_in_scope(view.viewer, problem):
        return view.refuse()
    return stored, {"kind": "problem", "code": problem.number, "back_href": f"/web/problem/{problem.number}",
                    "back_label": f"{problem.number} {problem.category}"}


async def _node_photo(view: View) -> Found:
    """The node photo the route names and what its page says, or the answer when there is none or the viewer
    may not open its project's page."""
    photo_id = view.request.match_info["photo_id"]
    number = as_id(photo_id)
    stored = await evidence_repo.stored_node_photo(view.session, photo_id=number) if number else None
    project = None if stored is None else await view.session.get(Project, stored.owner_id)
    if stored is None or project is None:
        return view.not_found("photo")
    if not access.project_in_scope(view.viewer, project):
        return view.refuse()
    return stored, {"kind": "node", "code": project.code, "back_href": f"/web/project/{project.code}",
                    "back_label": f"{project.code} {project.name}"}


async def _page(view: View, base: str, found: Found) -> web.StreamResponse:
    if isinstance(found, web.StreamResponse):
        return found
    stored, words = found
    return await photo_page(view, stored, base, **words)


async def _serve(view: View, found: Found, *, thumbnail: bool) -> web.StreamResponse:
    if isinstance(found, web.StreamResponse):
        return found
    stored, _words = found
    return await serve(view, read_blob(view.state.photos, sha256=stored.sha256, content_type=stored.content_type,
                                       has_thumbnail=stored.has_thumbnail, thumbnail=thumbnail), thumbnail=thumbnail)


async def _screen(view: View, found: Found) -> web.StreamResponse:
    if isinstance(found, web.StreamResponse):
        return found
    stored, _words = found
    return await screen_response(view, stored.sha256, stored.content_type)


@page_route
async def problem_photo(view: View) -> web.StreamResponse:
    """A page showing a problem's photo full size."""
    return await _page(view, PROBLEM_PHOTOS, await _problem_photo(view))


@page_route
async def problem_photo_file(view: View) -> web.StreamResponse:
    return await _serve(view, await _problem_photo(view), thumbnail=False)


@page_route
async def problem_photo_thumb(view: View) -> web.StreamResponse:
    return await _serve(view, await _problem_photo(view), thumbnail=True)


@page_route
async def problem_photo_screen(view: View) -> web.StreamResponse:
    return await _screen(view, await _problem_photo(view))


@page_route
async def node_photo(view: View) -> web.StreamResponse:
    """A page showing a node's evidence photo full size."""
    return await _page(view, NODE_PHOTOS, await _node_photo(view))


@page_route
async def node_photo_file(view: View) -> web.StreamResponse:
    return await _serve(view, await _node_photo(view), thumbnail=False)


@page_route
async def node_photo_thumb(view: View) -> web.StreamResponse:
    return await _serve(view, await _node_photo(view), thumbnail=True)


@page_route
async def node_photo_screen(view: View) -> web.StreamResponse:
    return await _screen(view, await _node_photo(view))


def add_routes(router: web.UrlDispatcher) -> None:
    """The problem and node photo routes."""
    for base, page, file, thumb, shown in (
            (PROBLEM_PHOTOS, problem_photo, problem_photo_file, problem_photo_thumb, problem_photo_screen),
            (NODE_PHOTOS, node_photo, node_photo_file, node_photo_thumb, node_photo_screen)):
        router.add_get(base + "/{photo_id}", page)
        router.add_get(base + "/{photo_id}/file", file)
        router.add_get(base + "/{photo_id}/thumb", thumb)
        router.add_get(base + "/{photo_id}/screen", shown)
