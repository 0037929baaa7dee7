"""The `diaodu` command line: run the bot, import and export the ledger, invite people, chat in a console, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError

from bot.cli import people, schedule, store
from bot.cli.common import EXIT_CONFIG, CliError, ConfigError, refuse, say
from bot.cli.parser import Parser
from bot.clock import SHANGHAI
from bot.config import Settings, load_settings
from bot.ops.logs import setup_logging

__all__ = ["EXIT_CONFIG", "EXIT_PIPE", "main"]

EXIT_PIPE = 141  # the reader of the output went away (128 + SIGPIPE, as the shell reports a program it ended)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="diaodu", description="重点项目调度助手")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    sub.add_parser("run", help="运行机器人（已配置的 Telegram 和/或企业微信；"
                              "设置 TELEGRAM_WEBHOOK_URL 时 Telegram 用 webhook）")

    db = sub.add_parser("db", help="数据库结构升级、版本和整库复制")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="命令")
    db_sub.add_parser("upgrade", help="升级数据库结构到最新版本")
    db_sub.add_parser("current", help="显示数据库当前版本")
    copy = db_sub.add_parser("copy", help="把整个数据库（台账、填报、问题、通报、记录）复制到一个新的空库，"
                                          "如从 SQLite 迁到 PostgreSQL；请先停止机器人")
    copy.add_argument("--to", required=True, metavar="地址",
                      help="目标库地址，如 postgresql+asyncpg://用户:密码@主机:5432/库名（须为空库，结构自动建好）")

    imp = sub.add_parser("import", help="导入项目台账（xlsx 或 csv）")
    imp.add_argument("files", nargs="+", type=Path, metavar="文件", help="台账文件（xlsx 或 csv），可写多个")
    imp.add_argument("--dry-run", action="store_true", help="只检查并报告将发生的变化，不写入")
    imp.add_argument("--as-of", type=_date_arg, metavar="YYYY-MM-DD",
                     help="台账中累计完成数的截至日期（台账未注明时使用）")
    imp.add_argument("--take-file", action="store_true",
                     help="与系统中已做的更改冲突时采用台账的版本（默认保留系统中的更改）")

    exp = sub.add_parser("export", help="导出项目台账 xlsx（与 /export 相同，可修改后再导入）")
    exp.add_argument("--out", type=Path, metavar="文件",
                     help="输出文件（默认 重点项目台账_年月日_时分秒.xlsx，不覆盖已有文件）")

    inv = sub.add_parser("invite", help="生成一次性邀请码")
    inv.add_argument("--role", required=True, choices=["liaison", "unit", "lead", "top", "admin"])
    inv.add_argument("--person", required=True, metavar="姓名", help="人员姓名（须在人员名单中）")
    inv.add_argument("--phone", metavar="手机号", help="同名时用手机号区分")
    inv.add_argument("--json", action="store_true", help="以 JSON 输出")

    con = sub.add_parser("console", help="在终端中以某人身份与机器人对话")
    con.add_argument("--as", dest="person", required=True, metavar="姓名", help="人员姓名")
    con.add_argument("--phone", metavar="手机号", help="同名时用手机号区分")

    cal = sub.add_parser("calendar", help="工作日历：录入官方放假和调休安排")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True, metavar="命令")
    cal_sub.add_parser("list", help="查看已录入的安排")
    cal_set = cal_sub.add_parser("set", help="录入一天：off 放假，work 调休上班，auto 恢复默认")
    cal_set.add_argument("day", type=_date_arg, metavar="日期", help="如 2027-02-05")
    cal_set.add_argument("kind", choices=["off", "work", "auto"], metavar="安排",
                         help="off 放假，work 调休上班，auto 恢复默认")
    cal_set.add_argument("--name", default="", metavar="节日", help="节日名称，如 春节")
    cal_set.add_argument("--to", type=_date_arg, metavar="YYYY-MM-DD", help="录入连续多天时的最后一天")
    cal_off = cal_sub.add_parser("official", help="确认某年的官方通知已全部录入（该年不再按预估计算）")
    cal_off.add_argument("year", type=int, metavar="年份", help="如 2027")
    cal_off.add_argument("--undo", action="store_true", help="改回按预估计算")

    sla = sub.add_parser("sla", help="问题办理时限")
    sla_sub = sla.add_subparsers(dest="sla_command", required=True, metavar="命令")
    sla_sub.add_parser("show", help="查看时限")
    sla_set = sla_sub.add_parser("set", help="修改时限，如：sla set category 审批手续 3")
    sla_set.add_argument("what", choices=["response", "resolution", "category", "end-of-day", "nudge-at", "node"],
                         metavar="时限", help="response、resolution、category、end-of-day、nudge-at 或 node")
    sla_set.add_argument("values", nargs="+", metavar="值", help="该时限的值，如 category 后写 审批手续 3")

    job = sub.add_parser("job", help="立即运行一次定时任务")
    job.add_argument("name", choices=["escalate", "remind"], metavar="任务",
                     help="escalate 问题催办和上报；remind 填报提醒（按 --at 之前最近的提醒时间）")
    job.add_argument("--at", type=_datetime_arg, metavar="时间", help="按指定时间运行，如 2026-12-03T18:00+08:00")

    dig = sub.add_parser("digest", help="生成或发送通报（周通报、月通报、季度、半年、年度、半月报）")
    dig.add_argument("kind", choices=["weekly", "monthly", "quarterly", "halfyear", "annual", "halfmonth"],
                     metavar="通报", help="weekly、monthly、quarterly、halfyear、annual 或 halfmonth")
    dig.add_argument("--period", metavar="期间", help="如 2026-W47、2026-11、2026-Q4、2026-H2、2026；半月报写该半月中的"
                                                     "任一天，如 2026-11-16（默认：最近一期）")
    mode = dig.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="只生成文字、图表和台账到 --out 目录（默认）")
    mode.add_argument("--send", action="store_true", help="发送（每期只发一次）")
    dig.add_argument("--out", type=Path, default=Path("out"), metavar="目录", help="--dry-run 的输出目录")

    grp = sub.add_parser("groups", help="接收通报的群")
    grp_sub = grp.add_subparsers(dest="groups_command", required=True, metavar="命令")
    grp_sub.add_parser("list", help="查看")
    grp_add = grp_sub.add_parser("add", help="添加：Telegram 群 chat id，或企业微信群机器人名称")
    grp_add.add_argument("chat_id", metavar="群", help="Telegram 群的 chat id，或企业微信群机器人名称")
    grp_add.add_argument("--name", required=True, metavar="群名称")
    grp_add.add_argument("--channel", default="telegram", choices=["telegram", "wecom_robot"])
    grp_rm = grp_sub.add_parser("remove", help="移除")
    grp_rm.add_argument("chat_id", metavar="群", help="Telegram 群的 chat id，或企业微信群机器人名称")
    grp_rm.add_argument("--channel", default="telegram", choices=["telegram", "wecom_robot"])

    ppl = sub.add_parser("people", help="人员的聊天账号")
    ppl_sub = ppl.add_subparsers(dest="people_command", required=True, metavar="命令")
    ppl_bind = ppl_sub.add_parser("bind", help="把企业微信账号绑定到人员")
    ppl_bind.add_argument("--wecom", required=True, help="企业微信 userid")
    ppl_bind.add_argument("--person", required=True, metavar="姓名", help="人员姓名")
    ppl_bind.add_argument("--phone", metavar="手机号", help="同名时用手机号区分")

    wecom = sub.add_parser("wecom", help="企业微信应用")
    wecom_sub = wecom.add_subparsers(dest="wecom_command", required=True, metavar="命令")
    wecom_menu = wecom_sub.add_parser("menu", help="发布应用菜单")
    wecom_menu.add_argument("--dry-run", action="store_true", help="只打印菜单，不发布")

    demo = sub.add_parser("demo", help="用示例数据建立演示数据库并打开终端对话")
    demo.add_argument("--as", dest="person", default="郝芳", metavar="姓名", help="以谁的身份对话（默认 郝芳，联络员）")
    demo.add_argument("--db", type=Path, default=Path("data/demo.sqlite3"), metavar="文件", help="演示数据库文件")
    demo.add_argument("--no-console", action="store_true", help="只建库，不打开对话")

    bak = sub.add_parser("backup", help="备份数据库和照片（SQLite 在线备份，照片目录复制到旁边的 .photos；"
                                        "PostgreSQL 给出 pg_dump 用法）")
    bak.add_argument("--out", type=Path, metavar="文件",
                     help="备份文件（默认 DATA_DIR/backups/diaodu-年月日-时分秒.sqlite3）")

    rst = sub.add_parser("restore", help="从备份恢复 SQLite 数据库和照片（请先停止机器人）")
    rst.add_argument("file", type=Path, metavar="备份文件", help="diaodu backup 写的备份文件")
    rst.add_argument("--force", action="store_true", help="目标数据库已有数据时也覆盖")
    return parser


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_bad_argument("date", text)) from None


def _datetime_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_bad_argument("datetime", text)) from None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. Output read only in part (``diaodu import … | head``: the reader has
    gone) ends the command quietly, as a terminal program does."""
    try:
        try:
            return _command(argv)
        finally:
            sys.stdout.flush()  # what is still buffered: a reader gone is found here, not at exit
    except BrokenPipeError:
        # Python would flush the standard streams again at exit, and complain: they write to nothing now.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        return EXIT_PIPE


def _command(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as error:
        return refuse(ConfigError("invalid_settings", errors=error.errors()))
    setup_logging(settings, json=settings.log_format == "json",
                  level=logging.INFO if args.command == "run" else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return _dispatch(args, settings)
    except CliError as error:
        return refuse(error)
    except KeyboardInterrupt:
        return 130


def _bad_argument(kind: str, text: str) -> str:
    """What argparse says of an argument that is not a ``kind`` ("date", "datetime")."""
    from bot.render import shared_renderer

    return shared_renderer().plain("cli/bad_argument", kind=kind, text=text)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import upgrade

    if args.command == "db":
        if args.db_command == "upgrade":
            try:
                upgrade(settings.database_url)
            except ArgumentError as error:
                raise ConfigError("bad_database_url", error=error) from error
            say("db", upgraded=True)
            return 0
        if args.db_command == "copy":
            from bot.cli.db_copy import copy_database

            return asyncio.run(copy_database(settings, args.to))
        return asyncio.run(store.db_current(settings))
    if args.command == "run":
        from bot.app import ConfigurationError, NoChannel, serve

        try:
            asyncio.run(serve(settings))
        except NoChannel as error:
            raise ConfigError("no_channel", text=str(error)) from error
        except ConfigurationError as error:
            raise ConfigError.said(error) from error
        return 0
    if args.command == "import":
        return asyncio.run(store.import_files(settings, args.files, dry_run=args.dry_run, as_of=args.as_of,
                                   take_file=args.take_file))
    if args.command == "export":
        return asyncio.run(store.export(settings, args.out))
    if args.command == "invite":
        return asyncio.run(people.invite(settings, args))
    if args.command == "console":
        return asyncio.run(people.console(settings, args.person, args.phone))
    if args.command == "demo":
        return store.demo(settings, args)
    if args.command == "calendar":
        return asyncio.run(schedule.calendar(settings, args))
    if args.command == "sla":
        return asyncio.run(schedule.sla(settings, args))
    if args.command == "job":
        return asyncio.run(schedule.job(settings, args))
    if args.command == "digest":
        return asyncio.run(schedule.digest(settings, args))
    if args.command == "groups":
        return asyncio.run(schedule.groups(settings, args))
    if args.command in {"people", "wecom"}:
        return asyncio.run(people.wecom_admin(settings, args))
    if args.command == "backup":
        return asyncio.run(store.backup(settings, args))
    if args.command == "restore":
        return asyncio.run(store.restore(settings, args))
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
