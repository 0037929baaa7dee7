"""/groups, for admins: the chats bulletins go to (Telegram groups and WeCom group robots), listed, added
and removed. In a group chat the command speaks of that group only.

Every change is audited in the same transaction; every refusal says why, in Chinese.
"""

from __future__ import annotations

from sqlalchemy import delete

from bot.domain import labels
from bot.domain.chat_ids import chat_of, telegram_group_id
from bot.domain.chat_rights import SENDING, refused_files
from bot.domain.text_widths import too_wide
from handlers.context import Context
from storage import audit
from storage.digest_queries import bulletin_groups
from storage.group_chats import files_marks, group_of_chat, mark_back, mark_files, marked_files, move_chat
from storage.group_waits import withdraw_for_group, withdrawn_detail
from storage.models import BulletinGroup

ROBOT_CHANNEL = "wecom_robot"
TELEGRAM_CHANNEL = "telegram"
CHANNEL_LABELS = labels.CHANNELS


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
        groups = await _groups_shown(ctx)
        ctx.reply("admin_ops_groups", groups=groups, changed=None, channels=CHANNEL_LABELS, in_group=_in_group(ctx),
                  file_marks=await files_marks(ctx.session, groups))


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
            if (wide := too_wide("robot_name", name)) is not None:  # a name the settings allow, too long to keep
                ctx.reply("text_too_wide", wide=wide)
                return
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
    standing = None  # of a group marked out, its id typed in a private chat (or muted, anywhere): is the bot back?
    files: dict[str, object] = {}  # of one marked unable to take some files: may it send them now?
    released = None  # what waited for a group marked out or muted, now that the bot may send there
    asks = existing is not None and existing.left_at is not None and (muted or not in_group)
    if existing is not None and (asks or existing.files_refused_at is not None):
        asked = await _bot_standing(ctx, existing)
        if asks:
            standing = "unknown" if asked is None else "back" if asked in SENDING else "out"
        files = await _files_standing(ctx, existing, asked)
    if existing is not None:  # a group id typed for a forum registered from a topic: that group, renamed
        existing.name = name
        chat_id = existing.chat_id
        # Typed in the group, the bot is in it (a muted bot reads the group too: the chat app tells if it may send)
        if (in_group and not muted) or standing == "back":
            released = await mark_back(ctx.session, group=existing, at=ctx.now, actor=ctx.actor)
    else:
        ctx.session.add(BulletinGroup(channel=channel, chat_id=chat_id, name=name, created_at=ctx.now,
                                      created_by=ctx.actor.label))
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="group.add", object_type="group",
                       object_key=f"{channel}:{chat_id}",
                       detail={"name": name, "renamed": existing is not None})
    await ctx.session.flush()
    groups = await _groups_shown(ctx)
    ctx.reply("admin_ops_groups", groups=groups, channels=CHANNEL_LABELS,
              changed="moved" if moved else "renamed" if existing is not None else "added", name=name,
              in_group=in_group, robot=channel == ROBOT_CHANNEL, standing=standing, muted=muted, released=released,
              file_marks=await files_marks(ctx.session, groups), **files)


async def _files_standing(ctx: Context, group: BulletinGroup, asked: str | None) -> dict[str, object]:
    """What the bot's standing (``asked``) says of its right to send photos and documents to ``group``, which is
    marked (or no longer) to match: ``files`` "back" (it may send all again), "still" (marked, and some are still
    refused), "found" (not marked, and some are refused), "unknown" (marked, and the channel cannot tell), or nothing
    to say (it is out or muted there, or was not marked and may send all); ``files_now`` and ``files_before``: the
    kinds refused now and before."""
    before = await marked_files(ctx.session, group)
    if asked is None:
        return {"files": "unknown", "files_before": before} if before else {}
    if asked not in SENDING:
        return {}
    now = refused_files(asked)
    await mark_files(ctx.session, group=group, refused=now, at=ctx.now, actor=ctx.actor)
    said = "still" if now and before else "found" if now else "back" if before else None
    return {"files": said, "files_now": now, "files_before": before} if said else {}


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
    withdrawn = await withdraw_for_group(ctx.session, group=group, now=ctx.now)
    await ctx.session.execute(delete(BulletinGroup).where(BulletinGroup.id == group.id))
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="group.remove", object_type="group",
                       object_key=f"{group.channel}:{group.chat_id}",
                       detail={"name": group.name, **withdrawn_detail(withdrawn)})
    shown = [g for g in await _groups_shown(ctx) if g.id != group.id]
    ctx.reply("admin_ops_groups", groups=shown, channels=CHANNEL_LABELS, changed="removed", name=group.name,
              in_group=_in_group(ctx), file_marks=await files_marks(ctx.session, shown), withdrawn=withdrawn)

