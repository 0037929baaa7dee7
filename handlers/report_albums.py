"""The rest of an album: Telegram sends an album of photos as one message per photo, the caption (the report
line) on the first only. The report stored from the captioned photo is remembered for its album, and each
further photo of that album joins it, rather than being answered as a photo nobody said anything about.

The album is remembered in the conversation table under a chat id of its own (``album:<chat>``), one per
person and chat (the next album replaces it), so it never stands in the way of a guided flow in the chat.
A guided step that waits for a button (确认替换, or which reading of an amount) keeps the album's photos in its
state instead (:func:`keep_in_flow`).
"""

from __future__ import annotations

from typing import Any

from handlers.context import Context
from storage import conversations
from storage import reports as report_repo

FLOW = "album"


def _marker_chat(ctx: Context) -> str:
    return f"album:{ctx.msg.chat_id}"


def _follows(ctx: Context, album: object) -> bool:
    """Whether the message is an uncaptioned photo of the album `album`."""
    msg = ctx.msg
    return bool(msg.album) and msg.album == album and bool(msg.photos) and not msg.text.strip()


async def remember(ctx: Context, *, report_id: int, code: str) -> None:
    """The report just stored from a photo of an album: its album's other photos join it."""
    if not ctx.msg.album:
        return
    await conversations.save_conversation(
        ctx.session, channel=ctx.msg.channel, chat_id=_marker_chat(ctx), user_id=ctx.msg.user_id, flow=FLOW,
        state={"album": ctx.msg.album, "report_id": report_id, "code": code}, now=ctx.now)


async def join_report(ctx: Context) -> bool:
    """An uncaptioned photo of an album whose captioned photo made a report: added to that report (False when
    the message is no such photo)."""
    if not ctx.msg.album or not ctx.msg.photos or ctx.msg.text.strip():
        return False
    marker = await conversations.get_conversation(ctx.session, channel=ctx.msg.channel, chat_id=_marker_chat(ctx),
                                                  user_id=ctx.msg.user_id)
    if marker is None or marker.flow != FLOW or not _follows(ctx, marker.state.get("album")):
        return False
    count = await report_repo.add_photos(ctx.session, report_id=int(marker.state["report_id"]),
                                         channel=ctx.msg.channel, photos=ctx.msg.photos, now=ctx.now)
    ctx.reply("report_album_photo", code=marker.state.get("code", ""), count=count)
    return True


def keep_in_flow(ctx: Context, state: dict[str, Any]) -> dict[str, Any] | None:
    """The flow's state with this photo added when it is one more photo of the album the flow's report came
    with (the report waits for a button); None otherwise."""
    if not _follows(ctx, state.get("album")):
        return None
    return {**state, "photos": [*state.get("photos", []), *ctx.msg.photos]}
