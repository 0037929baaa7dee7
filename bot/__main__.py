"""The `diaodu` command line: run the bot, import the ledger, invite people, chat in a console, migrate."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

from bot.config import Settings, load_settings

DEMO_DIR = Path(__file__).with_name("demo")


class CliError(Exception):
    """A user-facing error: printed in Chinese, exit code 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diaodu", description="重点项目调度助手")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="运行机器人(Telegram;设置 TELEGRAM_WEBHOOK_URL 时用 webhook)")

    db = sub.add_parser("db", help="数据库迁移")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="升级数据库结构到最新版本")
    db_sub.add_parser("current", help="显示数据库当前版本")

    imp = sub.add_parser("import", help="导入项目台账(xlsx 或 csv)")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="只检查并报告将发生的变化,不写入")

    inv = sub.add_parser("invite", help="生成一次性邀请码")
    inv.add_argument("--role", required=True, choices=["liaison", "unit", "lead", "top", "admin"])
    inv.add_argument("--person", required=True, help="人员姓名(须在人员名单中)")
    inv.add_argument("--phone", help="同名时用手机号区分")
    inv.add_argument("--json", action="store_true", help="以 JSON 输出")

    con = sub.add_parser("console", help="在终端中以某人身份与机器人对话")
    con.add_argument("--as", dest="person", required=True, help="人员姓名")
    con.add_argument("--phone", help="同名时用手机号区分")

    demo = sub.add_parser("demo", help="用示例数据建立演示数据库并打开终端对话")
    demo.add_argument("--as", dest="person", default="郝芳", help="以谁的身份对话(默认 郝芳,联络员)")
    demo.add_argument("--db", type=Path, default=Path("data/demo.sqlite3"), help="演示数据库文件")
    demo.add_argument("--no-console", action="store_true", help="只建库,不打开对话")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.command == "run" else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    try:
        return _dispatch(args, settings)
    except CliError as error:
        print(f"错误:{error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import upgrade

    if args.command == "db":
        if args.db_command == "upgrade":
            upgrade(settings.database_url)
            print("数据库已升级到最新版本。")
            return 0
        return asyncio.run(_db_current(settings))
    if args.command == "run":
        from bot.app import SchemaOutOfDate, serve

        if settings.telegram_bot_token is None:
            raise CliError("未设置 TELEGRAM_BOT_TOKEN。没有 Telegram 账号时可用 `make demo` 在终端中试用。")
        try:
            asyncio.run(serve(settings))
        except SchemaOutOfDate as error:
            raise CliError(str(error)) from error
        return 0
    if args.command == "import":
        return asyncio.run(_import(settings, args.files, dry_run=args.dry_run))
    if args.command == "invite":
        return asyncio.run(_invite(settings, args))
    if args.command == "console":
        return asyncio.run(_console(settings, args.person, args.phone))
    if args.command == "demo":
        return _demo(settings, args)
    raise AssertionError(args.command)


async def _db_current(settings: Settings) -> int:
    from storage.db import Database
    from storage.migrate import schema_is_current

    db = Database(settings.database_url)
    try:
        current, revision, head = await schema_is_current(db.engine)
    finally:
        await db.dispose()
    print(f"当前版本 {revision or '空库'},最新版本 {head}" + ("" if current else ",需要运行 diaodu db upgrade"))
    return 0 if current else 1


async def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.app import Core, SchemaOutOfDate

    core = Core.build(settings)
    try:
        await core.check_schema()
    except SchemaOutOfDate as error:
        await core.db.dispose()
        raise CliError(str(error)) from error
    return core


async def _import(settings: Settings, files: list[Path], *, dry_run: bool) -> int:
    from tqdm import tqdm

    from bot.importing import import_ledger
    from bot.render import Renderer, html_to_plain
    from storage.audit import Actor

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CliError(f"找不到文件:{'、'.join(missing)}")
    core = await _open(settings)
    try:
        with tqdm(desc="读取台账", unit="行", disable=None, file=sys.stderr) as bar:
            summary = await import_ledger(core.db, core.clock, files, actor=Actor(label="cli", channel="cli"),
                                          dry_run=dry_run, progress=bar.update)
    finally:
        await core.db.dispose()
    text = Renderer().render("import_summary", summary=summary, dry_run=dry_run, limit=30)
    print(html_to_plain(text), file=sys.stderr if summary.issues else sys.stdout)
    return 1 if summary.issues else 0


async def _pick_person(core, name: str, phone: str | None):  # type: ignore[no-untyped-def]
    from storage import people

    async with core.db.session() as session:
        found = await people.find_people_by_name(session, name=name, phone=phone)
    if not found:
        raise CliError(f"人员名单中没有「{name}」{f'(手机 {phone})' if phone else ''}。请先导入人员名单。")
    if len(found) > 1:
        lines = "\n".join(
            f"  {p.name}  手机 {p.phone or '—'}  {(p.unit.name if p.unit else p.title) or ''}" for p in found
        )
        raise CliError(f"人员名单中有 {len(found)} 位「{name}」,请用 --phone 指定:\n{lines}")
    return found[0]


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.invites import create_invite
    from bot.render import format_time
    from storage.audit import Actor

    core = await _open(settings)
    try:
        person = await _pick_person(core, args.person, args.phone)
        async with core.db.session() as session:
            invite = await create_invite(
                session, person=person, role=args.role, now=core.clock.now(),
                ttl=timedelta(hours=settings.invite_ttl_hours), actor=Actor(label="cli", channel="cli"),
                bot_username=settings.telegram_bot_username,
            )
    finally:
        await core.db.dispose()
    if args.json:
        print(json.dumps({"code": invite.code, "link": invite.link, "expires_at": invite.expires_at.isoformat()},
                         ensure_ascii=False))
    else:
        print(f"邀请码:{invite.code}\n链接:{invite.link}\n有效期至:{format_time(invite.expires_at)}(北京时间)")
    return 0


async def _console(settings: Settings, name: str, phone: str | None) -> int:
    from bot.channels.console import bind_console, chat

    core = await _open(settings)
    try:
        person = await _pick_person(core, name, phone)
        external_id = await bind_console(core.db, person, now=core.clock.now())

        async def read_line(prompt: str) -> str | None:
            try:
                return await asyncio.to_thread(input, prompt)
            except EOFError:
                return None

        await chat(core.router, external_id, person.name, read_line, print)
    finally:
        await core.db.dispose()
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.db.unlink(missing_ok=True)
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{args.db}"})
    upgrade(settings.database_url)
    status = asyncio.run(_import(settings, [DEMO_DIR / "projects_sample.xlsx"], dry_run=False))
    if status != 0:
        return status
    print(f"演示数据库已建立:{args.db}")
    if args.no_console:
        return 0
    return asyncio.run(_console(settings, args.person, None))


if __name__ == "__main__":
    sys.exit(main())
