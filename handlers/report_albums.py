"""Albums (``bot.domain.albums``): every photo of an album joins the report the album belongs to, whichever part
carries the caption and in whatever order the parts come.

- Parts before the captioned one are held, unanswered; the captioned part then carries them (:func:`take_part`
  puts them in its message), so the report, or the guided flow, made from it has them all. If the caption does
  not come, one notice says the photos were not saved: an outbox notice due ``ALBUM_WAIT`` after the last part,
  taken back when the caption comes (the outbox's sender delivers it; nothing here waits).
- A report flow keeps the albums whose photos it holds (``albums`` in its state, :func:`with_photos`); the
  report stored from it, at once or after a button, is remembered for them (:func:`remember`), and later parts
  join it, answered once for them all (:func:`answer_once`).
- An album sent during a guided flow that takes photos (``handlers.routes.PHOTO_FLOWS``) goes to that flow part
  by part, and the flow's answers are not sent one per photo: :func:`answer_once` puts off the answer to each
  part, taking back the one before, so the album is answered once, with the answer to its last part (or by
  a button pressed before that went out: :func:`forget_answers`). During a
  flow that takes no photos the album waits for its caption as outside a flow, and if none comes it is answered
  once that the photos were not saved, the flow going on.
- WeCom has no albums: a run of pictures sent one by one during such a flow is answered once the same way
  (``answer_once(run=True)``), ``RUN_WAIT`` after the last.
- People not bound (or deactivated) are answered once per album, or per run of photos sent one by one
  (:func:`answered_before`).
- Redelivered parts are handled once: a message whose key is stored is not handled again (``handlers.router``).

The albums are remembered in the conversation table under a chat id of their own (``album:<chat>``), one row
per person and chat holding the albums of the last day, so they never stand in the way of a guided flow. An
album waiting for its caption is also stored on its own (``storage.album_waits``), so that its notice goes out
at most once, and after a restart not before a caption still queued behind the backlog
(``bot.services.album_waits``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.domain.albums import (
    LOOSE,
    Album,
    PartFate,
    answer_due,
    answered_already,
    fate_of_part,
    notice_key,
    recent,
    unexplained_due,
)
from bot.domain.messages import Incoming, Reply
from bot.domain.report_line import parse_report_line
from handlers.context import Context
from storage import album_waits, conversations, outbox
from storage import nodes as node_repo
from storage import reports as report_repo

FLOW = "album"
log = logging.getLogger(__name__)


def _record_chat(ctx: Context) -> str:
    return f"album:{ctx.msg.chat_id}"


async def _load(ctx: Context) -> dict[str, Album]:
    record = await conversations.get_conversation(ctx.session, channel=ctx.msg.channel, chat_id=_record_chat(ctx),
                                                  user_id=ctx.msg.user_id)
    if record is None or record.flow != FLOW:
        return {}
    return {key: Album.from_state(value) for key, value in (record.state.get("albums") or {}).items()}


async def _save(ctx: Context, albums: dict[str, Album]) -> None:
    albums = recent(albums, ctx.now)
    channel, chat_id, user_id = ctx.msg.channel, _record_chat(ctx), ctx.msg.user_id
    if not albums:
        await conversations.clear_conversation(ctx.session, channel=channel, chat_id=chat_id, user_id=user_id)
        return
    await conversations.save_conversation(
        ctx.session, channel=channel, chat_id=chat_id, user_id=user_id, flow=FLOW,
        state={"albums": {key: album.as_state() for key, album in albums.items()}}, now=ctx.now)


def _notice_key(ctx: Context, album: str) -> str:
    return notice_key(ctx.msg.channel, ctx.msg.chat_id, album)


async def _withdraw_notice(ctx: Context, album: str) -> bool:
    """Take back the album's notice if it has not gone out; whether it had not."""
    return await outbox.withdraw_pending(ctx.session, channel=ctx.msg.channel, chat_id=ctx.msg.chat_id,
                                         key=_notice_key(ctx, album))


async def _stored_wait(ctx: Context, album: str) -> album_waits.Wait | None:
    msg = ctx.msg
    return await album_waits.get_wait(ctx.session, channel=msg.channel, chat_id=msg.chat_id, user_id=msg.user_id,
                                      album=album)


async def _notice_unexplained(ctx: Context, key: str, album: Album, *, busy: bool) -> None:
    """(Re)schedule the one notice of a waiting album: its photos were not saved, said when the wait is over
    (`busy`: the sender is in a guided flow that takes no photos, and is told so). Once it went out it is not
    sent again: the later parts are held as the earlier ones, for a caption that may still come."""
    msg = ctx.msg
    stored = await _stored_wait(ctx, key)
    withdrawn = await _withdraw_notice(ctx, key)
    told = stored is not None and (stored.state == album_waits.TOLD
                                   or (stored.state == album_waits.WAITING and not withdrawn))
    due = unexplained_due(album)
    wait = album_waits.Wait(channel=msg.channel, chat_id=msg.chat_id, user_id=msg.user_id, album=key,
                            state=album_waits.TOLD if told else album_waits.WAITING, parts=len(album.held),
                            busy=busy, seen_at=album.seen_at, sent_at=album.sent_at, notice_due=due)
    await album_waits.save_wait(ctx.session, wait)
    if told:
        log.info("%s:%s sent one more photo of album %s, told already that it was not saved", msg.channel,
                 msg.chat_id, key)
        return
    html = ctx.deps.renderer.render("album_unexplained", count=len(album.held), busy=busy)
    await outbox.enqueue_for_chat(ctx.session, channel=msg.channel, chat_id=msg.chat_id, reply=Reply(html=html),
                                  key=_notice_key(ctx, key), now=ctx.now, due=due)


async def _caption_came(ctx: Context, key: str) -> None:
    """The album's caption came: its notice, if not gone out, is taken back, and the album waits no more."""
    await _withdraw_notice(ctx, key)
    stored = await _stored_wait(ctx, key)
    if stored is not None:
        await album_waits.save_wait(ctx.session, replace(stored, state=album_waits.JOINED))


def _is_caption(msg: Incoming, album: Album | None) -> bool:
    """Whether the part carries the album's caption: any text, but for a line that only describes its photo
    (neither a command nor a report line) once the album's report is made: that photo joins the report."""
    if not msg.text.strip():
        return False
    if album is None or album.report_id is None:
        return True
    return msg.command is not None or parse_report_line(msg.text) is not None


async def take_part(ctx: Context, *, in_flow: bool, busy: bool = False) -> bool:
    """A photo of an album, sent by a bound person in a private chat (`in_flow`: they are in a guided flow in
    the chat that takes photos; `busy`: in one that takes none). True when it was handled here: joined the
    album's report, held for the caption, or let go because the caption's answer was the album's. False when
    the message goes on to be handled as usual (the captioned part, now carrying the photos held for it; a
    part the guided flow takes, whose answer :func:`answer_once` then puts off)."""
    msg = ctx.msg
    albums = await _load(ctx)
    album = albums.get(msg.album)
    if _is_caption(msg, album):
        if album is not None and album.held:  # the captioned part carries the photos held for it
            ctx.msg = replace(msg, photos=(*album.held, *msg.photos))
            await _caption_came(ctx, msg.album)
        albums[msg.album] = replace(album or Album(seen_at=ctx.now), seen_at=ctx.now, sent_at=msg.sent_at,
                                    held=(), captioned=True)
        await _save(ctx, albums)
        return False
    fate = fate_of_part(album, in_flow=in_flow)
    if fate is PartFate.TO_FLOW:
        albums[msg.album] = replace(album or Album(seen_at=ctx.now), seen_at=ctx.now, sent_at=msg.sent_at,
                                    in_flow=True)
        await _save(ctx, albums)
        return False
    if fate is PartFate.ANSWERED:
        log.info("%s:%s sent one more photo of album %s, answered with its caption: not answered again",
                 msg.channel, msg.chat_id, msg.album)
        return True
    if fate is PartFate.JOIN_REPORT:
        assert album is not None and album.report_id is not None
        count = await report_repo.add_photos(ctx.session, report_id=album.report_id, channel=msg.channel,
                                             photos=msg.photos, now=ctx.now)
        albums[msg.album] = replace(album, seen_at=ctx.now, sent_at=msg.sent_at)
        await _save(ctx, albums)
        ctx.reply("report_album_photo", code=album.code, count=count)
        await answer_once(ctx)  # the parts after the caption are answered once, with the count after the last
        return True
    if fate is PartFate.JOIN_NODE:
        assert album is not None and album.node_id is not None
        node = await node_repo.add_photos(ctx.session, node_id=album.node_id, channel=msg.channel,
                                          photos=msg.photos, now=ctx.now)
        count = await node_repo.photo_count(ctx.session, node_id=album.node_id) if node is not None else None
        albums[msg.album] = replace(album, seen_at=ctx.now, sent_at=msg.sent_at)
        await _save(ctx, albums)
        ctx.reply("node_album_photo", name=node.name if node is not None else "", count=count)
        await answer_once(ctx)  # the late parts are answered once, with the count after the last
        return True
    held = Album(seen_at=ctx.now, sent_at=msg.sent_at, held=(*(album.held if album is not None else ()), *msg.photos))
    albums[msg.album] = held  # until the caption comes
    await _notice_unexplained(ctx, msg.album, held, busy=busy)
    await _save(ctx, albums)
    return True


async def _take_back_answer(ctx: Context, album: Album) -> None:
    """Withdraw the album's answer waiting to go out, if it has not gone out yet."""
    for key in album.answer:
        await outbox.withdraw_pending(ctx.session, channel=ctx.msg.channel, chat_id=ctx.msg.chat_id, key=key)


async def answer_once(ctx: Context, *, run: bool = False) -> None:
    """A part of an album was answered (by the guided flow that took it, or joining the album's report): the
    answer goes out ``ANSWER_WAIT`` after it (from the outbox), in place of the answer to the part before if
    that has not gone out yet. So the album is answered once, by the answer to its last part, which counts
    every photo. A `run` of pictures sent one by one (WeCom, ``bot.domain.albums.in_a_run``) is answered so
    too, ``RUN_WAIT`` after each."""
    replies = ctx.outcome.replies
    if not replies:
        return
    ctx.outcome.replies = []
    msg = ctx.msg
    name = LOOSE if run else msg.album
    albums = await _load(ctx)
    album = replace(albums.get(name) or Album(seen_at=ctx.now, in_flow=True), seen_at=ctx.now)
    await _take_back_answer(ctx, album)
    base = f"album-answer:{msg.channel}:{msg.chat_id}:{msg.key or ctx.now.isoformat()}"
    keys = tuple(f"{base}:{n}" for n in range(len(replies)))
    for key, reply in zip(keys, replies, strict=True):
        await outbox.enqueue_for_chat(ctx.session, channel=msg.channel, chat_id=msg.chat_id, reply=reply, key=key,
                                      now=ctx.now, due=answer_due(album, run=run))
    albums[name] = replace(album, answer=keys)
    await _save(ctx, albums)


async def forget_answers(ctx: Context) -> None:
    """A button was pressed (or words sent to the flow) before the answer to an album or a run went out: its
    answer (buttons included) would come after the press's own and be out of date, so it is taken back; the
    press's answer is the album's."""
    albums = await _load(ctx)
    waiting = {key: album for key, album in albums.items() if album.answer}
    if not waiting:
        return
    for key, album in waiting.items():
        await _take_back_answer(ctx, album)
        albums[key] = replace(album, answer=())
    await _save(ctx, albums)


async def answered_before(ctx: Context) -> bool:
    """A photo sent by someone the bot only tells who they are (not bound, deactivated): whether it was
    answered so already (``bot.domain.albums.answered_already``: an earlier part of its album, or of photos
    sent one by one). The first is answered as any message is, and so is a photo with words (an invite code,
    /help); the others are not answered again."""
    msg = ctx.msg
    key = msg.album or LOOSE
    albums = await _load(ctx)
    quiet = not msg.text.strip() and answered_already(albums.get(key), ctx.now, loose=not msg.album)
    if quiet:
        log.info("%s:%s sent one more photo, answered already", msg.channel, msg.chat_id)
    albums[key] = Album(seen_at=ctx.now, sent_at=msg.sent_at, captioned=True)
    await _save(ctx, albums)
    return quiet


async def remember(ctx: Context, *, report_id: int, code: str, albums: Sequence[str]) -> None:
    """The report just stored from photos of these albums: their later parts join it."""
    if not albums:
        return
    known = await _load(ctx)
    for key in albums:
        known[key] = Album(seen_at=ctx.now, captioned=True, report_id=report_id, code=code)
    await _save(ctx, known)


async def remember_node(ctx: Context, *, node_id: int, albums: Sequence[str]) -> None:
    """The node just marked done with photos of these albums: their later parts join its evidence."""
    if not albums:
        return
    known = await _load(ctx)
    for key in albums:
        known[key] = Album(seen_at=ctx.now, captioned=True, node_id=node_id)
    await _save(ctx, known)


def albums_of(state: dict[str, Any]) -> list[str]:
    """The albums whose photos a report flow's state holds."""
    albums = list(state.get("albums", []))
    legacy = state.get("album")  # a state saved before flows kept several albums
    return [*albums, legacy] if legacy and legacy not in albums else albums


def photos_of_message(ctx: Context) -> dict[str, Any]:
    """The photos a message brings to the report flow it starts, and the album they are of."""
    return {"photos": list(ctx.msg.photos), "albums": [ctx.msg.album] if ctx.msg.album and ctx.msg.photos else []}


def carried(state: dict[str, Any] | None) -> dict[str, Any]:
    """What a report flow carries from step to step whatever the step: its photos and their albums."""
    if not state:
        return {"photos": [], "albums": []}
    return {"photos": list(state.get("photos", [])), "albums": albums_of(state)}


def albums_with(ctx: Context, state: dict[str, Any]) -> list[str]:
    """The albums whose photos a flow's state holds, with this message's (whose later parts then follow it)."""
    albums = albums_of(state)
    if ctx.msg.album and ctx.msg.photos and ctx.msg.album not in albums:
        albums.append(ctx.msg.album)
    return albums


def with_photos(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    """A report flow's state with this message's photos added (and their album, whose later parts then
    follow them into the report)."""
    return {**state, "photos": [*state.get("photos", []), *ctx.msg.photos], "albums": albums_with(ctx, state)}
