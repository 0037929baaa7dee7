"""`diaodu backup` includes the kept photos (the folder store, copied or hard-linked beside the database copy)
and `diaodu restore` brings them back, checked against their sha256; with photos in S3, the backup says the
bucket is their backup, and a folder backup can be restored into a bucket."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.services.ledger_import import import_ledger_files
from bot.services.photo_keeper import PhotoKeeper
from bot.services.photo_store import open_photo_store, original_key, thumbnail_key
from storage import people
from storage import projects as project_repo
from storage.audit import Actor
from storage.db import Database
from storage.migrate import upgrade
from storage.reports import add_report
from tests.fakes.s3 import s3_server
from tests.photos import reading
from tests.photos.pictures import photo

from .helpers import SAMPLE, START

ACTOR = Actor(label="test", channel="cli")


class Source:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        return self.files[file_id]


async def _photos_kept(data: Path) -> int:
    """A migrated SQLite file under `data` with the sample ledger and a report of two kept photos; the id of
    the project."""
    url = f"sqlite+aiosqlite:///{data / 'diaodu.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    clock = FrozenClock(START)
    db = Database(url)
    try:
        assert not (await import_ledger_files(db, clock, [SAMPLE], actor=ACTOR)).issues
        async with db.session() as session:
            project = await project_repo.get_project_by_code(session, code="ZD2026-001")
            [liaison] = await people.find_people_by_name(session, name="郝芳")
            assert project is not None
            await add_report(session, project_id=project.id, person_id=liaison.id, local_day=START.date(),
                             amount=Decimal(850), progress_text="桩基完成", photos=["f1", "f2"],
                             channel="telegram", now=clock.now(), actor=ACTOR, project_code=project.code)
        store = open_photo_store(load_settings(_env_file=None, DATA_DIR=str(data)))
        stats = await PhotoKeeper(db, clock, store, {"telegram": Source({"f1": photo(41), "f2": photo(42)})}).keep_due()
        assert stats.kept == 2
        return project.id
    finally:
        await db.dispose()


async def _read_back(url: str, data: Path, project_id: int) -> list[bytes]:
    db = Database(url)
    try:
        store = open_photo_store(load_settings(_env_file=None, DATA_DIR=str(data)))
        found = []
        for shown in await reading.project_photos(db, project_id=project_id):
            original = await reading.read_photo(db, store, photo_id=shown.id)
            thumb = await reading.read_photo(db, store, photo_id=shown.id, thumbnail=True)
            assert original is not None and thumb is not None
            found.append(original.data)
        return sorted(found)
    finally:
        await db.dispose()


def _deployed_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the commands as a deployment in ``folder`` would: its database and data folder under data/."""
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///data/diaodu.sqlite3")
    monkeypatch.setenv("DATA_DIR", "data")


def test_backup_includes_the_photos_and_restore_brings_them_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    project_id = asyncio.run(_photos_kept(data))
    _deployed_in(tmp_path, monkeypatch)
    monkeypatch.delenv("PHOTO_STORE", raising=False)
    assert main(["backup", "--out", "backup/b.sqlite3"]) == 0
    out = capsys.readouterr().out
    assert "已备份照片 2 张、缩略图 2 张" in out and "缺少" not in out
    copied = tmp_path / "backup" / "b.photos"
    kept = sorted(p for p in (data / "photos").rglob("*") if p.is_file())
    assert len(kept) == 4
    for path in kept:
        twin = copied / path.relative_to(data / "photos")
        assert twin.read_bytes() == path.read_bytes()
        assert twin.stat().st_ino == path.stat().st_ino  # the same file system: hard-linked, no extra space

    # The machine is lost: a new data folder, restored from the backup.
    shutil.rmtree(data)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///data/diaodu.sqlite3")
    assert main(["restore", "backup/b.sqlite3"]) == 0
    assert "已恢复照片 2 张、缩略图 2 张" in capsys.readouterr().out
    assert asyncio.run(_read_back("sqlite+aiosqlite:///data/diaodu.sqlite3", data, project_id)) == [
        photo(41), photo(42)]
    assert main(["restore", "backup/b.sqlite3", "--force"]) == 0  # again: what is there is not written twice
    assert "已有的 4 个文件未重复写入" in capsys.readouterr().out


def test_a_damaged_photo_in_a_backup_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_photos_kept(tmp_path / "data"))
    _deployed_in(tmp_path, monkeypatch)
    assert main(["backup", "--out", "b.sqlite3"]) == 0
    one = next(p for p in sorted((tmp_path / "b.photos" / "originals").rglob("*")) if p.is_file())
    one.unlink()
    one.write_bytes(b"flipped bits")  # a new file: the store's own copy is untouched
    shutil.rmtree(tmp_path / "data")
    assert main(["restore", "b.sqlite3"]) == 1
    assert "已损坏" in capsys.readouterr().err


def test_with_photos_in_s3_the_bucket_is_their_backup_and_a_folder_backup_restores_into_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project_id = asyncio.run(_photos_kept(tmp_path / "data"))
    _deployed_in(tmp_path, monkeypatch)
    assert main(["backup", "--out", "b.sqlite3"]) == 0
    capsys.readouterr()
    with s3_server() as s3:
        s3.create_bucket("moved-photos")
        for name, value in s3.settings("moved-photos").items():
            monkeypatch.setenv(name, value)
        assert main(["backup", "--out", "c.sqlite3"]) == 0
        assert "不随本备份复制" in capsys.readouterr().out and not (tmp_path / "c.photos").exists()
        monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///moved.sqlite3")
        assert main(["restore", "b.sqlite3"]) == 0
        assert "已恢复照片 2 张、缩略图 2 张到 S3 存储桶 moved-photos" in capsys.readouterr().out
        keys = s3.keys("moved-photos")
        assert len(keys) == 4 and all(k.startswith(("originals/", "thumbs/")) for k in keys)
        settings = load_settings(_env_file=None, **s3.settings("moved-photos"))

        async def read() -> list[bytes]:
            db = Database("sqlite+aiosqlite:///moved.sqlite3")
            try:
                store = open_photo_store(settings)
                shown = await reading.project_photos(db, project_id=project_id)
                assert {original_key(p.sha256) for p in shown} | {thumbnail_key(p.sha256) for p in shown} == set(keys)
                return sorted([(await reading.read_photo(db, store, photo_id=p.id)).data for p in shown])
            finally:
                await db.dispose()

        assert asyncio.run(read()) == [photo(41), photo(42)]


async def _evidence_kept(data: Path) -> None:
    """To the database of ``_photos_kept``: a problem raised with a photo and a node done with one (new bytes),
    both kept."""
    from datetime import date

    from storage import nodes as node_repo
    from storage.models import Problem, ProblemPhoto

    url = f"sqlite+aiosqlite:///{data / 'diaodu.sqlite3'}"
    clock = FrozenClock(START)
    db = Database(url)
    try:
        now = clock.now()
        async with db.session() as session:
            project = await project_repo.get_project_by_code(session, code="ZD2026-001")
            [liaison] = await people.find_people_by_name(session, name="郝芳")
            assert project is not None and project.lead_unit_id is not None
            session.add(Problem(project_id=project.id, raised_by_id=liaison.id, unit_id=project.lead_unit_id,
                                category="用地", text="还有12户未签约", status="open", policy={},
                                level_started_at=now, nudged=[], created_at=now, updated_at=now,
                                photos=[ProblemPhoto(channel="telegram", file_id="p1", fetch_after=now)]))
            node = await node_repo.add_node(session, project=project, name="桩基完成", planned_on=date(2026, 11, 20),
                                            now=now)
            await node_repo.mark_done(session, node, done_on=date(2026, 11, 20), note="", person_id=liaison.id,
                                      photos=[("telegram", "n1")], now=now)
        store = open_photo_store(load_settings(_env_file=None, DATA_DIR=str(data)))
        files = {"p1": photo(43), "n1": photo(44)}
        assert (await PhotoKeeper(db, clock, store, {"telegram": Source(files)}).keep_due()).kept == 2
    finally:
        await db.dispose()


def test_backup_includes_problem_and_node_photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    asyncio.run(_photos_kept(data))
    asyncio.run(_evidence_kept(data))
    _deployed_in(tmp_path, monkeypatch)
    monkeypatch.delenv("PHOTO_STORE", raising=False)
    assert main(["backup", "--out", "backup/b.sqlite3"]) == 0
    out = capsys.readouterr().out
    assert "已备份照片 4 张、缩略图 4 张" in out and "缺少" not in out
    copied = sorted(p.read_bytes() for p in (tmp_path / "backup" / "b.photos" / "originals").rglob("*")
                    if p.is_file())
    assert copied == sorted([photo(41), photo(42), photo(43), photo(44)])
