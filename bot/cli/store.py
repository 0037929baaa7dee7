"""`diaodu db current`, `import`, `backup`, `restore` and `demo`: the store and what goes in and out of it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from bot.cli.common import CliError, open_core
from bot.cli.people import console
from bot.config import Settings

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"  # bot/demo


async def db_current(settings: Settings) -> int:
    from storage.db import Database
    from storage.migrate import schema_is_current

    db = Database(settings.database_url)
    try:
        current, revision, head = await schema_is_current(db.engine)
    finally:
        await db.dispose()
    print(f"当前版本 {revision or '空库'}，最新版本 {head}" + ("" if current else "，需要运行 diaodu db upgrade"))
    return 0 if current else 1


async def import_files(settings: Settings, files: list[Path], *, dry_run: bool, as_of: date | None = None,
                  take_file: bool = False) -> int:
    from tqdm import tqdm

    from bot.render import Renderer, html_to_plain
    from bot.services.ledger_import import import_ledger
    from storage.audit import Actor

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CliError(f"找不到文件：{'、'.join(missing)}")
    core = await open_core(settings)
    try:
        with tqdm(desc="读取台账", unit="行", disable=None, file=sys.stderr) as bar:
            async with core.db.session() as session:
                result = await import_ledger(session, files, now=core.clock.now(),
                                             actor=Actor(label="cli", channel="cli"), as_of=as_of,
                                             dry_run=dry_run, take_file=take_file, progress=bar.update)
    finally:
        await core.db.dispose()
    text = Renderer().render("import_summary", result=result, dry_run=dry_run, take_file=take_file, limit=30)
    failed = bool(result.issues) or result.needs_as_of
    print(html_to_plain(text), file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


async def backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.ops.backup import BackupError, backup_sqlite, default_backup_path, is_sqlite_url, postgres_advice
    from bot.ops.photo_backup import PhotoBackupError, backup_photos

    clock = SystemClock()
    store = _photo_store(settings)
    if not is_sqlite_url(settings.database_url):
        print(postgres_advice(settings.database_url, now=clock.now(), out=args.out))
        print(_photos_elsewhere(store, backing_up=True))
        return 0
    try:
        out = args.out or default_backup_path(settings.data_dir, clock)
        info = await backup_sqlite(settings.database_url, out)
        print(f"已备份:{info.summary()}")
        photos = await backup_photos(store, info.path)
    except (BackupError, PhotoBackupError) as error:
        raise CliError(str(error)) from error
    if photos is None:
        print(_photos_elsewhere(store, backing_up=True))
        return 0
    print(f"已备份{photos.summary()}")
    return 1 if photos.missing else 0


def _photo_store(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.services.photo_store import open_photo_store

    try:
        return open_photo_store(settings)
    except ValueError as error:
        raise CliError(str(error)) from error


def _photos_elsewhere(store, *, backing_up: bool) -> str:  # type: ignore[no-untyped-def]
    """What a backup or restore says about photos it does not copy itself."""
    from bot.services.photo_store import LocalPhotoStore

    if isinstance(store, LocalPhotoStore):
        if backing_up:
            return (f"照片保存在 {store.root}，请一并备份，例如：rsync -a {store.root}/ <备份位置>/photos/"
                    "（照片文件写入后不再改变，可增量复制）。")
        return f"照片请从备份复制回 {store.root}（例如 rsync -a <备份位置>/photos/ {store.root}/）。"
    return (f"照片保存在 {store.describe()}，不随本备份复制：存储桶本身即其备份"
            "（请在存储服务上开启版本控制或跨区域复制）。")


async def restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.ops.backup import BackupError, is_sqlite_url, needs_upgrade, postgres_advice, restore_sqlite
    from bot.ops.photo_backup import PhotoBackupError, restore_photos

    store = _photo_store(settings)
    if not is_sqlite_url(settings.database_url):
        print(postgres_advice(settings.database_url, now=SystemClock().now(), restore_from=args.file))
        print(_photos_elsewhere(store, backing_up=False))
        return 0
    try:
        info = await restore_sqlite(args.file, settings.database_url, force=args.force)
        print(f"已从 {args.file} 恢复:{info.summary()}")
        photos = await restore_photos(args.file, store)
    except (BackupError, PhotoBackupError) as error:
        raise CliError(str(error)) from error
    if photos is None:
        print("这份备份旁没有照片目录（.photos)，照片未恢复。")
    else:
        print(f"已恢复照片 {photos.originals} 张、缩略图 {photos.thumbnails} 张到 {store.describe()}"
              f"（来自 {photos.where}；已有的 {photos.skipped} 个文件未重复写入）")
    if needs_upgrade(info):
        print("备份的数据库结构较旧，请运行：diaodu db upgrade")
    return 0


def demo(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.db.unlink(missing_ok=True)
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{args.db}"})
    upgrade(settings.database_url)
    status = asyncio.run(import_files(settings, [DEMO_DIR / "projects_sample.xlsx"], dry_run=False))
    if status != 0:
        return status
    print(f"演示数据库已建立：{args.db}")
    if args.no_console:
        return 0
    return asyncio.run(console(settings, args.person, None))

