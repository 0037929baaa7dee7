"""The photo stores behind one interface (bot.services.photo_store): a folder, and an S3-compatible bucket on
a real S3 server (moto's server mode). Objects are put once and read back; a missing one is None; the
PHOTO_STORE setting picks the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.render import Renderer
from bot.services.photo_store import (
    LocalPhotoStore,
    PhotoStoreError,
    S3PhotoStore,
    open_photo_store,
    original_key,
    parse_store_address,
    thumbnail_key,
)
from tests.fakes.s3 import S3Server, s3_server

SHA = "ab" + "0" * 62


def place(store: LocalPhotoStore | S3PhotoStore) -> str:
    """Where the photos are, as the command line says it."""
    return Renderer().phrase("cli/_photo_store", "photo_store_place", store)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def settings(**values: object):  # type: ignore[no-untyped-def]
    return load_settings(_env_file=None, **values)


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, s3: S3Server) -> LocalPhotoStore | S3PhotoStore:
    if request.param == "folder":
        return open_photo_store(settings(DATA_DIR=str(tmp_path)))  # type: ignore[return-value]
    bucket = f"photos-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    s3.create_bucket(bucket)
    return open_photo_store(settings(**s3.settings(bucket, "district/prod")))  # type: ignore[return-value]


async def test_an_object_is_put_once_and_read_back(store: LocalPhotoStore | S3PhotoStore) -> None:
    key = original_key(SHA)
    assert key == f"originals/ab/{SHA}" and thumbnail_key(SHA) == f"thumbs/ab/{SHA}.jpg"
    assert await store.get(key) is None and not await store.has(key)
    await store.put(key, b"jpeg bytes", "image/jpeg")
    await store.put(key, b"jpeg bytes", "image/jpeg")  # again: nothing changes
    assert await store.has(key) and await store.get(key) == b"jpeg bytes"


async def test_the_bucket_holds_the_objects_under_the_prefix(s3: S3Server) -> None:
    s3.create_bucket("diaodu-photos")
    store = open_photo_store(settings(**s3.settings("diaodu-photos", "prod")))
    assert isinstance(store, S3PhotoStore) and place(store) == "S3 存储桶 diaodu-photos（前缀 prod）"
    await store.put(thumbnail_key(SHA), b"thumb", "image/jpeg")
    assert s3.keys("diaodu-photos") == [f"prod/thumbs/ab/{SHA}.jpg"]
    head = s3.client().head_object(Bucket="diaodu-photos", Key=f"prod/thumbs/ab/{SHA}.jpg")
    assert head["ContentType"] == "image/jpeg"


async def test_a_missing_bucket_is_an_error_the_keeper_retries(s3: S3Server) -> None:
    store = open_photo_store(settings(**s3.settings("no-such-bucket")))
    with pytest.raises(PhotoStoreError):
        await store.put(original_key(SHA), b"x", "image/jpeg")


def test_the_setting_names_the_store(tmp_path: Path) -> None:
    default = open_photo_store(settings(DATA_DIR=str(tmp_path)))
    assert isinstance(default, LocalPhotoStore) and default.root == tmp_path / "photos"
    elsewhere = open_photo_store(settings(PHOTO_STORE=str(tmp_path / "kept")))
    assert isinstance(elsewhere, LocalPhotoStore) and elsewhere.root == tmp_path / "kept"
    assert parse_store_address("s3://bucket") == ("s3", "bucket", "")
    assert parse_store_address("file:///srv/photos") == ("file", "", "/srv/photos")
    assert place(default) == f"本地目录 {tmp_path / 'photos'}"
    for wrong, words in (("s3://", "s3:// 后面要写存储桶名"), ("ftp://host/photos", "不认识的地址 ftp://host/photos")):
        with pytest.raises(ValueError, match=words):
            parse_store_address(wrong)
    with pytest.raises(ValueError):
        LocalPhotoStore(tmp_path).path("originals/../../etc/passwd")
