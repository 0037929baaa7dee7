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
- reported: the album's report is stored (at once, or after the buttons it asked for): later parts join it.

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


@dataclass(frozen=True)
class Album:
    """What the bot knows of one album: the photos held for its caption, whether the captioned part came,
    the report made from it, and when a part of it was last seen."""

    seen_at: datetime
    held: tuple[str, ...] = ()
    captioned: bool = False
    report_id: int | None = None
    code: str = ""  # the project of the album's report

    def as_state(self) -> dict[str, Any]:
        """The album as JSON-ready values (``from_state`` reads them back)."""
        return {"seen_at": self.seen_at.isoformat(), "held": list(self.held), "captioned": self.captioned,
                "report_id": self.report_id, "code": self.code}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Album:
        report_id = state.get("report_id")
        return cls(seen_at=datetime.fromisoformat(state["seen_at"]), held=tuple(state.get("held", ())),
                   captioned=bool(state.get("captioned")), report_id=int(report_id) if report_id else None,
                   code=str(state.get("code", "")))


class PartFate(Enum):
    """What becomes of a part of an album that carries no caption."""

    JOIN_REPORT = "join"  # the album's report is stored: the photo is added to it
    HOLD = "hold"  # the caption has not come: held for it
    TO_FLOW = "flow"  # the guided flow in the chat takes it (the one the caption started, or one under way)
    ANSWERED = "answered"  # the caption came and was answered, with no report and no flow left: nothing more


def fate_of_part(album: Album | None, *, in_flow: bool) -> PartFate:
    """The fate of an uncaptioned part of `album` (None: the first part of it seen) when the sender is (or
    is not) in a guided flow in the chat."""
    if album is not None and album.report_id is not None:
        return PartFate.JOIN_REPORT
    if album is not None and not album.captioned:
        return PartFate.HOLD
    if in_flow:
        return PartFate.TO_FLOW
    return PartFate.ANSWERED if album is not None else PartFate.HOLD


def unexplained_due(album: Album) -> datetime:
    """When the sender of a waiting album is told its photos were not saved: ``ALBUM_WAIT`` after its last
    part (each part seen puts it off)."""
    return album.seen_at + ALBUM_WAIT


def recent(albums: Mapping[str, Album], now: datetime) -> dict[str, Album]:
    """The albums still remembered at `now` (a part seen within ``ALBUM_MEMORY``)."""
    return {key: album for key, album in albums.items() if now - album.seen_at <= ALBUM_MEMORY}
