"""Where kept photos live: a content-addressed store, a folder or an S3-compatible bucket, behind one interface.

Every object is named by the sha256 of the photo's bytes, so the same bytes are stored once whoever sends
them and however often: ``originals/ab/<sha256>`` holds the photo as it arrived, ``thumbs/ab/<sha256>.jpg``
its thumbnail (``bot.services.photo_images``). Objects are written once and never changed.

- ``LocalPhotoStore``: a folder (default ``DATA_DIR/photos``); each file is written next to its name and
  renamed into place, so a reader never sees half a photo. ``diaodu backup`` copies it (``bot.ops.backup``).
- ``S3PhotoStore``: any S3-compatible service (AWS S3, MinIO, Ceph, 阿里云 OSS, 腾讯云 COS…) when
  ``PHOTO_STORE=s3://bucket/prefix``, with ``PHOTO_S3_ENDPOINT``, ``PHOTO_S3_REGION``,
  ``PHOTO_S3_ACCESS_KEY`` and ``PHOTO_S3_SECRET_KEY`` (without keys, boto3's usual sources: ``AWS_*``
  variables, an instance role). The bucket is its own backup (turn on versioning or replication there).
  The client is boto3, called in worker threads: it is the reference S3 client every compatible service
  documents, moto's test server is built on the same botocore, and a photo every few seconds needs no
  async client (aiobotocore pins exact botocore versions, which makes upgrades a chore).
"""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from bot.worded_error import WordedError

if TYPE_CHECKING:
    from bot.config import Settings

ORIGINALS = "originals"
THUMBS = "thumbs"
SCREENS = "screens"  # the photos' pages' copies (bot.services.photo_images.screen_of), made when first shown
THUMB_TYPE = "image/jpeg"  # every thumbnail (bot.services.photo_images)


def original_key(sha256: str) -> str:
    return f"{ORIGINALS}/{sha256[:2]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    return f"{THUMBS}/{sha256[:2]}/{sha256}.jpg"


def screen_key(sha256: str) -> str:
    return f"{SCREENS}/{sha256[:2]}/{sha256}.jpg"


class PhotoStoreError(Exception):
    """The store cannot be reached or refused a write (the keeper tries again later); ``full`` when it has no
    room left (the disk or the quota full), which the admins are told as such."""

    def __init__(self, message: str, *, full: bool = False) -> None:
        super().__init__(message)
        self.full = full


class PhotoStoreAddressError(WordedError, ValueError):
    """PHOTO_STORE names no store the bot can use; worded by its reason in cli/photo_store_refused.j2."""

    template = "cli/photo_store_refused"


class PhotoStore(Protocol):
    """A content-addressed object store: put once, get by key."""

    kind: str  # "local" or "s3" (``bot/templates/cli/_photo_store.j2`` says where the photos are by it)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the object unless it is there already (the same key always holds the same bytes)."""

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when the store has no such object; PhotoStoreError when the store cannot
        be read (a bucket down, a folder not readable)."""

    async def has(self, key: str) -> bool:
        """Whether the store holds the object; PhotoStoreError when it cannot be read."""


class LocalPhotoStore:
    """Photos in a folder: ``<root>/originals/ab/<sha256>`` and ``<root>/thumbs/ab/<sha256>.jpg``."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not parts or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a photo key: {key!r}")
        return self.root.joinpath(*parts)

    def _put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        if target.exists():
            return
        part: Path | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=".part-")  # mode 0600
            os.close(fd)
            part = Path(name)
            with part.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(part, target)
        except OSError as error:
            if part is not None:
                part.unlink(missing_ok=True)
            raise PhotoStoreError(f"cannot write {target}: {error}",
                                  full=error.errno in (errno.ENOSPC, errno.EDQUOT)) from error

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    def _get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # not there
            self._check_folder(path)
            return None
        except OSError as error:  # the folder not readable (its permissions, a mount gone stale): the store's fault
            raise PhotoStoreError(f"cannot read {path}: {error}") from error

    def _has(self, key: str) -> bool:
        path = self.path(key)
        try:  # not ``is_file``: it takes a link looping for a file not there
            return stat.S_ISREG(path.stat().st_mode)
        except (FileNotFoundError, NotADirectoryError):
            self._check_folder(path)
            return False
        except OSError as error:
            raise PhotoStoreError(f"cannot read {path}: {error}") from error

    def _check_folder(self, path: Path) -> None:
        """A photo not found is gone only when the store's folder is one: its path a regular file, or a link to a
        folder gone or to itself (a disk or mount gone), the store cannot be read (PhotoStoreError). A folder not
        made yet (nothing kept so far) holds nothing."""
        if (self.root.is_symlink() or self.root.exists()) and not self.root.is_dir():
            raise PhotoStoreError(f"cannot read {path}: {self.root} is not a folder")

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def has(self, key: str) -> bool:
        return await asyncio.to_thread(self._has, key)



class S3PhotoStore:
    """Photos in an S3-compatible bucket under a prefix, through boto3 in worker threads."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, access_key: str | None = None, secret_key: str | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._options = {"endpoint_url": endpoint_url, "region_name": region, "aws_access_key_id": access_key,
                         "aws_secret_access_key": secret_key}
        self._client = client
        self._making = threading.Lock()

    @property
    def client(self) -> Any:
        """The store's one client (boto3's clients are thread-safe, making one is not: the first calls come
        from several worker threads at once, so one makes it, in a session of its own, while the others wait)."""
        with self._making:
            if self._client is None:
                import boto3  # checked by open_photo_store
                from botocore.config import Config

                options = {k: v for k, v in self._options.items() if v}
                config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                                read_timeout=30)
                self._client = boto3.session.Session().client("s3", config=config, **options)
            return self._client

    def object_name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, fn: Any, /, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise PhotoStoreError(f"S3 {self.bucket}: {error}") from error
        except BotoCoreError as error:
            raise PhotoStoreError(f"S3 {self.bucket}: {error}") from error

    def _has(self, key: str) -> bool:
        return self._call(self.client.head_object, Key=self.object_name(key)) is not None

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        if self._has(key):
            return
        self._call(self.client.put_object, Key=self.object_name(key), Body=data, ContentType=content_type)

    def _get(self, key: str) -> bytes | None:
        answer = self._call(self.client.get_object, Key=self.object_name(key))
        if answer is None:
            return None
        body = answer["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data, content_type)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def has(self, key: str) -> bool:
        return await asyncio.to_thread(self._has, key)



def parse_store_address(address: str) -> tuple[str, str, str]:
    """``s3://bucket/prefix`` → ("s3", "bucket", "prefix"); a path (or ``file://``) → ("file", "", path)."""
    text = address.strip()
    if text.startswith("s3://"):
        parts = urlsplit(text)
        if not parts.netloc:
            raise PhotoStoreAddressError("no_bucket")
        return "s3", parts.netloc, parts.path.strip("/")
    if text.startswith("file://"):
        return "file", "", urlsplit(text).path
    if "://" in text:
        raise PhotoStoreAddressError("unknown_address", address=text)
    return "file", "", text


def open_photo_store(settings: Settings) -> LocalPhotoStore | S3PhotoStore:
    """The store PHOTO_STORE names (default: the folder ``DATA_DIR/photos``); ValueError when malformed."""
    if not settings.photo_store:
        return LocalPhotoStore(Path(settings.data_dir) / "photos")
    kind, bucket, rest = parse_store_address(settings.photo_store)
    if kind == "file":
        return LocalPhotoStore(Path(rest))
    if importlib.util.find_spec("boto3") is None:
        raise PhotoStoreAddressError("no_boto3")
    secret = settings.photo_s3_secret_key.get_secret_value() if settings.photo_s3_secret_key else None
    return S3PhotoStore(bucket, rest, endpoint_url=settings.photo_s3_endpoint, region=settings.photo_s3_region,
                        access_key=settings.photo_s3_access_key, secret_key=secret)
