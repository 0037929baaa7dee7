"""`diaodu calendar`, `sla`, `job`, `digest` and `groups`: the working-day calendar, problem deadlines, running a
job or a bulletin by hand, and the chats bulletins go to."""

from __future__ import annotations

import argparse
from datetime import timedelta

from bot.cli.common import CliError, open_core, say
from bot.config import Settings
from bot.domain.text_widths import too_wide


async def calendar(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.duties import entered_late
    from bot.render import shared_renderer
    from bot.services.admin_ops import AdminInputError, set_days, set_official_year
    from bot.services.calendar_recount import recount_open_problems
    from storage.audit import Actor
    from storage.settings import calendar_overrides, load_calendar

    core = await open_core(settings)
    actor = Actor(label="cli", channel="cli")
    recount = changed = None
    try:
        async with core.db.session() as session:
            before = await load_calendar(session)
            try:
                if args.calendar_command == "set":
                    await set_days(session, first=args.day, last=args.to or args.day, kind=args.kind,
                                   name=args.name, now=core.clock.now(), actor=actor)
                    changed = "restored" if args.kind == "auto" else "days"
                elif args.calendar_command == "official":
                    await set_official_year(session, year=args.year, official=not args.undo, now=core.clock.now(),
                                            actor=actor)
                    changed = "estimated" if args.undo else "official"
            except AdminInputError as error:
                raise CliError.said(error) from error
            if changed is not None:  # the running bot's outbox sender delivers the notices
                recount = await recount_open_problems(session, core.deps.renderer, before=before,
                                                      now=core.clock.now(), actor=actor)
        async with core.db.session() as session:
            calendar = await load_calendar(session)
            overrides = await calendar_overrides(session)
    finally:
        await core.db.dispose()
    renderer = shared_renderer()
    if recount is not None:
        print(renderer.plain("_calendar_recount", recount=recount, changed=changed))
    restored = ([args.day + timedelta(days=n) for n in range(((args.to or args.day) - args.day).days + 1)]
                if changed == "restored" else [])
    print(renderer.plain("calendar", overrides=overrides, late=entered_late((o.day for o in overrides), calendar),
                         official_until=calendar.official_until, official_years=sorted(calendar.official_years),
                         passed=entered_late(restored, calendar)))
    return 0


async def sla(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.escalation import CATEGORIES
    from bot.render import shared_renderer
    from bot.services.admin_ops import AdminInputError, set_policy
    from bot.services.nodes import escalate_after_days
    from storage.audit import Actor
    from storage.settings import load_policy

    core = await open_core(settings)
    try:
        async with core.db.session() as session:
            if args.sla_command == "set":
                try:
                    policy = await set_policy(session, what=args.what, args=args.values, now=core.clock.now(),
                                              actor=Actor(label="cli", channel="cli"))
                except AdminInputError as error:
                    raise CliError.said(error) from error
            else:
                policy = await load_policy(session)
            node_days = await escalate_after_days(session)
    finally:
        await core.db.dispose()
    print(shared_renderer().plain("sla", policy=policy, categories=CATEGORIES, node_days=node_days))
    return 0


async def job(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import deliver_outbox
    from bot.clock import FrozenClock
    from jobs import escalation, nodes, reminders

    core = await open_core(settings)
    if args.at is not None:
        core = core.with_clock(FrozenClock(args.at))
    try:
        if args.name == "remind":
            said = {"summary": await reminders.run_as_of(core.db, core.clock.now(), core.deps.renderer)}
        else:  # as the running bot's tick does: overdue nodes become problems first
            overdue = await nodes.run(core.db, core.clock, core.deps.renderer)
            result = await escalation.run(core.db, core.clock, core.deps.renderer)
            said = {"summary": None, "checked": result.checked, "overdue": overdue.told,
                    "actions": [escalation.describe(a) for a in result.actions]}
        stats = await deliver_outbox(core)
    finally:
        await core.db.dispose()
    say("job", stats=stats, **said)
    return 0


async def digest(settings: Settings, args: argparse.Namespace) -> int:
    if args.kind == "halfmonth":
        return await halfmonth(settings, args)
    from bot.app import deliver_outbox
    from bot.clock import local_today
    from bot.domain.periods import latest_due, parse_period, period_containing
    from bot.render import html_to_plain
    from jobs import bulletin_refusals, bulletin_render, digests
    from storage.settings import load_calendar, load_digest_settings

    core = await open_core(settings)
    try:
        async with core.db.session() as session:
            calendar = await load_calendar(session)
            if args.period:
                try:
                    period = parse_period(args.kind, args.period)
                except ValueError:
                    raise CliError("bad_period", period=args.period) from None
            else:
                today = local_today(core.clock)
                period = latest_due(calendar, args.kind, today) or period_containing(args.kind, today)
            reason = await bulletin_refusals.why_not(session, period, today=local_today(core.clock))
            if reason is not None:
                words = await bulletin_refusals.refused_words(session, period, reason, scheduled=False)
                raise CliError("said", text=core.deps.renderer.plain("bulletin_refused", **words))
            if not args.send:
                rendered = await bulletin_render.render_bulletin(
                    session, core.deps.renderer, period=period, calendar=calendar,
                    settings=await load_digest_settings(session), out_dir=args.out)
                (args.out / "bulletin.html").write_text(rendered.text, encoding="utf-8")
                (args.out / "bulletin.txt").write_text(html_to_plain(rendered.text), encoding="utf-8")
                print(html_to_plain(rendered.text))
                say("digest", step="written", out=args.out, files=[p.name for p in rendered.files.values()])
                return 0
        from bot.services.web_links import public_base

        produced = await digests.produce(core.db, core.deps.renderer, period=period, now=core.clock.now(),
                                         files_root=settings.data_dir, web_url=public_base(settings.web_public_url))
        if produced is None:
            raise CliError("digest_sent", period=period.name)
        stats = await deliver_outbox(core)
    finally:
        await core.db.dispose()
    say("digest", step="sent", period=period.name, notices=produced.notices, stats=stats)
    return 0


async def halfmonth(settings: Settings, args: argparse.Namespace) -> int:
    """The half-monthly report's document: written into --out (dry run), or compiled and sent to the admins."""
    from bot.app import deliver_outbox
    from bot.clock import local_today
    from bot.domain import halfmonth as periods
    from bot.services.halfmonth import compile_document
    from jobs import halfmonth
    from storage.settings import load_calendar

    core = await open_core(settings)
    try:
        today = local_today(core.clock)
        async with core.db.session() as session:
            calendar = await load_calendar(session)
            try:
                half = periods.parse(args.period) if args.period else periods.latest_asked(today, calendar)
            except ValueError:
                raise CliError("bad_halfmonth_day", period=args.period) from None
            if half.start > today:
                raise CliError("halfmonth_not_started", key=half.key)
            if not args.send:
                compiled = await compile_document(session, core.deps.renderer, half=half, calendar=calendar,
                                                  out_dir=args.out, issued=today)
                print(core.deps.renderer.plain("halfmonth_compiled", half=half, compiled=compiled, dry_run=True))
                say("digest", step="halfmonth_written", path=compiled.path)
                return 0
        path = await halfmonth.produce(core.db, core.deps.renderer, half=half, now=core.clock.now(),
                                       files_root=settings.data_dir)
        if path is None:
            raise CliError("halfmonth_sent", key=half.key)
        stats = await deliver_outbox(core)
    finally:
        await core.db.dispose()
    say("digest", step="halfmonth_sent", name=path.name, stats=stats)
    return 0


async def groups(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import delete, select

    from storage import audit
    from storage.audit import Actor
    from storage.digest_queries import bulletin_groups
    from storage.group_chats import files_marks, group_of_chat
    from storage.group_waits import Notices, withdraw_for_group, withdrawn_detail
    from storage.models import BulletinGroup

    if args.groups_command == "add" and args.channel == "wecom_robot":
        _check_robot_name(settings, args.chat_id)
        if (wide := too_wide("robot_name", args.chat_id)) is not None:
            raise CliError("too_wide", wide=wide)
    elif args.groups_command == "add":
        args.chat_id = _telegram_group_id(args.chat_id)
    if args.groups_command == "add":
        if (wide := too_wide("group_name", args.name)) is not None:
            raise CliError("too_wide", wide=wide)
    core = await open_core(settings)
    actor = Actor(label="cli", channel="cli")
    withdrawn = Notices()
    try:
        async with core.db.session() as session:
            now = core.clock.now()
            if args.groups_command == "add":
                existing = await group_of_chat(session, channel=args.channel, chat_id=args.chat_id)
                if existing is not None:  # a forum registered from a topic: that group, renamed
                    existing.name = args.name
                    args.chat_id = existing.chat_id
                else:
                    session.add(BulletinGroup(channel=args.channel, chat_id=args.chat_id, name=args.name,
                                              created_at=now, created_by=actor.label))
                await audit.record(session, actor=actor, at=now, action="group.add", object_type="group",
                                   object_key=f"{args.channel}:{args.chat_id}", detail={"name": args.name})
            elif args.groups_command == "remove":
                group = await session.scalar(select(BulletinGroup).where(
                    BulletinGroup.channel == args.channel, BulletinGroup.chat_id == args.chat_id))
                if group is None:
                    raise CliError("group_missing", channel=args.channel, chat_id=args.chat_id)
                withdrawn = await withdraw_for_group(session, group=group, now=now)
                await session.execute(delete(BulletinGroup).where(BulletinGroup.id == group.id))
                await audit.record(session, actor=actor, at=now, action="group.remove", object_type="group",
                                   object_key=f"{args.channel}:{args.chat_id}",
                                   detail={"name": group.name, **withdrawn_detail(withdrawn)})
        async with core.db.session() as session:
            groups = await bulletin_groups(session)
            marks = await files_marks(session, groups)
    finally:
        await core.db.dispose()
    say("groups", groups=groups, file_marks=marks, withdrawn=withdrawn)
    return 0


def _telegram_group_id(text: str) -> str:
    """The Telegram group id `groups add` was given; anything else is refused."""
    from bot.domain.chat_ids import telegram_group_id

    chat_id = telegram_group_id(text)
    if chat_id is None:
        raise CliError("not_telegram_group", text=text)
    return chat_id


def _check_robot_name(settings: Settings, name: str) -> None:
    """A group robot is added by the name WECOM_ROBOT_KEYS gives it; refuse any other name."""
    from bot.config import RobotKeysError

    try:
        robots = settings.wecom_robots()
    except RobotKeysError as error:
        raise CliError.said(error) from error
    if name not in robots:
        raise CliError("robot_unknown", name=name, robots=list(robots))
