"""Admins' operations in chat: /groups (bulletin groups), /broadcast (a notice to many people through the
outbox; in handlers.broadcast), /audit (who changed what) and /outbox (notices that did not get through, with
retry buttons).

Every change is audited in the same transaction; every refusal says why, in Chinese.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from bot.clock import to_local
from bot.domain import labels
from bot.domain.chat_ids import chat_of, telegram_group_id
from bot.domain.chat_rights import IN, NO_FILES
from bot.domain.digits import as_id
from bot.domain.messages import Button
from bot.domain.paging import Page, page_number, page_of
from bot.domain.problem_numbers import parse_problem_number, problem_number
from bot.render import html_to_plain, label
from bot.services.channel_notices import faults_told
from handlers import broadcast
from handlers.commands import NO_WORDS, Command, CommandRegistry
from handlers.context import Context
from handlers.paging import page_buttons
from storage import audit, outbox, outbox_views
from storage import people as people_repo
from storage import problems as problem_repo
from storage import projects as project_repo
from storage.digest_queries import bulletin_groups
from storage.group_chats import group_of_chat, mark_back, mark_files_back, mark_no_files, move_chat
from storage.models import AuditEntry, BulletinGroup, ChatAccount, OutboxMessage, Person, PersonRole, Unit
from storage.text_widths import too_wide

ADMIN = frozenset({"admin"})
OUTBOX_PREFIX = "obx"
INVITE_BUTTON = "adp:inv"  # /invite's button (handlers.admin_people): adp:inv:<role>:<person id>
ROLE_ORDER = ("liaison", "unit", "lead", "top", "admin")  # whose invite a held person's button makes
AUDIT_LIMIT = 20  # lines on one page of /audit
AUDIT_HISTORY = 200  # the latest lines /audit pages through
AUDIT_TEXT_CHARS = 60  # of what was written at a step of a problem's history, on one line of /audit
OUTBOX_SHOWN = 20
RETRY_ALL_LIMIT = 1000
ROBOT_CHANNEL = "wecom_robot"
TELEGRAM_CHANNEL = "telegram"
CHANNEL_LABELS = labels.CHANNELS


def register(registry: CommandRegistry) -> None:
    """/groups, /broadcast, /audit and /outbox, for admins."""
    registry.add(Command.worded("groups", groups_command, roles=ADMIN, in_group=True))
    registry.add(Command.worded("broadcast", broadcast.broadcast_command, roles=ADMIN))
    registry.add(Command.worded("audit", audit_command, roles=ADMIN))
    registry.add(Command.worded("outbox", outbox_command, roles=ADMIN, words=NO_WORDS))


# --- /groups ---------------------------------------------------------------------------------------

def _in_group(ctx: Context) -> bool:
    """A message from a group chat."""
    return ctx.msg.in_group


async def _groups_shown(ctx: Context) -> list[BulletinGroup]:
    """The bulletin groups a reply lists: all of them in a private chat, only this one in a group (the
    others' names and ids are the 项目办's business, not the group's)."""
    groups = await bulletin_groups(ctx.session)
    if not _in_group(ctx):
        return groups
    return [g for g in groups if _this_group(ctx, g)]


def _this_group(ctx: Context, group: BulletinGroup) -> bool:
    """Whether a bulletin group is the chat the message came from (in a forum, whichever topic it was added
    from and the message was written in)."""
    return group.channel == ctx.msg.channel and chat_of(group.chat_id) == chat_of(ctx.msg.chat_id)


async def groups_command(ctx: Context, args: str) -> None:
    """`/groups` lists; `/groups add [名称]` in a group registers it; `/groups remove [chat_id]`."""
    action, _, rest = args.strip().partition(" ")
    rest = rest.strip()
    if action in {"add", "添加"}:
        await _add_group(ctx, rest)
    elif action in {"remove", "rm", "移除", "删除"}:
        await _remove_group(ctx, rest)
    elif action:
        ctx.refuse_words(action)
    else:
        ctx.reply("admin_ops_groups", groups=await _groups_shown(ctx), changed=None,
                  channels=CHANNEL_LABELS, in_group=_in_group(ctx))


def _robot_names(ctx: Context) -> list[str] | None:
    """The WeCom group robots configured, by name (None when the configuration cannot be read)."""
    try:
        return list(ctx.deps.settings.wecom_robots())
    except ValueError:
        return None


async def _add_group(ctx: Context, name: str) -> None:
    """In a group: register that chat. In a private chat: register a configured WeCom group robot by name,
    or a Telegram group by its id (`/groups add -1001234567890 领导小组`, as the CLI does); anything else is
    refused, saying it is neither (and which robot names there are)."""
    if not _in_group(ctx):
        robots = _robot_names(ctx)
        chat_token, _, group_name = name.partition(" ")
        chat_id = telegram_group_id(chat_token)
        if robots and name in robots:
            await _register(ctx, channel=ROBOT_CHANNEL, chat_id=name, name=name, in_group=False)
        elif chat_id is not None:
            if (wide := too_wide("group_name", group_name.strip())) is not None:
                ctx.reply("text_too_wide", wide=wide)
                return
            await _register(ctx, channel=TELEGRAM_CHANNEL, chat_id=chat_id,
                            name=group_name.strip() or _unnamed(ctx, chat_id), in_group=False)
        elif robots or robots is None:
            ctx.reply("admin_ops_refused", reason="group_robot_unknown", name=name, robots=robots or [])
        else:
            ctx.reply("admin_ops_refused", reason="group_add_private", name=name)
        return
    if (wide := too_wide("group_name", name)) is not None:
        ctx.reply("text_too_wide", wide=wide)
        return
    chat_id = ctx.msg.chat_id
    elsewhere = [g for g in await bulletin_groups(ctx.session) if _this_group(ctx, g) and g.chat_id != chat_id]
    if elsewhere:  # added from another topic of this forum (or its General): its bulletins come here now
        name = name or elsewhere[0].name
        await move_chat(ctx.session, channel=ctx.msg.channel, old=elsewhere[0].chat_id, new=chat_id, at=ctx.now,
                        actor=ctx.actor)
    await _register(ctx, channel=ctx.msg.channel, chat_id=chat_id, name=name or _unnamed(ctx, chat_id),
                    in_group=True, moved=bool(elsewhere))


def _unnamed(ctx: Context, chat_id: str) -> str:
    """The name of a group added without one, as stored: 通报群 and its chat id."""
    return ctx.deps.renderer.phrase("admin_ops_words", "unnamed_group", chat_id)


async def _register(ctx: Context, *, channel: str, chat_id: str, name: str, in_group: bool,
                    moved: bool = False) -> None:
    existing = await group_of_chat(ctx.session, channel=channel, chat_id=chat_id)
    muted = existing is not None and existing.muted
    standing = files = None  # of a group marked out, its id typed in a private chat (or muted, anywhere): is the
    # bot back? Of one marked unable to take files: may it send them now?
    asks = existing is not None and existing.left_at is not None and (muted or not in_group)
    if existing is not None and (asks or existing.files_refused_at is not None):
        asked = await _bot_standing(ctx, existing)
        if asks:
            standing = "unknown" if asked is None else "back" if asked in (IN, NO_FILES) else "out"
        files = await _files_standing(ctx, existing, asked)
    if existing is not None:  # a group id typed for a forum registered from a topic: that group, renamed
        existing.name = name
        chat_id = existing.chat_id
        # Typed in the group, the bot is in it (a muted bot reads the group too: the chat app tells if it may send)
        if (in_group and not muted) or standing == "back":
            await mark_back(ctx.session, group=existing, at=ctx.now, actor=ctx.actor)
    else:
        ctx.session.add(BulletinGroup(channel=channel, chat_id=chat_id, name=name, created_at=ctx.now,
                                      created_by=ctx.actor.label))
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="group.add", object_type="group",
                       object_key=f"{channel}:{chat_id}",
                       detail={"name": name, "renamed": existing is not None})
    await ctx.session.flush()
    ctx.reply("admin_ops_groups", groups=await _groups_shown(ctx), channels=CHANNEL_LABELS,
              changed="moved" if moved else "renamed" if existing is not None else "added", name=name,
              in_group=in_group, robot=channel == ROBOT_CHANNEL, standing=standing, muted=muted, files=files)


async def _files_standing(ctx: Context, group: BulletinGroup, asked: str | None) -> str | None:
    """What the bot's standing (``asked``) says of its right to send files to ``group``, which is marked (or no
    longer) to match: "back" (it may again), "still" (it may not), "unknown" (marked, and the channel cannot tell),
    None (nothing to say: it is out or muted there, or was not marked and may)."""
    if asked == IN and group.files_refused_at is not None:
        await mark_files_back(ctx.session, group=group, at=ctx.now, actor=ctx.actor)
        return "back"
    if asked == NO_FILES:
        await mark_no_files(ctx.session, group=group, at=ctx.now, actor=ctx.actor)
        return "still"
    return "unknown" if asked is None and group.files_refused_at is not None else None


async def _bot_standing(ctx: Context, group: BulletinGroup) -> str | None:
    """Where the bot stands in a bulletin group marked out (or muted, or unable to take files), as its channel
    finds out (``bot.domain.chat_rights``); None when the channel cannot tell, or its chat app did not answer."""
    ask = ctx.deps.group_standing.get(group.channel)
    return await ask(group.chat_id) if ask is not None else None


async def _remove_group(ctx: Context, token: str) -> None:
    groups = await bulletin_groups(ctx.session)
    if token:
        found = [g for g in groups if g.chat_id == token or f"{g.channel}:{g.chat_id}" == token]
    elif _in_group(ctx):
        found = [g for g in groups if _this_group(ctx, g)]
    else:
        ctx.reply("admin_ops_refused", reason="group_remove_which")
        return
    if not found:
        ctx.reply("admin_ops_refused", reason="group_not_found", token=token or ctx.msg.chat_id)
        return
    if len(found) > 1:
        ctx.reply("admin_ops_refused", reason="group_ambiguous", groups=found)
        return
    group = found[0]
    await ctx.session.execute(delete(BulletinGroup).where(BulletinGroup.id == group.id))
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="group.remove", object_type="group",
                       object_key=f"{group.channel}:{group.chat_id}", detail={"name": group.name})
    shown = [g for g in await _groups_shown(ctx) if g.id != group.id]
    ctx.reply("admin_ops_groups", groups=shown, channels=CHANNEL_LABELS, changed="removed", name=group.name,
              in_group=_in_group(ctx))


# --- /audit ----------------------------------------------------------------------------------------

async def audit_command(ctx: Context, args: str) -> None:
    """`/audit` the latest changes, 20 a page; `/audit ZD2026-001`, `/audit 郝芳`, `/audit W0007` or any object
    key. Words after the object are refused, named, unless the whole text is a key with a record."""
    token = args.strip()
    keys: list[str] = []
    subject = ""
    events: list[dict[str, Any]] = []
    if not token:
        entries = await audit.entries_for(ctx.session, limit=AUDIT_HISTORY)
    else:
        keys, subject, events = await _audit_subject(ctx, token)
        entries = []
        for key in keys:
            entries += await audit.entries_for(ctx.session, object_key=key, limit=AUDIT_HISTORY)
        # "/audit ZD2026-001 多余" names one object and a word too many; a key of several words (an imported
        # file's name) is found whole, as typed
        extra = token.split(maxsplit=1)[1:]
        if extra and not entries and not events:
            ctx.refuse_words(extra[0])
            return
    rows = [_entry_row(e) for e in entries] + events
    rows.sort(key=lambda r: (r["at"], r["order"]), reverse=True)
    page = page_of(rows[:AUDIT_HISTORY], ctx.page, AUDIT_LIMIT)
    rows = page.items
    names = await _names_in(ctx, rows)
    for row in rows:
        person_id = as_id(str(row["object_key"])) if row.get("object_type") == "person" else None
        if person_id is not None:
            row["object"] = names["people"].get(person_id, row["object"])
    ctx.reply("admin_ops_audit", rows=rows, token=token, subject=subject, names=names, page=page,
              text_chars=AUDIT_TEXT_CHARS, buttons=page_buttons("audit", page, token))


async def _audit_subject(ctx: Context, token: str) -> tuple[list[str], str, list[dict[str, Any]]]:
    """The audit keys a token stands for, how to name it, and (for a problem) its history as rows."""
    number = parse_problem_number(token, prefix_required=True)
    if number is not None:
        key = problem_number(number)
        problem = await problem_repo.get_problem(ctx.session, problem_id=number)
        if problem is None:
            return [key], key, []
        history = await problem_repo.history(ctx.session, problem_id=problem.id)
        # worded by the template as the problem card words them (_problem_event.j2)
        rows = [{"at": e.at, "order": -1, "actor": e.actor.name if e.actor else None, "channel": "—",
                 "code": None, "detail": e.detail or {}, "kind": e.kind, "object": key,
                 "object_type": "problem", "object_key": key, "summary": e.text or ""} for e in history]
        code = problem.project.code if problem.project is not None else ""
        return [key], ctx.deps.renderer.phrase("admin_ops_words", "problem_subject", key, code), rows
    project = await project_repo.get_project_by_code(ctx.session, code=token)
    if project is not None:
        return [project.code], f"{project.code} {project.name}", []
    found = await people_repo.find_people_by_name(ctx.session, name=token)
    if found:
        return [str(p.id) for p in found], token, []
    return [token], token, []


def _entry_row(entry: AuditEntry) -> dict[str, Any]:
    """One line of /audit; what changed is worded by the template from `code` and `detail`."""
    # a group, a broadcast, a retry or a setting is named by the action and its detail
    shown = "" if entry.object_type in {"broadcast", "outbox", "group", "setting"} else entry.object_key
    return {"at": entry.at, "order": entry.id, "actor": entry.actor,
            "channel": labels.label(labels.CHANNELS, entry.channel) if entry.channel else "—",
            "action": labels.label(labels.ACTIONS, entry.action), "code": entry.action,
            "detail": entry.detail or {}, "object": shown, "object_type": entry.object_type,
            "object_key": entry.object_key, "summary": ""}


async def _names_in(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, dict[int, str]]:
    """The names of the people and units that the rows name by id (object keys, import details)."""
    people: set[int] = set()
    units: set[int] = set()
    for row in rows:
        person_id = as_id(str(row["object_key"])) if row.get("object_type") == "person" else None
        if person_id is not None:
            people.add(person_id)
        detail = row.get("detail") or {}
        for part in (detail.get("changed"), detail.get("before")):
            if not isinstance(part, dict):
                continue
            people |= {v for k, v in part.items() if k in labels.PERSON_ID_FIELDS and isinstance(v, int)}
            units |= {v for k, v in part.items() if k in labels.UNIT_ID_FIELDS and isinstance(v, int)}
    unit_names = {}
    if units:
        found = await ctx.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(sorted(units))))
        unit_names = {uid: name for uid, name in found.all()}
    return {"people": await _person_names(ctx, people), "units": unit_names}


async def _person_names(ctx: Context, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await ctx.session.execute(select(Person.id, Person.name).where(Person.id.in_(sorted(ids))))
    return {pid: name for pid, name in rows.all()}


# --- /outbox ---------------------------------------------------------------------------------------

async def outbox_command(ctx: Context, _args: str) -> None:
    """Notices that did not get through, newest first, with a 重试 button each (and 全部重试); the backlog."""
    await _show_outbox(ctx, done=None)


async def _show_outbox(ctx: Context, *, done: dict[str, Any] | None) -> None:
    """One page of the notices that did not get through (``ctx.page``; the first after a retry)."""
    total = await outbox_views.count_failed(ctx.session)
    number, pages = page_number(total, ctx.page if done is None else 1, OUTBOX_SHOWN)
    rows = await outbox_views.failed_messages(ctx.session, limit=OUTBOX_SHOWN, offset=(number - 1) * OUTBOX_SHOWN)
    page: Page[Any] = Page(items=list(rows), number=number, pages=pages, total=total)
    backlog = await outbox_views.backlog(ctx.session, now=ctx.now)
    names = await _person_names(ctx, {r.person_id for r in rows if r.person_id is not None})
    shown = [_outbox_row(r, names) for r in rows]
    buttons = [[Button(label("outbox_retry", r.id), f"{OUTBOX_PREFIX}:r:{r.id}")] for r in rows]
    if rows:
        buttons.append([Button(label("outbox_retry_all"), f"{OUTBOX_PREFIX}:all")])
    buttons += page_buttons("outbox", page)
    age = None if backlog.oldest_created_at is None else _waited(ctx.now - to_local(backlog.oldest_created_at))
    held, held_total, invite_buttons = await _held_shown(ctx)
    faults = await faults_told(ctx.session, now=ctx.now)  # channels down as a whole: their notices wait
    ctx.reply("admin_ops_outbox", rows=shown, total=total, backlog=backlog, age=age, done=done, page=page,
              held=held, held_total=held_total, faults=faults, buttons=invite_buttons + buttons)


async def _held_shown(ctx: Context) -> tuple[list[dict[str, Any]], int, list[list[Button]]]:
    """One line per person notices are held for (no chat account yet), and a button each that makes the
    person an invite (the /invite of their first role) to forward to them."""
    held, total = await outbox_views.held_people(ctx.session, limit=OUTBOX_SHOWN)
    if not held:
        return [], 0, []
    ids = sorted(h.person_id for h in held)
    found = {p.id: p for p in (await ctx.session.scalars(select(Person).where(Person.id.in_(ids)))).unique()}
    roles: dict[int, set[str]] = {}
    for person_id, role in (await ctx.session.execute(
            select(PersonRole.person_id, PersonRole.role).where(PersonRole.person_id.in_(ids)))).all():
        roles.setdefault(person_id, set()).add(role)
    lines: list[dict[str, Any]] = []
    buttons: list[list[Button]] = []
    for h in held:
        person = found.get(h.person_id)
        active = person is not None and person.active
        lines.append({"name": person.name if person is not None else None, "person_id": h.person_id,
                      "count": h.count, "active": active, "age": _waited(ctx.now - to_local(h.oldest_created_at))})
        role = next((r for r in ROLE_ORDER if r in roles.get(h.person_id, ())), None)
        if person is not None and active and role is not None:
            buttons.append([Button(label("invite", person.name), f"{INVITE_BUTTON}:{role}:{h.person_id}")])
    return lines, total, buttons


def _outbox_row(row: OutboxMessage, names: dict[int, str]) -> dict[str, Any]:
    """A notice that did not get through, for the template: its recipient (a person, by name when known, or a
    group), why (a reason the template words, or the channel's error as it said it)."""
    channel = CHANNEL_LABELS.get(row.channel or "", row.channel or "")
    plain = " ".join(html_to_plain(str((row.payload or {}).get("html", ""))).split())
    preview = plain if len(plain) <= 30 else plain[:30] + "…"
    error = row.last_error or ""
    reason = ("in_doubt" if row.state == outbox.IN_DOUBT else "no_account" if error == outbox.NO_ACCOUNT
              else "blocked" if error == outbox.ALL_BLOCKED else None)
    return {"id": row.id, "person_id": row.person_id, "person_name": names.get(row.person_id or 0),
            "chat_id": row.chat_id, "channel": channel, "state": row.state, "created_at": row.created_at,
            "preview": preview, "reason": reason, "error": error if len(error) <= 80 else error[:80] + "…"}


def _waited(delta: timedelta) -> int:
    """Whole minutes (the template words them: 30 分钟, 1 小时 0 分钟, 3 天)."""
    return max(0, int(delta.total_seconds() // 60))


async def outbox_button(ctx: Context, data: str) -> None:
    """obx:r:<id> retries one notice, obx:all every one that did not get through."""
    if "admin" not in ctx.roles:
        ctx.reply("admin_ops_refused", reason="not_admin")
        return
    kind, _, value = data.partition(":")
    if kind == "r" and as_id(value) is not None:
        rows = [await outbox_views.get_message(ctx.session, message_id=as_id(value))]
        if rows[0] is None or rows[0].state not in outbox.UNDELIVERED_STATES:
            ctx.reply("admin_ops_refused", reason="retry_gone", id=value)
            return
    elif kind == "all":
        rows = list(await outbox_views.failed_messages(ctx.session, limit=RETRY_ALL_LIMIT))
    else:
        ctx.reply("button_expired")
        return
    retried, stuck = [], []
    for row in rows:
        assert row is not None
        if await _readdress(ctx, row) and await outbox_views.retry_message(ctx.session, message_id=row.id,
                                                                           now=ctx.now):
            retried.append(row.id)
        else:
            stuck.append(row.id)
    if retried:
        await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="outbox.retry",
                           object_type="outbox", object_key="outbox", detail={"ids": retried, "skipped": stuck})
    await _show_outbox(ctx, done={"retried": len(retried), "stuck": len(stuck)})


async def _readdress(ctx: Context, row: OutboxMessage) -> bool:
    """A notice to a person that had no usable chat goes to the person's first usable account, if they have
    one by now (they bound one, or unblocked the bot by binding again). False if there is still none."""
    if row.channel is not None and row.chat_id is not None:
        return True
    if row.person_id is None:
        return False
    account = await ctx.session.scalar(
        select(ChatAccount).where(ChatAccount.person_id == row.person_id, ChatAccount.blocked_at.is_(None))
        .order_by(ChatAccount.id).limit(1))
    if account is None:
        return False
    row.channel, row.chat_id = account.channel, account.chat_id
    await ctx.session.flush()
    return True


BUTTONS: dict[str, Callable[[Context, str], Awaitable[None]]] = {OUTBOX_PREFIX: outbox_button,
                                                                  broadcast.PREFIX: broadcast.confirm_button}
