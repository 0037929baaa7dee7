"""The `diaodu` command line: run the bot, import the ledger, invite people, chat in a console, migrate."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError

from bot.clock import SHANGHAI
from bot.config import Settings, load_settings
from bot.ops.logs import setup_logging

DEMO_DIR = Path(__file__).with_name("demo")


# The exit status of a configuration error (sysexits.h's EX_CONFIG): the settings must be fixed before the
# command can succeed, so a supervisor should not restart it (deploy/diaodu.service: RestartPreventExitStatus).
EXIT_CONFIG = 78


class CliError(Exception):
    """A user-facing error: printed in Chinese, exit code 1."""

    exit_code = 1


class ConfigError(CliError):
    """The settings are wrong: printed in Chinese, exit code EXIT_CONFIG."""

    exit_code = EXIT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diaodu", description="重点项目调度助手")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="运行机器人（已配置的 Telegram 和/或企业微信；"
                              "设置 TELEGRAM_WEBHOOK_URL 时 Telegram 用 webhook）")

    db = sub.add_parser("db", help="数据库迁移")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="升级数据库结构到最新版本")
    db_sub.add_parser("current", help="显示数据库当前版本")

    imp = sub.add_parser("import", help="导入项目台账（xlsx 或 csv）")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="只检查并报告将发生的变化，不写入")
    imp.add_argument("--as-of", type=_date_arg, metavar="YYYY-MM-DD",
                     help="台账中累计完成数的截至日期（台账未注明时使用）")
    imp.add_argument("--take-file", action="store_true",
                     help="与系统中已做的更改冲突时采用台账的版本（默认保留系统中的更改）")

    inv = sub.add_parser("invite", help="生成一次性邀请码")
    inv.add_argument("--role", required=True, choices=["liaison", "unit", "lead", "top", "admin"])
    inv.add_argument("--person", required=True, help="人员姓名（须在人员名单中）")
    inv.add_argument("--phone", help="同名时用手机号区分")
    inv.add_argument("--json", action="store_true", help="以 JSON 输出")

    con = sub.add_parser("console", help="在终端中以某人身份与机器人对话")
    con.add_argument("--as", dest="person", required=True, help="人员姓名")
    con.add_argument("--phone", help="同名时用手机号区分")

    cal = sub.add_parser("calendar", help="工作日历：录入官方放假和调休安排")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    cal_sub.add_parser("list", help="查看已录入的安排")
    cal_set = cal_sub.add_parser("set", help="录入一天：off 放假，work 调休上班，auto 恢复默认")
    cal_set.add_argument("day", type=_date_arg)
    cal_set.add_argument("kind", choices=["off", "work", "auto"])
    cal_set.add_argument("--name", default="", help="节日名称，如 春节")
    cal_set.add_argument("--to", type=_date_arg, metavar="YYYY-MM-DD", help="录入连续多天时的最后一天")
    cal_off = cal_sub.add_parser("official", help="确认某年的官方通知已全部录入（该年不再按预估计算）")
    cal_off.add_argument("year", type=int)
    cal_off.add_argument("--undo", action="store_true", help="改回按预估计算")

    sla = sub.add_parser("sla", help="问题办理时限")
    sla_sub = sla.add_subparsers(dest="sla_command", required=True)
    sla_sub.add_parser("show", help="查看时限")
    sla_set = sla_sub.add_parser("set", help="修改时限，如：sla set category 审批手续 3")
    sla_set.add_argument("what", choices=["response", "resolution", "category", "end-of-day", "nudge-at", "node"])
    sla_set.add_argument("values", nargs="+")

    job = sub.add_parser("job", help="立即运行一次定时任务")
    job.add_argument("name", choices=["escalate", "remind"],
                     help="escalate 问题催办和上报；remind 填报提醒（按 --at 之前最近的提醒时间）")
    job.add_argument("--at", type=_datetime_arg, help="按指定时间运行，如 2026-12-03T18:00+08:00")

    dig = sub.add_parser("digest", help="生成或发送通报（周通报、月通报、季度、半年、年度、半月报）")
    dig.add_argument("kind", choices=["weekly", "monthly", "quarterly", "halfyear", "annual", "halfmonth"])
    dig.add_argument("--period", help="期间，如 2026-W47、2026-11、2026-Q4、2026-H2、2026；半月报写该半月中的"
                                      "任一天，如 2026-11-16（默认：最近一期）")
    mode = dig.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="只生成文字、图表和台账到 --out 目录（默认）")
    mode.add_argument("--send", action="store_true", help="发送（每期只发一次）")
    dig.add_argument("--out", type=Path, default=Path("out"), help="--dry-run 的输出目录")

    grp = sub.add_parser("groups", help="接收通报的群")
    grp_sub = grp.add_subparsers(dest="groups_command", required=True)
    grp_sub.add_parser("list", help="查看")
    grp_add = grp_sub.add_parser("add", help="添加：Telegram 群 chat id，或企业微信群机器人名称")
    grp_add.add_argument("chat_id")
    grp_add.add_argument("--name", required=True)
    grp_add.add_argument("--channel", default="telegram", choices=["telegram", "wecom_robot"])
    grp_rm = grp_sub.add_parser("remove", help="移除")
    grp_rm.add_argument("chat_id")
    grp_rm.add_argument("--channel", default="telegram", choices=["telegram", "wecom_robot"])

    ppl = sub.add_parser("people", help="人员的聊天账号")
    ppl_sub = ppl.add_subparsers(dest="people_command", required=True)
    ppl_bind = ppl_sub.add_parser("bind", help="把企业微信账号绑定到人员")
    ppl_bind.add_argument("--wecom", required=True, help="企业微信 userid")
    ppl_bind.add_argument("--person", required=True, help="人员姓名")
    ppl_bind.add_argument("--phone", help="同名时用手机号区分")

    wecom = sub.add_parser("wecom", help="企业微信应用")
    wecom_sub = wecom.add_subparsers(dest="wecom_command", required=True)
    wecom_menu = wecom_sub.add_parser("menu", help="发布应用菜单")
    wecom_menu.add_argument("--dry-run", action="store_true", help="只打印菜单，不发布")

    demo = sub.add_parser("demo", help="用示例数据建立演示数据库并打开终端对话")
    demo.add_argument("--as", dest="person", default="郝芳", help="以谁的身份对话（默认 郝芳，联络员）")
    demo.add_argument("--db", type=Path, default=Path("data/demo.sqlite3"), help="演示数据库文件")
    demo.add_argument("--no-console", action="store_true", help="只建库，不打开对话")

    bak = sub.add_parser("backup", help="备份数据库和照片（SQLite 在线备份，照片目录复制到旁边的 .photos;"
                                        "PostgreSQL 给出 pg_dump 用法）")
    bak.add_argument("--out", type=Path, help="备份文件（默认 data/backups/diaodu-年月日-时分秒.sqlite3)")

    rst = sub.add_parser("restore", help="从备份恢复 SQLite 数据库和照片（请先停止机器人）")
    rst.add_argument("file", type=Path, help="备份文件")
    rst.add_argument("--force", action="store_true", help="目标数据库已有数据时也覆盖")
    return parser


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」不是日期，请写成 2027-02-06") from None


def _datetime_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」不是时间，请写成 2026-12-03T18:00+08:00") from None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as error:
        print(f"配置错误：{_describe_invalid(error)}", file=sys.stderr)
        print(_NOT_RESTARTED, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings, json=settings.log_format == "json",
                  level=logging.INFO if args.command == "run" else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return _dispatch(args, settings)
    except ConfigError as error:
        print(f"配置错误：{error}", file=sys.stderr)
        print(_NOT_RESTARTED, file=sys.stderr)
        return error.exit_code
    except CliError as error:
        print(f"错误：{error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


_NOT_RESTARTED = f"请修改配置后再启动（退出状态 {EXIT_CONFIG}：按 deploy/diaodu.service 运行时 systemd 不会自动重启）。"


def _describe_invalid(error: ValidationError) -> str:
    """Which variables are wrong, and how: "HTTP_PORT(abc):Input should be a valid integer…"."""
    return ";".join(f"{'.'.join(str(part) for part in e['loc'])}({str(e.get('input'))[:40]}):{e['msg']}"
                    for e in error.errors())


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import upgrade

    if args.command == "db":
        if args.db_command == "upgrade":
            try:
                upgrade(settings.database_url)
            except ArgumentError as error:
                raise ConfigError(f"DATABASE_URL 无法识别：{error}") from error
            print("数据库已升级到最新版本。")
            return 0
        return asyncio.run(_db_current(settings))
    if args.command == "run":
        from bot.app import ConfigurationError, NoChannel, serve

        try:
            asyncio.run(serve(settings))
        except NoChannel as error:
            raise ConfigError(f"{error}没有账号时可用 `make demo` 在终端中试用。") from error
        except ConfigurationError as error:
            raise ConfigError(str(error)) from error
        return 0
    if args.command == "import":
        return asyncio.run(_import(settings, args.files, dry_run=args.dry_run, as_of=args.as_of,
                                   take_file=args.take_file))
    if args.command == "invite":
        return asyncio.run(_invite(settings, args))
    if args.command == "console":
        return asyncio.run(_console(settings, args.person, args.phone))
    if args.command == "demo":
        return _demo(settings, args)
    if args.command == "calendar":
        return asyncio.run(_calendar(settings, args))
    if args.command == "sla":
        return asyncio.run(_sla(settings, args))
    if args.command == "job":
        return asyncio.run(_job(settings, args))
    if args.command == "digest":
        return asyncio.run(_digest(settings, args))
    if args.command == "groups":
        return asyncio.run(_groups(settings, args))
    if args.command in {"people", "wecom"}:
        return asyncio.run(_wecom_admin(settings, args))
    if args.command == "backup":
        return asyncio.run(_backup(settings, args))
    if args.command == "restore":
        return asyncio.run(_restore(settings, args))
    raise AssertionError(args.command)


async def _db_current(settings: Settings) -> int:
    from storage.db import Database
    from storage.migrate import schema_is_current

    db = Database(settings.database_url)
    try:
        current, revision, head = await schema_is_current(db.engine)
    finally:
        await db.dispose()
    print(f"当前版本 {revision or '空库'}，最新版本 {head}" + ("" if current else "，需要运行 diaodu db upgrade"))
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


async def _import(settings: Settings, files: list[Path], *, dry_run: bool, as_of: date | None = None,
                  take_file: bool = False) -> int:
    from tqdm import tqdm

    from bot.render import Renderer, html_to_plain
    from bot.services.ledger_import import import_ledger
    from storage.audit import Actor

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CliError(f"找不到文件：{'、'.join(missing)}")
    core = await _open(settings)
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


async def _pick_person(core, name: str, phone: str | None):  # type: ignore[no-untyped-def]
    from storage import people

    async with core.db.session() as session:
        found = await people.find_people_by_name(session, name=name, phone=phone)
    if not found:
        raise CliError(f"人员名单中没有「{name}」{f'（手机 {phone}）' if phone else ''}。请先导入人员名单。")
    if len(found) > 1:
        lines = "\n".join(
            f"  {p.name}  手机 {p.phone or '—'}  {(p.unit.name if p.unit else p.title) or ''}" for p in found
        )
        raise CliError(f"人员名单中有 {len(found)} 位「{name}」，请用 --phone 指定：\n{lines}")
    return found[0]


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render import format_time
    from bot.services.invites import create_invite, link_username
    from storage.audit import Actor

    core = await _open(settings)
    try:
        person = await _pick_person(core, args.person, args.phone)
        if not person.active:  # as the chat's /invite: the code could not be redeemed
            raise CliError(f"「{person.name}」已停用，不能为其生成邀请码。")
        async with core.db.session() as session:
            invite = await create_invite(
                session, person=person, role=args.role, now=core.clock.now(),
                ttl=timedelta(hours=settings.invite_ttl_hours), actor=Actor(label="cli", channel="cli"),
                bot_username=link_username(settings),
            )
    finally:
        await core.db.dispose()
    if args.json:
        print(json.dumps({"code": invite.code, "link": invite.link, "expires_at": invite.expires_at.isoformat()},
                         ensure_ascii=False))
    else:
        link = f"\n链接：{invite.link}" if invite.link else ""
        print(f"邀请码：{invite.code}{link}\n有效期至：{format_time(invite.expires_at)}（北京时间）")
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


async def _calendar(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render import Renderer, html_to_plain
    from bot.services.admin_ops import AdminInputError, set_days, set_official_year
    from storage.audit import Actor
    from storage.settings import calendar_overrides, load_calendar

    core = await _open(settings)
    actor = Actor(label="cli", channel="cli")
    try:
        async with core.db.session() as session:
            try:
                if args.calendar_command == "set":
                    await set_days(session, first=args.day, last=args.to or args.day, kind=args.kind,
                                   name=args.name, now=core.clock.now(), actor=actor)
                elif args.calendar_command == "official":
                    await set_official_year(session, year=args.year, official=not args.undo, now=core.clock.now(),
                                            actor=actor)
            except AdminInputError as error:
                raise CliError(str(error)) from error
        async with core.db.session() as session:
            calendar = await load_calendar(session)
            overrides = await calendar_overrides(session)
    finally:
        await core.db.dispose()
    print(html_to_plain(Renderer().render("calendar", overrides=overrides, official_until=calendar.official_until,
                                          official_years=sorted(calendar.official_years))))
    return 0


async def _sla(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.escalation import CATEGORIES
    from bot.render import Renderer, html_to_plain
    from bot.services.admin_ops import AdminInputError, set_policy
    from bot.services.nodes import escalate_after_days
    from storage.audit import Actor
    from storage.settings import load_policy

    core = await _open(settings)
    try:
        async with core.db.session() as session:
            if args.sla_command == "set":
                try:
                    policy = await set_policy(session, what=args.what, args=args.values, now=core.clock.now(),
                                              actor=Actor(label="cli", channel="cli"))
                except AdminInputError as error:
                    raise CliError(str(error)) from error
            else:
                policy = await load_policy(session)
            node_days = await escalate_after_days(session)
    finally:
        await core.db.dispose()
    print(html_to_plain(Renderer().render("sla", policy=policy, categories=CATEGORIES, node_days=node_days)))
    return 0


async def _job(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import deliver_outbox
    from bot.clock import FrozenClock
    from jobs import escalation, nodes, reminders

    core = await _open(settings)
    if args.at is not None:
        core = core.with_clock(FrozenClock(args.at))
    try:
        if args.name == "remind":
            summary = await reminders.run_as_of(core.db, core.clock.now(), core.deps.renderer)
        else:  # as the running bot's tick does: overdue nodes become problems first
            overdue = await nodes.run(core.db, core.clock, core.deps.renderer)
            result = await escalation.run(core.db, core.clock, core.deps.renderer)
            done = "、".join(escalation.describe(a) for a in result.actions)
            summary = f"检查了 {result.checked} 个到期问题：" + (done or "无需处理")
            if overdue.told:
                summary += f"\n逾期节点 {len(overdue.told)} 个：" + "、".join(overdue.told)
        stats = await deliver_outbox(core)
    finally:
        await core.db.dispose()
    print(summary)
    print(f"发送结果：{stats}" if stats is not None else "未配置任何渠道，通知留在发件箱待发送。")
    return 0


async def _digest(settings: Settings, args: argparse.Namespace) -> int:
    if args.kind == "halfmonth":
        return await _halfmonth(settings, args)
    from bot.app import deliver_outbox
    from bot.clock import local_today
    from bot.domain.periods import KIND_NAMES, latest_due, measured_on, parse_period, period_containing
    from bot.render import html_to_plain
    from jobs import digests
    from storage.settings import load_calendar, load_digest_settings

    core = await _open(settings)
    try:
        async with core.db.session() as session:
            calendar = await load_calendar(session)
            if args.period:
                try:
                    period = parse_period(args.kind, args.period)
                except ValueError:
                    raise CliError(f"「{args.period}」不是有效的期间"
                                   "（如 2026-W47、2026-11、2026-Q4、2026-H2、2026）。") from None
            else:
                today = local_today(core.clock)
                period = latest_due(calendar, args.kind, today) or period_containing(args.kind, today)
            reason = await digests.why_not(session, period, today=local_today(core.clock))
            if reason is not None:
                raise CliError(html_to_plain(core.deps.renderer.render(
                    "bulletin_refused", period=period, kind_name=KIND_NAMES[period.kind], reason=reason,
                    year=measured_on(period).year, scheduled=False)).strip())
            if not args.send:
                rendered = await digests.render_bulletin(
                    session, core.deps.renderer, period=period, calendar=calendar,
                    settings=await load_digest_settings(session), out_dir=args.out)
                (args.out / "bulletin.html").write_text(rendered.text, encoding="utf-8")
                (args.out / "bulletin.txt").write_text(html_to_plain(rendered.text), encoding="utf-8")
                print(html_to_plain(rendered.text))
                files = "、".join(p.name for p in rendered.files.values())
                print(f"已写入 {args.out}：bulletin.txt、bulletin.html、{files}")
                return 0
        from bot.services.web_links import public_base

        produced = await digests.produce(core.db, core.deps.renderer, period=period, now=core.clock.now(),
                                         files_root=settings.data_dir, web_url=public_base(settings.web_public_url))
        if produced is None:
            raise CliError(f"{period.name} 的通报已经发送过，每期只发一次。可用 --dry-run 重新生成查看。")
        stats = await deliver_outbox(core)
    finally:
        await core.db.dispose()
    print(f"{period.name} 通报已生成，{produced.notices} 条通知进入发件箱。")
    print(f"发送结果：{stats}" if stats is not None else "未配置任何渠道，通知留在发件箱待发送。")
    return 0


async def _halfmonth(settings: Settings, args: argparse.Namespace) -> int:
    """The half-monthly report's document: written into --out (dry run), or compiled and sent to the admins."""
    from bot.app import deliver_outbox
    from bot.clock import local_today
    from bot.domain import halfmonth as periods
    from bot.render import html_to_plain
    from bot.services.halfmonth import compile_document
    from jobs import halfmonth
    from storage.settings import load_calendar

    core = await _open(settings)
    try:
        today = local_today(core.clock)
        async with core.db.session() as session:
            calendar = await load_calendar(session)
            try:
                half = periods.parse(args.period) if args.period else periods.latest_asked(today, calendar)
            except ValueError:
                raise CliError(f"「{args.period}」不是有效的日期（写半月中的任一天，如 2026-11-16）。") from None
            if half.start > today:
                raise CliError(f"{half.key} 所在的半月还没开始。")
            if not args.send:
                compiled = await compile_document(session, core.deps.renderer, half=half, calendar=calendar,
                                                  out_dir=args.out, issued=today)
                print(html_to_plain(core.deps.renderer.render("halfmonth_compiled", half=half,
                                                               compiled=compiled, dry_run=True)).strip())
                print(f"已写入 {compiled.path}")
                return 0
        path = await halfmonth.produce(core.db, core.deps.renderer, half=half, now=core.clock.now(),
                                       files_root=settings.data_dir)
        if path is None:
            raise CliError(f"{half.key} 所在半月的半月报已经汇总发送过，每期只发一次。可用 --dry-run 重新生成查看。")
        stats = await deliver_outbox(core)
    finally:
        await core.db.dispose()
    print(f"半月报已汇总：{path.name}，已发给项目办。")
    print(f"发送结果：{stats}" if stats is not None else "未配置任何渠道，通知留在发件箱待发送。")
    return 0


async def _groups(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import delete

    from storage import audit
    from storage.audit import Actor
    from storage.digest_queries import bulletin_groups
    from storage.models import BulletinGroup

    if args.groups_command == "add" and args.channel == "wecom_robot":
        _check_robot_name(settings, args.chat_id)
    elif args.groups_command == "add":
        args.chat_id = _telegram_group_id(args.chat_id)
    core = await _open(settings)
    actor = Actor(label="cli", channel="cli")
    try:
        async with core.db.session() as session:
            now = core.clock.now()
            if args.groups_command == "add":
                existing = [g for g in await bulletin_groups(session)
                            if g.channel == args.channel and g.chat_id == args.chat_id]
                if existing:
                    existing[0].name = args.name
                else:
                    session.add(BulletinGroup(channel=args.channel, chat_id=args.chat_id, name=args.name,
                                              created_at=now, created_by=actor.label))
                await audit.record(session, actor=actor, at=now, action="group.add", object_type="group",
                                   object_key=f"{args.channel}:{args.chat_id}", detail={"name": args.name})
            elif args.groups_command == "remove":
                result = await session.execute(delete(BulletinGroup).where(
                    BulletinGroup.channel == args.channel, BulletinGroup.chat_id == args.chat_id))
                if not result.rowcount:
                    raise CliError(f"没有这个群：{args.channel} {args.chat_id}")
                await audit.record(session, actor=actor, at=now, action="group.remove", object_type="group",
                                   object_key=f"{args.channel}:{args.chat_id}")
        async with core.db.session() as session:
            groups = await bulletin_groups(session)
    finally:
        await core.db.dispose()
    for group in groups:
        print(f"{group.channel}\t{group.chat_id}\t{group.name}")
    if not groups:
        print("尚未设置接收通报的群。")
    return 0


def _telegram_group_id(text: str) -> str:
    """The Telegram group id `groups add` was given; anything else is refused."""
    from bot.domain.chat_ids import telegram_group_id

    chat_id = telegram_group_id(text)
    if chat_id is None:
        raise CliError(f"「{text}」不是 Telegram 群的 chat id（群的 chat id 是负数，如 -1001234567890）。"
                       "更简单的办法：把机器人拉进群，由管理员在群里发送 /groups add 群名称；"
                       "企业微信群机器人请加 --channel wecom_robot。")
    return chat_id


def _check_robot_name(settings: Settings, name: str) -> None:
    """A group robot is added by the name WECOM_ROBOT_KEYS gives it; refuse any other name."""
    from bot.config import RobotKeysError

    try:
        robots = settings.wecom_robots()
    except RobotKeysError as error:
        raise CliError(str(error)) from error
    if name in robots:
        return
    if not robots:
        raise CliError(f"没有名为「{name}」的企业微信群机器人：尚未配置任何群机器人。"
                       "请先在 WECOM_ROBOT_KEYS 中写上 名称=key，再添加。")
    raise CliError(f"没有名为「{name}」的企业微信群机器人。已配置的群机器人：{'、'.join(robots)}"
                   "（见 WECOM_ROBOT_KEYS）。")


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
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


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
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


async def _wecom_admin(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.wecom.binding import cli_bind_wecom
    from bot.channels.wecom.wiring import cli_wecom_menu
    from bot.services.admin_ops import AdminInputError

    core = await _open(settings)
    try:
        if args.command == "people":
            return await cli_bind_wecom(core, args)
        return await cli_wecom_menu(core, args)
    except AdminInputError as error:
        raise CliError(str(error)) from error
    finally:
        await core.db.dispose()


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.db.unlink(missing_ok=True)
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{args.db}"})
    upgrade(settings.database_url)
    status = asyncio.run(_import(settings, [DEMO_DIR / "projects_sample.xlsx"], dry_run=False))
    if status != 0:
        return status
    print(f"演示数据库已建立：{args.db}")
    if args.no_console:
        return 0
    return asyncio.run(_console(settings, args.person, None))


if __name__ == "__main__":
    sys.exit(main())
