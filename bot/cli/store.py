"""`diaodu db current`, `import`, `export`, `backup`, `restore` and `demo`: the store and what goes in and out of
it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from bot.cli.common import CliError, open_core, say
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
    say("db", upgraded=False, current=current, revision=revision, head=head)
    return 0 if current else 1


async def import_files(settings: Settings, files: list[Path], *, dry_run: bool, as_of: date | None = None,
                  take_file: bool = False) -> int:
    from tqdm import tqdm

    from bot.render import shared_renderer
    from bot.services.ledger_import import ISSUES_LISTED, import_ledger
    from storage.audit import Actor

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CliError("files_missing", files=missing)
    core = await open_core(settings)
    try:
        words = shared_renderer()
        with tqdm(desc=words.phrase("cli/progress", "reading_ledger"), unit=words.phrase("cli/progress", "ledger_unit"),
                  disable=None, file=sys.stderr) as bar:
            async with core.db.session() as session:
                result = await import_ledger(session, files, now=core.clock.now(),
                                             actor=Actor(label="cli", channel="cli"), as_of=as_of,
                                             dry_run=dry_run, take_file=take_file, progress=bar.update)
    finally:
        await core.db.dispose()
    text = shared_renderer().plain("import_summary", result=result, dry_run=dry_run, take_file=take_file, limit=30,
                                   issues_listed=ISSUES_LISTED)
    failed = bool(result.issues) or result.needs_as_of or result.stale
    print(text, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


async def export(settings: Settings, out: Path | None) -> int:
    """The ledger workbook /export and the web's download make (bot.services.ledger_download), written to
    ``out`` (default: its own name, 重点项目台账_年月日_时分秒.xlsx, in the current folder)."""
    from bot.clock import local_today
    from bot.services.ledger_download import ledger_file, ledger_filename
    from bot.services.standings import current_standings

    core = await open_core(settings)
    try:
        async with core.db.session() as session:
            standings = await current_standings(session, today=local_today(core.clock))
            data = await ledger_file(session, standings)
    finally:
        await core.db.dispose()
    path = out or Path(ledger_filename(core.clock.now()))
    if path.exists():
        raise CliError("export_exists", path=str(path))
    path.write_bytes(data)
    say("export", path=str(path), projects=len(standings.projects))
    return 0


async def backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.inbox import FOLDERS
    from bot.clock import SystemClock
    from bot.ops.backup import BackupError, backup_sqlite, default_backup_path, is_sqlite_url, postgres_advice
    from bot.ops.inbox_backup import read_inbox, save_inbox
    from bot.ops.photo_backup import backup_photos

    clock = SystemClock()
    store = _photo_store(settings)
    if not is_sqlite_url(settings.database_url):
        say("backup", step="advice", advice=postgres_advice(settings.database_url, now=clock.now(), out=args.out),
            store=store, local=_local(store), restoring=False)
        return 0
    try:
        out = args.out or default_backup_path(settings.data_dir, clock)
        answered = {channel: await asyncio.to_thread(read_inbox, settings.data_dir / folder)
                    for channel, folder in FOLDERS.items()}  # before the copy: none missed
        info = await backup_sqlite(settings.database_url, out)
        say("backup", step="copied", info=info)
        photos = await backup_photos(store, info.path)
        inboxes = [await asyncio.to_thread(save_inbox, messages, info.path, channel)
                   for channel, messages in answered.items()]
    except BackupError as error:
        raise CliError.said(error) from error
    say("backup", step="photos", photos=photos, store=store, local=_local(store))
    for inbox in inboxes:
        if inbox is not None:
            say("backup", step="inbox", inbox=inbox)
    return 1 if photos is not None and photos.missing else 0


def _photo_store(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.services.photo_store import open_photo_store

    try:
        return open_photo_store(settings)
    except ValueError as error:
        raise CliError.said(error) from error


def _local(store) -> bool:  # type: ignore[no-untyped-def]
    """Whether the photos are in a folder (to be copied with the backup), not in a bucket."""
    from bot.services.photo_store import LocalPhotoStore

    return isinstance(store, LocalPhotoStore)


async def restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.inbox import FOLDERS
    from bot.clock import SystemClock
    from bot.ops.backup import BackupError, is_sqlite_url, needs_upgrade, postgres_advice, restore_sqlite
    from bot.ops.inbox_backup import restore_inbox
    from bot.ops.photo_backup import restore_photos

    store = _photo_store(settings)
    if not is_sqlite_url(settings.database_url):
        advice = postgres_advice(settings.database_url, now=SystemClock().now(), restore_from=args.file)
        say("backup", step="advice", advice=advice, store=store, local=_local(store), restoring=True)
        return 0
    try:
        info = await restore_sqlite(args.file, settings.database_url, force=args.force)
        say("backup", step="restored", info=info, restored_from=args.file)
        photos = await restore_photos(args.file, store)
        inboxes = [inbox for channel, folder in FOLDERS.items()
                   if (inbox := await asyncio.to_thread(restore_inbox, args.file, settings.data_dir / folder,
                                                        channel)) is not None]
    except BackupError as error:
        raise CliError.said(error) from error
    say("backup", step="restored_photos", photos=photos, store=store, upgrade=needs_upgrade(info),
        inboxes=inboxes)
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
    say("demo", db=args.db)
    if args.no_console:
        return 0
    return asyncio.run(console(settings, args.person, None))

