"""The kept photos in backups: ``diaodu backup`` copies the photo folder next to the database copy, and
``diaodu restore`` puts them back into the configured store.

- Backup (photos in a folder, the default): after the database copy ``diaodu-….sqlite3`` is made, every
  photo and thumbnail of the store goes into ``diaodu-….photos/`` beside it, same layout
  (``originals/ab/<sha256>``, ``thumbs/ab/<sha256>.jpg``). The photos never change once stored, so a file
  is hard-linked when the backup is on the same file system (no extra space; deleting the original does not
  touch the link), copied otherwise. The database copy is made first, and a photo is in the store before the
  database names it, so every photo the copy names is there: the backup checks that, and says which are
  missing if any.
- Photos in an S3 bucket are not copied: the bucket is their backup (turn on versioning or replication).
- Restore: the photos of ``<backup>.photos/`` are put into the configured store (folder or bucket; what is
  there already is skipped), each original checked against its sha256 first. A backup made with photos in
  a folder can so be restored onto S3.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from bot.ops.backup import BackupError
from bot.services.photo_store import (
    ORIGINALS,
    THUMB_TYPE,
    THUMBS,
    LocalPhotoStore,
    PhotoStore,
    original_key,
    thumbnail_key,
)


class PhotoBackupError(BackupError):
    """Photos that cannot be backed up or restored, by its reason (worded as a BackupError's)."""


def photos_beside(database_backup: Path) -> Path:
    """Where the photos of a database backup are: ``diaodu-….sqlite3`` → ``diaodu-….photos``."""
    return database_backup.with_suffix(".photos")


@dataclass(frozen=True)
class PhotoCopy:
    """What a photo backup or restore did."""

    where: Path
    originals: int
    thumbnails: int
    linked: int = 0
    missing: list[str] = field(default_factory=list)
    skipped: int = 0


def kept_in(database: Path) -> list[tuple[str, bool]]:
    """The photos a database (file) names: sha256 and whether a thumbnail was made."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [(sha, bool(thumb)) for sha, thumb in conn.execute("SELECT sha256, has_thumbnail FROM photo_blobs")]
    except sqlite3.OperationalError:  # a database from before photos were kept
        return []
    finally:
        conn.close()


def _link_or_copy(source: Path, target: Path) -> bool:
    """True when hard-linked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
        return True
    except OSError:
        shutil.copy2(source, target)
        return False


def _backup(root: Path, out: Path, expected: list[tuple[str, bool]]) -> PhotoCopy:
    if out.exists():
        raise PhotoBackupError("photos_exist", path=out)
    part = out.with_name(out.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    counts = {ORIGINALS: 0, THUMBS: 0}
    linked = 0
    try:
        for kind in (ORIGINALS, THUMBS):
            folder = root / kind
            if not folder.is_dir():
                continue
            for source in sorted(folder.rglob("*")):
                if source.is_file() and not source.name.startswith(".part-"):
                    linked += _link_or_copy(source, part / source.relative_to(root))
                    counts[kind] += 1
        os.replace(part, out)
    except OSError as error:
        shutil.rmtree(part, ignore_errors=True)
        raise PhotoBackupError("photos_failed", error=error) from error
    missing = [sha for sha, thumb in expected
               if not (out / original_key(sha)).is_file() or (thumb and not (out / thumbnail_key(sha)).is_file())]
    return PhotoCopy(where=out, originals=counts[ORIGINALS], thumbnails=counts[THUMBS], linked=linked,
                     missing=missing)


async def backup_photos(store: PhotoStore, database_backup: Path) -> PhotoCopy | None:
    """Copy a folder store's photos beside a database backup just made (None for an S3 store: nothing to
    copy, the bucket is its own backup)."""
    if not isinstance(store, LocalPhotoStore):
        return None
    expected = await asyncio.to_thread(kept_in, database_backup)
    return await asyncio.to_thread(_backup, store.root, photos_beside(database_backup), expected)


def _files(folder: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for kind in (ORIGINALS, THUMBS):
        if (folder / kind).is_dir():
            found += [(path.relative_to(folder).as_posix(), path) for path in sorted((folder / kind).rglob("*"))
                      if path.is_file() and not path.name.startswith(".part-")]
    return found


async def restore_photos(database_backup: Path, store: PhotoStore) -> PhotoCopy | None:
    """Put the photos backed up beside `database_backup` into `store` (None when the backup has none).
    Raises PhotoBackupError naming an original whose bytes do not match its name."""
    folder = photos_beside(database_backup)
    if not folder.is_dir():
        return None
    originals = thumbnails = skipped = 0
    for key, path in await asyncio.to_thread(_files, folder):
        if await store.has(key):
            skipped += 1
            continue
        data = await asyncio.to_thread(path.read_bytes)
        if key.startswith(ORIGINALS + "/"):
            if hashlib.sha256(data).hexdigest() != path.name:
                raise PhotoBackupError("photo_corrupt", path=path)
            await store.put(key, data, "application/octet-stream")
            originals += 1
        else:
            await store.put(key, data, THUMB_TYPE)
            thumbnails += 1
    return PhotoCopy(where=folder, originals=originals, thumbnails=thumbnails, skipped=skipped)
