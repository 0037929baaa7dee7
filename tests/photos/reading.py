"""Reading a project's kept photos in a unit of work of their own, as the tests look at them: the pages read the
same rows in theirs (``storage.photos`` turned into ``bot.services.photos.ProjectPhoto`` and ``PhotoFile``)."""

from __future__ import annotations

from datetime import date

from bot.services.photo_store import PhotoStore
from bot.services.photos import PhotoFile, ProjectPhoto, photo_view, read_stored
from storage import photos as photo_repo
from storage.db import Database


async def project_photos(db: Database, *, project_id: int, include_withdrawn: bool = False,
                         since: date | None = None, until: date | None = None) -> list[ProjectPhoto]:
    """The photos of the project's reports that count (with `include_withdrawn`, also of replaced,
    corrected or withdrawn reports), newest day first, optionally from `since` to `until` (inclusive)."""
    async with db.session() as session:
        rows = await photo_repo.photos_of_project(session, project_id=project_id,
                                                  include_withdrawn=include_withdrawn, since=since, until=until)
    return [photo_view(row) for row in rows]


async def photo_project(db: Database, *, photo_id: int) -> int | None:
    """The project a photo belongs to, or None when there is no such photo."""
    async with db.session() as session:
        stored = await photo_repo.stored_photo(session, photo_id=photo_id)
    return None if stored is None else stored.project_id


async def read_photo(db: Database, store: PhotoStore, *, photo_id: int,
                     thumbnail: bool = False) -> PhotoFile | None:
    """The photo's bytes as sent (or its thumbnail's), or None when there is no such photo, it is not kept
    (yet), or it has no thumbnail."""
    async with db.session() as session:
        stored = await photo_repo.stored_photo(session, photo_id=photo_id)
    return None if stored is None else await read_stored(store, stored, thumbnail=thumbnail)
