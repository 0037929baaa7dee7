"""Albums: Telegram sends an album of photos (a media group) as one message per photo. The caption (what the
photos are: a report line, ``/report``…) is on one of them, and Telegram promises neither which one nor the
order the parts arrive in. What the bot remembers of each album, and what becomes of each part.

An album a person sends in a chat is, to the bot:

- waiting: parts came without the caption. Their photos are held until the captioned part comes, which then
  carries them (a report made from it has them all). If it has not come ``ALBUM_WAIT`` after the last part
  seen, the sender is told once that the photos were not saved (:func:`unexplained_due`);
- captioned: the captioned part was handled. Later parts follow it into the flow it started (a report
  waiting for a button keeps them); with no flow left (the report was refused, cancelled…) they are not
  answered again: the caption's answer was the album's;
- reported: the album's report is stored (at once, or after the buttons it asked for): later parts join it;
- node done: the node flow that took its first parts was finished (完成 pressed before the last parts came, as
  uploads of large photos take seconds each): later parts join the node's evidence;
- in a flow: it came while a guided flow that takes photos was under way (``/report``, ``/node``, ``/issue``),
  and its parts went to that flow. The flow's answers to them are not sent one by one: the album is answered
  once, ``ANSWER_WAIT`` after its last part, with the flow's answer to that part (which counts every photo).

WeCom has no albums: a member's pictures come as one message each. A run of them sent during a guided flow that
takes photos (each within ``RUN_WAIT`` of the one before) is answered once, as an album is: the flow's answer to
the last, ``RUN_WAIT`` after it (:func:`in_a_run`).

People not bound (or deactivated) are answered once per album, and once for photos sent one by one within
``ALBUM_WAIT`` of each other (WeCom has no albums: a member's pictures come as one message each)
(:func:`answered_already`).

The wait for the caption counts from the parts' own times as much as from when the bot handled them: a bot
behind a backlog (the last part was sent well before the bot got to it) waits that much longer, since the
captioned part, sent with it, may still be that far back in the queue (:func:`unexplained_due`).

An album waiting for its caption is also stored on its own (``storage.album_waits``): after a restart its
notice is put off again (:func:`resumed_due`), since the caption may still be queued behind the backlog the
bot now works through, and it goes out at most once: a part coming after it went out is held, not told again.

An album is forgotten ``ALBUM_MEMORY`` after its last part; parts of one album come within seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

# How long after an album's last part the bot stops waiting for its captioned part and says the photos were
# not saved. Telegram delivers the parts of an album within a second; the margin covers a bot busy with a
# backlog (a caption handled after the answer went out still gets its photos, see the module docstring).
ALBUM_WAIT = timedelta(seconds=15)
ALBUM_MEMORY = timedelta(days=1)
# How long after the last part of an album a guided flow took the flow's answer goes out (a later part puts it
# off, and its answer replaces the earlier one). Parts come within a second; the outbox looks every second.
ANSWER_WAIT = timedelta(seconds=2)
# How long after an image of a run (WeCom: no albums) the flow's answer goes out; the next image of the run puts
# it off. A WeCom client uploads the pictures picked together one after the other, each a second or two apart.
RUN_WAIT = timedelta(seconds=4)
# The channels whose pictures come one message each, with nothing saying which belong together.
WITHOUT_ALBUMS = frozenset({"wecom"})
# The channels whose pictures carry no words (a WeCom image has no caption): a report's photos come through /report.
WITHOUT_CAPTIONS = frozenset({"wecom"})
# The most the wait is put off for a bot behind (a message's own time can be wrong: a device's clock, a test's).
BEHIND_MAX = timedelta(minutes=10)


@dataclass(frozen=True)
class Album:
    """What the bot knows of one album: the photos held for its caption, whether the captioned part came,
    the report made from it, and when a part of it was last seen."""

    seen_at: datetime
    held: tuple[str, ...] = ()
    captioned: bool = False
    report_id: int | None = None
    code: str = ""  # the project of the album's report
    sent_at: datetime | None = None  # the own time of the last part seen (when the user sent it), if known
    in_flow: bool = False  # its parts went to the guided flow under way
    answer: tuple[str, ...] = ()  # the keys of the flow's answer waiting to go out (``ANSWER_WAIT``)
    node_id: int | None = None  # the node marked done with its photos (the node flow that took them finished)

    @property
    def behind(self) -> timedelta:
        """How far behind the bot was when it handled the last part: from when it was sent to when it was
        handled (nothing when its own time is unknown or after it; at most ``BEHIND_MAX``)."""
        if self.sent_at is None:
            return timedelta(0)
        return min(max(self.seen_at - self.sent_at, timedelta(0)), BEHIND_MAX)

    def as_state(self) -> dict[str, Any]:
        """The album as JSON-ready values (``from_state`` reads them back)."""
        return {"seen_at": self.seen_at.isoformat(), "held": list(self.held), "captioned": self.captioned,
                "report_id": self.report_id, "code": self.code,
                "sent_at": self.sent_at.isoformat() if self.sent_at is not None else None,
                "in_flow": self.in_flow, "answer": list(self.answer), "node_id": self.node_id}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Album:
        report_id, sent_at, node_id = state.get("report_id"), state.get("sent_at"), state.get("node_id")
        return cls(seen_at=datetime.fromisoformat(state["seen_at"]), held=tuple(state.get("held", ())),
                   captioned=bool(state.get("captioned")), report_id=int(report_id) if report_id else None,
                   code=str(state.get("code", "")),
                   sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
                   in_flow=bool(state.get("in_flow")), answer=tuple(state.get("answer", ())),
                   node_id=int(node_id) if node_id else None)


class PartFate(Enum):
    """What becomes of a part of an album that carries no caption."""

    JOIN_REPORT = "join"  # the album's report is stored: the photo is added to it
    JOIN_NODE = "node"  # the node its first parts went to was marked done: the photo is added to its evidence
    HOLD = "hold"  # the caption has not come: held for it
    TO_FLOW = "flow"  # the guided flow in the chat takes it (the one the caption started, or one under way that
    # takes photos)
    ANSWERED = "answered"  # the caption came and was answered, with no report and no flow left: nothing more


def fate_of_part(album: Album | None, *, in_flow: bool) -> PartFate:
    """The fate of an uncaptioned part of `album` (None: the first part of it seen) when the sender is (or
    is not) in a guided flow in the chat that takes photos (a flow that takes none is no flow here: the
    album waits for its caption, and is answered once if it does not come)."""
    if album is not None and album.report_id is not None:
        return PartFate.JOIN_REPORT
    if album is not None and album.node_id is not None:
        return PartFate.JOIN_NODE
    if album is not None and not album.captioned and not album.in_flow:
        return PartFate.HOLD
    if in_flow:
        return PartFate.TO_FLOW
    return PartFate.ANSWERED if album is not None and album.captioned else PartFate.HOLD


def unexplained_due(album: Album) -> datetime:
    """When the sender of a waiting album is told its photos were not saved: ``ALBUM_WAIT`` after its last
    part was handled (each part seen puts it off), and as long again as the bot was behind when it handled
    it: the captioned part, sent with it, may still be queued that far back."""
    return album.seen_at + ALBUM_WAIT + album.behind


def resumed_due(due: datetime, *, seen_at: datetime, sent_at: datetime | None, now: datetime) -> datetime:
    """When the notice of an album still waiting for its caption goes out once the bot handles messages again
    at `now` (after a restart): the caption, sent with the last part (at `sent_at`, else when it was seen),
    may be queued in the backlog since then, so the wait is ``ALBUM_WAIT`` from now and as long again as the
    bot is now behind that part (at most ``BEHIND_MAX``); never sooner than it was due."""
    behind = min(max(now - (sent_at or seen_at), timedelta(0)), BEHIND_MAX)
    return max(due, now + ALBUM_WAIT + behind)


def notice_key(channel: str, chat_id: str, album: str) -> str:
    """The outbox key of an album's one notice that its photos were not saved."""
    return f"album:{channel}:{chat_id}:{album}"


def answer_due(album: Album, *, run: bool = False) -> datetime:
    """When the flow's answer to an album it took goes out: ``ANSWER_WAIT`` after the last part (``RUN_WAIT``
    for a `run` of pictures sent one by one). (No more for a bot behind: Telegram sends the parts of an album
    one after the other, so they are handled together.)"""
    return album.seen_at + (RUN_WAIT if run else ANSWER_WAIT)


def in_a_run(channel: str, *, album: str, photos: int, text: str) -> bool:
    """Whether a message is a picture of a run: pictures without words, of no album, from a channel that has no
    albums (their answers during a guided flow are put off as an album's, ``RUN_WAIT`` after the last)."""
    return channel in WITHOUT_ALBUMS and not album and photos > 0 and not text.strip()


# Under what key the photos someone sends one by one (no album) are remembered, for :func:`answered_already`,
# and a run of them answered once (:func:`in_a_run`).
LOOSE = "photos"


def answered_already(album: Album | None, now: datetime, *, loose: bool) -> bool:
    """Whether a photo from someone the bot only tells who they are (not bound, deactivated) was answered
    already: a part of `album` (remembered once its first part was answered), or, `loose` (a photo of no
    album), one of photos sent one by one, each within ``ALBUM_WAIT`` of the one before."""
    if album is None:
        return False
    return not loose or now - album.seen_at <= ALBUM_WAIT


def recent(albums: Mapping[str, Album], now: datetime) -> dict[str, Album]:
    """The albums still remembered at `now` (a part seen within ``ALBUM_MEMORY``)."""
    return {key: album for key, album in albums.items() if now - album.seen_at <= ALBUM_MEMORY}
